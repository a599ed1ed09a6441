/*
 * hcs_bridge: one channel endpoint (the SSH agent channel, or a data channel). A named pipe
 * that only the current user can open; each client gets its own AF_HYPERV stream to the
 * guest's vsock port, relayed both ways.
 * Windows only. Node/Electron cannot open AF_HYPERV sockets (BACKENDS.md pitfall 1), so main
 * hands this pipe to ssh2 as its stream.
 *
 * Address (BACKENDS.md 2.4; WSL hvsocket.cpp, go-winio hvsock.go): VmId = the compute
 * system's RuntimeId, ServiceId = HV_GUID_VSOCK_TEMPLATE with Data1 = port.
 */
#ifndef HCS_BRIDGE_H
#define HCS_BRIDGE_H

#include <winsock2.h>
#include <windows.h>

#define HCS_BRIDGE_MAX_SESSIONS 8

typedef struct hcs_bridge_session {
    HANDLE pipe;
    SOCKET sock;
    HANDLE thread;
} hcs_bridge_session;

typedef struct hcs_bridge {
    wchar_t *pipe_name;
    wchar_t *sddl;       /* user-only DACL, reused for every pipe instance */
    GUID vm_id;
    unsigned port;
    HANDLE listening;    /* the pipe instance waiting for the next client */
    HANDLE stop;         /* manual-reset event */
    HANDLE thread;       /* accept loop */
    CRITICAL_SECTION lock;
    hcs_bridge_session sessions[HCS_BRIDGE_MAX_SESSIONS];
    int wsa_started;
} hcs_bridge;

/* Parses "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" into a GUID. Returns 0 or -1. */
int hcs_parse_guid(const char *text, GUID *out);

/* Creates the first pipe instance at `pipe_path` (must not exist yet) with a DACL granting
 * only `user_sid`, and starts accepting. Returns 0, or -1 with *failed_call and *err set;
 * nothing is left behind then. ERROR_ACCESS_DENIED/ERROR_PIPE_BUSY mean the name is taken. */
int hcs_bridge_start(hcs_bridge *b, const char *pipe_path, const char *user_sid,
                     const GUID *vm_id, unsigned port, const char **failed_call, DWORD *err);

/* Closes the pipe and every session, and joins the threads. Idempotent. */
void hcs_bridge_stop(hcs_bridge *b);

#endif
