/*
 * hcs_console: the server end of the named pipe HCS connects COM1 (guest ttyS0) to, copied
 * to the VM's console log. Windows only. As WSL does (Dmesg.cpp), the pipe server exists
 * before the compute system is created; the VM worker connects to it as a client.
 */
#ifndef HCS_CONSOLE_H
#define HCS_CONSOLE_H

#include <windows.h>

typedef struct hcs_console {
    HANDLE pipe;   /* overlapped, duplex (only read) */
    HANDLE log;    /* console log, opened for appending */
    HANDLE stop;   /* manual-reset event: set to end the copy thread */
    HANDLE thread;
    unsigned long long bytes; /* copied so far (read after stop) */
    volatile LONG connected;  /* the VM worker opened the pipe */
} hcs_console;

/* Creates the pipe `pipe_name` (\\.\pipe\...) readable by SYSTEM, the user and the VM worker
 * accounts, opens `log_path` for appending, and starts the copy thread. Returns 0, or -1 with
 * *failed_call naming the Win32 call and *err its error; nothing is left behind then. */
int hcs_console_start(hcs_console *c, const char *pipe_name, const char *log_path,
                      const char *user_sid, const char **failed_call, DWORD *err);

/* Stops the copy thread and closes everything. Idempotent. Call it after the compute system
 * is closed: a connected pipe then drains to its end (up to 1 s) so the last output is kept. */
void hcs_console_stop(hcs_console *c);

#endif
