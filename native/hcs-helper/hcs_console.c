/* hcs_console: COM1 named pipe -> console log file (see hcs_console.h). */
#include "hcs_console.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hcs_win.h"

/* Waits for an overlapped operation or the stop event. Returns 1 when the operation
 * completed (with *n bytes), 0 when it failed or stop was requested (the I/O is cancelled). */
static int wait_io(HANDLE h, OVERLAPPED *ov, HANDLE stop, DWORD *n) {
    HANDLE both[2] = {ov->hEvent, stop};
    DWORD w = WaitForMultipleObjects(2, both, FALSE, INFINITE);
    if (w != WAIT_OBJECT_0) {
        CancelIoEx(h, ov);
        GetOverlappedResult(h, ov, n, TRUE); /* the buffer must outlive the cancelled I/O */
        return 0;
    }
    return GetOverlappedResult(h, ov, n, FALSE) ? 1 : 0;
}

static DWORD WINAPI copy_thread(LPVOID arg) {
    hcs_console *c = arg;
    OVERLAPPED ov;
    memset(&ov, 0, sizeof ov);
    ov.hEvent = CreateEventW(NULL, TRUE, FALSE, NULL);
    if (!ov.hEvent) return 1;
    DWORD n = 0;
    BOOL ok = ConnectNamedPipe(c->pipe, &ov);
    DWORD e = ok ? ERROR_PIPE_CONNECTED : GetLastError();
    /* ERROR_NO_DATA: the writer connected and already closed; what it wrote is still buffered. */
    int connected = (e == ERROR_PIPE_CONNECTED || e == ERROR_NO_DATA) ||
                    (e == ERROR_IO_PENDING && wait_io(c->pipe, &ov, c->stop, &n));
    if (connected) InterlockedExchange(&c->connected, 1);
    char buf[4096];
    while (connected) {
        ResetEvent(ov.hEvent);
        if (!ReadFile(c->pipe, buf, sizeof buf, NULL, &ov) && GetLastError() != ERROR_IO_PENDING) break;
        if (!wait_io(c->pipe, &ov, c->stop, &n) || n == 0) break;
        DWORD written = 0;
        /* The log is a plain file opened with FILE_APPEND_DATA: each write lands at the end. */
        if (!WriteFile(c->log, buf, n, &written, NULL)) break;
        c->bytes += written;
    }
    CloseHandle(ov.hEvent);
    return 0;
}

int hcs_console_start(hcs_console *c, const char *pipe_name, const char *log_path,
                      const char *user_sid, const char **failed_call, DWORD *err) {
    memset(c, 0, sizeof *c);
    c->pipe = c->log = INVALID_HANDLE_VALUE;
    wchar_t *wpipe = hcs_wide(pipe_name), *wlog = hcs_wide(log_path);
    char sddl[400];
    SECURITY_ATTRIBUTES sa;
    memset(&sa, 0, sizeof sa);
    /* SYSTEM, the user, and "NT VIRTUAL MACHINE\Virtual Machines" (S-1-5-83-0): the VM worker
     * process runs as a per-VM virtual account in that group and opens the pipe. */
    snprintf(sddl, sizeof sddl, "D:P(A;;GA;;;SY)(A;;GA;;;%s)(A;;GA;;;S-1-5-83-0)", user_sid);
    if (!wpipe || !wlog) { *failed_call = "MultiByteToWideChar"; *err = ERROR_NO_UNICODE_TRANSLATION; goto fail; }
    if (hcs_sa_from_sddl(&sa, sddl) != 0) {
        *failed_call = "ConvertStringSecurityDescriptorToSecurityDescriptor";
        *err = GetLastError();
        goto fail;
    }
    c->stop = CreateEventW(NULL, TRUE, FALSE, NULL);
    if (!c->stop) { *failed_call = "CreateEvent"; *err = GetLastError(); goto fail; }
    c->log = CreateFileW(wlog, FILE_APPEND_DATA, FILE_SHARE_READ | FILE_SHARE_WRITE, NULL,
                         OPEN_ALWAYS, FILE_ATTRIBUTE_NORMAL, NULL);
    if (c->log == INVALID_HANDLE_VALUE) { *failed_call = "CreateFile(consoleLog)"; *err = GetLastError(); goto fail; }
    /* Duplex: the VM worker opens a serial port read-write (WSL Dmesg.cpp does the same). */
    c->pipe = CreateNamedPipeW(wpipe, PIPE_ACCESS_DUPLEX | FILE_FLAG_OVERLAPPED | FILE_FLAG_FIRST_PIPE_INSTANCE,
                               PIPE_TYPE_BYTE | PIPE_READMODE_BYTE | PIPE_WAIT | PIPE_REJECT_REMOTE_CLIENTS,
                               1, 4096, 65536, 0, &sa);
    if (c->pipe == INVALID_HANDLE_VALUE) { *failed_call = "CreateNamedPipe(console)"; *err = GetLastError(); goto fail; }
    c->thread = CreateThread(NULL, 0, copy_thread, c, 0, NULL);
    if (!c->thread) { *failed_call = "CreateThread"; *err = GetLastError(); goto fail; }
    hcs_free_sa(&sa);
    free(wpipe);
    free(wlog);
    return 0;
fail:
    hcs_free_sa(&sa);
    free(wpipe);
    free(wlog);
    hcs_console_stop(c);
    return -1;
}

void hcs_console_stop(hcs_console *c) {
    /* A connected writer that went away ends the copy by itself (ERROR_BROKEN_PIPE) once the
     * buffered output is read; only an idle or stuck pipe is cut short. */
    if (c->thread && InterlockedCompareExchange(&c->connected, 0, 0))
        WaitForSingleObject(c->thread, 1000);
    if (c->stop) SetEvent(c->stop);
    if (c->thread) {
        WaitForSingleObject(c->thread, INFINITE);
        CloseHandle(c->thread);
    }
    if (c->pipe && c->pipe != INVALID_HANDLE_VALUE) CloseHandle(c->pipe);
    if (c->log && c->log != INVALID_HANDLE_VALUE) CloseHandle(c->log);
    if (c->stop) CloseHandle(c->stop);
    c->thread = c->stop = NULL;
    c->pipe = c->log = INVALID_HANDLE_VALUE;
}
