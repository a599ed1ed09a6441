/* hcs_bridge: user-only named pipe <-> AF_HYPERV stream to the guest's vsock port. */
#include "hcs_bridge.h"

#include <hvsocket.h>
#include <sddl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hcs_doc.h"
#include "hcs_win.h"

/* mingw-w64 10's winsock2.h stops at AF_MAX 33; 34 is AF_HYPERV (go-winio hvsock.go). */
#ifndef AF_HYPERV
#define AF_HYPERV 34
#endif

/* How long a new client waits for the guest to accept on its port (the guest's SSH server
 * may still be starting right after boot). */
#define DIAL_DEADLINE_MS 15000
#define DIAL_ATTEMPT_TIMEOUT_MS 2000

int hcs_parse_guid(const char *text, GUID *out) {
    hcs_guid g;
    if (hcs_parse_guid_text(text, &g) != 0) return -1;
    out->Data1 = g.data1;
    out->Data2 = g.data2;
    out->Data3 = g.data3;
    memcpy(out->Data4, g.data4, sizeof g.data4);
    return 0;
}

/* One pipe instance; the first one must be new (FILE_FLAG_FIRST_PIPE_INSTANCE). */
static HANDLE new_instance(hcs_bridge *b, int first) {
    SECURITY_ATTRIBUTES sa;
    memset(&sa, 0, sizeof sa);
    PSECURITY_DESCRIPTOR sd = NULL;
    if (!ConvertStringSecurityDescriptorToSecurityDescriptorW(b->sddl, SDDL_REVISION_1, &sd, NULL))
        return INVALID_HANDLE_VALUE;
    sa.nLength = sizeof sa;
    sa.lpSecurityDescriptor = sd;
    DWORD open = PIPE_ACCESS_DUPLEX | FILE_FLAG_OVERLAPPED | (first ? FILE_FLAG_FIRST_PIPE_INSTANCE : 0);
    HANDLE h = CreateNamedPipeW(b->pipe_name, open,
                                PIPE_TYPE_BYTE | PIPE_READMODE_BYTE | PIPE_WAIT | PIPE_REJECT_REMOTE_CLIENTS,
                                PIPE_UNLIMITED_INSTANCES, 65536, 65536, 0, &sa);
    DWORD e = GetLastError();
    LocalFree(sd);
    SetLastError(e);
    return h;
}

#ifndef HCS_BRIDGE_TEST_TCP
/* One connection attempt to the guest's vsock port over AF_HYPERV. */
static SOCKET connect_guest(const hcs_bridge *b, int *wsa_error) {
    SOCKET s = WSASocketW(AF_HYPERV, SOCK_STREAM, HV_PROTOCOL_RAW, NULL, 0, WSA_FLAG_OVERLAPPED);
    if (s == INVALID_SOCKET) { *wsa_error = WSAGetLastError(); return INVALID_SOCKET; }
    ULONG tmo = DIAL_ATTEMPT_TIMEOUT_MS;
    setsockopt(s, HV_PROTOCOL_RAW, HVSOCKET_CONNECT_TIMEOUT, (const char *)&tmo, sizeof tmo);
    SOCKADDR_HV a;
    memset(&a, 0, sizeof a);
    a.Family = AF_HYPERV;
    a.VmId = b->vm_id;
    a.ServiceId = HV_GUID_VSOCK_TEMPLATE;
    a.ServiceId.Data1 = b->port;
    if (connect(s, (struct sockaddr *)&a, sizeof a) == 0) return s;
    *wsa_error = WSAGetLastError();
    closesocket(s);
    return INVALID_SOCKET;
}
#else
/* TEST BUILD ONLY (tests/bridge_test.c under Wine, which has no AF_HYPERV): the "guest" is a
 * TCP listener on 127.0.0.1:port, so the pipe <-> socket relay itself can be exercised. */
static SOCKET connect_guest(const hcs_bridge *b, int *wsa_error) {
    SOCKET s = WSASocketW(AF_INET, SOCK_STREAM, IPPROTO_TCP, NULL, 0, WSA_FLAG_OVERLAPPED);
    if (s == INVALID_SOCKET) { *wsa_error = WSAGetLastError(); return INVALID_SOCKET; }
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((u_short)b->port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(s, (struct sockaddr *)&a, sizeof a) == 0) return s;
    *wsa_error = WSAGetLastError();
    closesocket(s);
    return INVALID_SOCKET;
}
#endif

/* Connects to the guest's port, retrying until the deadline or stop. */
static SOCKET dial_guest(hcs_bridge *b) {
    unsigned long long deadline = hcs_now_ms() + DIAL_DEADLINE_MS;
    for (;;) {
        int e = 0;
        SOCKET s = connect_guest(b, &e);
        if (s != INVALID_SOCKET) return s;
        if (e == WSAEAFNOSUPPORT || e == WSAEPROTONOSUPPORT || hcs_now_ms() >= deadline) {
            fprintf(stderr, "hcs-helper: channel to guest port %u: connect failed (WSA error %d)\n", b->port, e);
            return INVALID_SOCKET;
        }
        if (WaitForSingleObject(b->stop, 200) == WAIT_OBJECT_0) return INVALID_SOCKET;
    }
}

typedef struct relay {
    hcs_bridge *b;
    hcs_bridge_session *s;
    HANDLE done; /* manual-reset: either direction ended */
} relay;

/* guest -> client: recv on the socket, overlapped WriteFile to the pipe. */
static DWORD WINAPI relay_down(LPVOID arg) {
    relay *r = arg;
    OVERLAPPED ov;
    memset(&ov, 0, sizeof ov);
    ov.hEvent = CreateEventW(NULL, TRUE, FALSE, NULL);
    char buf[65536];
    while (ov.hEvent) {
        int n = recv(r->s->sock, buf, sizeof buf, 0);
        if (n <= 0) break;
        ResetEvent(ov.hEvent);
        DWORD w = 0;
        if (!WriteFile(r->s->pipe, buf, (DWORD)n, NULL, &ov) && GetLastError() != ERROR_IO_PENDING) break;
        HANDLE waits[3] = {ov.hEvent, r->done, r->b->stop};
        if (WaitForMultipleObjects(3, waits, FALSE, INFINITE) != WAIT_OBJECT_0) {
            CancelIoEx(r->s->pipe, &ov);
            GetOverlappedResult(r->s->pipe, &ov, &w, TRUE);
            break;
        }
        if (!GetOverlappedResult(r->s->pipe, &ov, &w, FALSE) || w != (DWORD)n) break;
    }
    SetEvent(r->done);
    CancelIoEx(r->s->pipe, NULL); /* wakes relay_up's pending ReadFile */
    if (ov.hEvent) CloseHandle(ov.hEvent);
    return 0;
}

/* One client: dial the guest, then relay client -> guest here and guest -> client in a
 * second thread. Either side ending ends the session. */
static DWORD WINAPI session_thread(LPVOID arg) {
    relay *r = arg;
    hcs_bridge_session *s = r->s;
    SOCKET sock = dial_guest(r->b);
    HANDLE down = NULL;
    OVERLAPPED ov;
    memset(&ov, 0, sizeof ov);
    if (sock == INVALID_SOCKET) goto end;
    EnterCriticalSection(&r->b->lock);
    s->sock = sock;
    LeaveCriticalSection(&r->b->lock);
    ov.hEvent = CreateEventW(NULL, TRUE, FALSE, NULL);
    if (!ov.hEvent) goto end;
    down = CreateThread(NULL, 0, relay_down, r, 0, NULL);
    if (!down) goto end;
    char buf[65536];
    for (;;) {
        DWORD n = 0;
        ResetEvent(ov.hEvent);
        if (!ReadFile(s->pipe, buf, sizeof buf, NULL, &ov) && GetLastError() != ERROR_IO_PENDING) break;
        HANDLE waits[3] = {ov.hEvent, r->done, r->b->stop};
        if (WaitForMultipleObjects(3, waits, FALSE, INFINITE) != WAIT_OBJECT_0) {
            CancelIoEx(s->pipe, &ov);
            GetOverlappedResult(s->pipe, &ov, &n, TRUE);
            break;
        }
        if (!GetOverlappedResult(s->pipe, &ov, &n, FALSE) || n == 0) break;
        for (DWORD off = 0; off < n;) {
            int k = send(sock, buf + off, (int)(n - off), 0);
            if (k <= 0) goto end;
            off += (DWORD)k;
        }
    }
end:
    SetEvent(r->done);
    if (down) {
        /* Let the guest see EOF, then make sure a blocked recv returns. */
        shutdown(sock, SD_SEND);
        if (WaitForSingleObject(down, 2000) != WAIT_OBJECT_0) {
            CancelIoEx((HANDLE)sock, NULL);
            shutdown(sock, SD_BOTH);
            WaitForSingleObject(down, INFINITE);
        }
        CloseHandle(down);
    }
    if (ov.hEvent) CloseHandle(ov.hEvent);
    EnterCriticalSection(&r->b->lock);
    if (sock != INVALID_SOCKET) closesocket(sock);
    s->sock = INVALID_SOCKET;
    /* Close without DisconnectNamedPipe, which would discard what the client has not read yet. */
    CloseHandle(s->pipe);
    s->pipe = NULL;
    LeaveCriticalSection(&r->b->lock);
    CloseHandle(r->done);
    free(r);
    return 0;
}

/* Hands a connected pipe instance to a free session slot (or refuses the client). */
static void start_session(hcs_bridge *b, HANDLE client) {
    EnterCriticalSection(&b->lock);
    hcs_bridge_session *s = NULL;
    for (int i = 0; i < HCS_BRIDGE_MAX_SESSIONS && !s; i++) {
        hcs_bridge_session *c = &b->sessions[i];
        if (c->thread && !c->pipe) { /* finished: reap it */
            WaitForSingleObject(c->thread, INFINITE);
            CloseHandle(c->thread);
            c->thread = NULL;
        }
        if (!c->thread) s = c;
    }
    relay *r = s ? calloc(1, sizeof *r) : NULL;
    if (r) r->done = CreateEventW(NULL, TRUE, FALSE, NULL);
    if (!r || !r->done) {
        if (r) free(r);
        fprintf(stderr, "hcs-helper: channel to guest port %u: refusing a client (too many sessions)\n", b->port);
        DisconnectNamedPipe(client);
        CloseHandle(client);
        LeaveCriticalSection(&b->lock);
        return;
    }
    r->b = b;
    r->s = s;
    s->pipe = client;
    s->sock = INVALID_SOCKET;
    s->thread = CreateThread(NULL, 0, session_thread, r, 0, NULL);
    if (!s->thread) {
        s->pipe = NULL;
        CloseHandle(client);
        CloseHandle(r->done);
        free(r);
    }
    LeaveCriticalSection(&b->lock);
}

static DWORD WINAPI accept_thread(LPVOID arg) {
    hcs_bridge *b = arg;
    OVERLAPPED ov;
    memset(&ov, 0, sizeof ov);
    ov.hEvent = CreateEventW(NULL, TRUE, FALSE, NULL);
    while (ov.hEvent && b->listening != INVALID_HANDLE_VALUE) {
        ResetEvent(ov.hEvent);
        DWORD n = 0;
        BOOL ok = ConnectNamedPipe(b->listening, &ov);
        DWORD e = ok ? ERROR_PIPE_CONNECTED : GetLastError();
        if (e == ERROR_IO_PENDING) {
            HANDLE waits[2] = {ov.hEvent, b->stop};
            if (WaitForMultipleObjects(2, waits, FALSE, INFINITE) != WAIT_OBJECT_0) {
                CancelIoEx(b->listening, &ov);
                GetOverlappedResult(b->listening, &ov, &n, TRUE);
                break;
            }
            e = GetOverlappedResult(b->listening, &ov, &n, FALSE) ? ERROR_PIPE_CONNECTED : GetLastError();
        }
        if (e != ERROR_PIPE_CONNECTED) { /* client vanished before we saw it: reuse the instance */
            DisconnectNamedPipe(b->listening);
            continue;
        }
        HANDLE client = b->listening;
        /* Keep a listening instance so the pipe name exists for the VM's whole life. */
        b->listening = new_instance(b, 0);
        if (b->listening == INVALID_HANDLE_VALUE)
            fprintf(stderr, "hcs-helper: channel to guest port %u: CreateNamedPipe failed (%lu)\n", b->port, GetLastError());
        start_session(b, client);
    }
    if (ov.hEvent) CloseHandle(ov.hEvent);
    return 0;
}

int hcs_bridge_start(hcs_bridge *b, const char *pipe_path, const char *user_sid,
                     const GUID *vm_id, unsigned port, const char **failed_call, DWORD *err) {
    memset(b, 0, sizeof *b);
    b->listening = INVALID_HANDLE_VALUE;
    InitializeCriticalSection(&b->lock);
    b->vm_id = *vm_id;
    b->port = port;
    char sddl[300];
    /* Only the user, and a Medium integrity label so a non-elevated app can open a pipe
     * created by an elevated helper. */
    snprintf(sddl, sizeof sddl, "D:P(A;;GA;;;%s)S:(ML;;NW;;;ME)", user_sid);
    b->pipe_name = hcs_wide(pipe_path);
    b->sddl = hcs_wide(sddl);
    WSADATA wsa;
    if (!b->pipe_name || !b->sddl) { *failed_call = "MultiByteToWideChar"; *err = ERROR_NO_UNICODE_TRANSLATION; goto fail; }
    if (WSAStartup(MAKEWORD(2, 2), &wsa) != 0) { *failed_call = "WSAStartup"; *err = (DWORD)WSAGetLastError(); goto fail; }
    b->wsa_started = 1;
    b->stop = CreateEventW(NULL, TRUE, FALSE, NULL);
    if (!b->stop) { *failed_call = "CreateEvent"; *err = GetLastError(); goto fail; }
    b->listening = new_instance(b, 1);
    if (b->listening == INVALID_HANDLE_VALUE) { *failed_call = "CreateNamedPipe(channelPath)"; *err = GetLastError(); goto fail; }
    b->thread = CreateThread(NULL, 0, accept_thread, b, 0, NULL);
    if (!b->thread) { *failed_call = "CreateThread"; *err = GetLastError(); goto fail; }
    return 0;
fail:
    hcs_bridge_stop(b);
    return -1;
}

void hcs_bridge_stop(hcs_bridge *b) {
    if (!b->pipe_name && !b->sddl && !b->stop) return; /* never started or already stopped */
    if (b->stop) SetEvent(b->stop);
    if (b->thread) { WaitForSingleObject(b->thread, INFINITE); CloseHandle(b->thread); }
    for (int i = 0; i < HCS_BRIDGE_MAX_SESSIONS; i++) {
        hcs_bridge_session *s = &b->sessions[i];
        if (!s->thread) continue;
        EnterCriticalSection(&b->lock);
        if (s->pipe) CancelIoEx(s->pipe, NULL);
        if (s->sock != INVALID_SOCKET && s->sock != 0) CancelIoEx((HANDLE)s->sock, NULL);
        LeaveCriticalSection(&b->lock);
        WaitForSingleObject(s->thread, INFINITE);
        CloseHandle(s->thread);
        s->thread = NULL;
    }
    if (b->listening != INVALID_HANDLE_VALUE && b->listening) CloseHandle(b->listening);
    if (b->stop) CloseHandle(b->stop);
    if (b->wsa_started) WSACleanup();
    DeleteCriticalSection(&b->lock);
    free(b->pipe_name);
    free(b->sddl);
    memset(b, 0, sizeof *b);
    b->listening = INVALID_HANDLE_VALUE;
}
