/*
 * A stand-in computecore.dll for TESTS UNDER WINE ONLY. It is installed into a separate Wine
 * prefix (never shipped, never on a real Windows) so the helper's own Windows code - the
 * protocol state machine, start/stop/EOF threads, HCS callbacks, named pipes - runs end to end
 * under Wine, which has no Host Compute Service. It proves nothing about HCS itself; the
 * README checklist does that on real Windows.
 *
 * It behaves like a VM whose guest cooperates: start succeeds, shutdown ends the VM after
 * 100 ms (exit "GracefulExit"), terminate ends it at once ("ForcedExit"). Every call is
 * appended to the file named by FAKE_HCS_LOG (one line: call name, then its JSON document).
 * FAKE_HCS_START_HRESULT=0x8037011B makes HcsStartComputeSystem fail with that HRESULT;
 * FAKE_HCS_START_DELAY_MS=N makes it take N ms unless HcsCancelOperation comes first.
 * FAKE_HCS_PROBE_PIPES="\\.\pipe\a;\\.\pipe\b": when asked to shut down or terminate (the VM is
 * still running then), it logs whether each of those named pipes exists ("PipeProbe present <name>"),
 * so a test sees the helper's channel endpoints exist for the VM's life.
 * On start it writes FAKE_CONSOLE_LINE to the COM1 pipe named in the document, as a guest
 * kernel would, so the helper's console-log copy runs too.
 */
#include <windows.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#define EXPORT __declspec(dllexport)

typedef struct fake_op {
    HANDLE done;
    volatile LONG completed;
    HRESULT hr;
    wchar_t *doc;
    HANDLE later;      /* a delayed completion in flight (FAKE_HCS_START_DELAY_MS) */
    DWORD delay_ms;
} fake_op;

typedef void(CALLBACK *event_cb)(void *event, void *ctx);

/* Mirrors HCS_EVENT: {Type, EventData, Operation}. */
typedef struct fake_event {
    DWORD type;
    const wchar_t *data;
    void *op;
} fake_event;

typedef struct fake_system {
    CRITICAL_SECTION lock;
    wchar_t com1[256]; /* ComPorts.0.NamedPipe from the create document */
    event_cb cb;
    void *ctx;
    int exited;
    HANDLE exit_thread;
    const wchar_t *exit_data;
    DWORD exit_delay_ms;
} fake_system;

static void log_call(const char *call, const wchar_t *doc) {
    const char *path = getenv("FAKE_HCS_LOG");
    if (!path) return;
    FILE *f = fopen(path, "ab");
    if (!f) return;
    fprintf(f, "%s %ls\n", call, doc ? doc : L"");
    fclose(f);
}

/* Completes an operation once; later completions (e.g. after a cancel) are ignored. */
static void complete(fake_op *op, HRESULT hr, const wchar_t *doc) {
    if (!op || InterlockedCompareExchange(&op->completed, 1, 0) != 0) return;
    op->hr = hr;
    op->doc = doc ? _wcsdup(doc) : NULL;
    SetEvent(op->done);
}

EXPORT void *WINAPI HcsCreateOperation(const void *context, void *callback) {
    (void)context;
    (void)callback;
    fake_op *op = calloc(1, sizeof *op);
    if (op) op->done = CreateEventW(NULL, TRUE, FALSE, NULL);
    return op;
}

EXPORT void WINAPI HcsCloseOperation(void *operation) {
    fake_op *op = operation;
    if (!op) return;
    if (op->later) {
        WaitForSingleObject(op->later, INFINITE); /* it ends as soon as the op is done */
        CloseHandle(op->later);
    }
    CloseHandle(op->done);
    free(op->doc);
    free(op);
}

EXPORT HRESULT WINAPI HcsWaitForOperationResult(void *operation, DWORD timeout_ms, PWSTR *result) {
    fake_op *op = operation;
    if (result) *result = NULL;
    if (!op) return E_INVALIDARG;
    if (WaitForSingleObject(op->done, timeout_ms) != WAIT_OBJECT_0) return HRESULT_FROM_WIN32(ERROR_TIMEOUT);
    if (result && op->doc) {
        size_t n = (wcslen(op->doc) + 1) * sizeof(wchar_t);
        *result = LocalAlloc(LMEM_FIXED, n); /* the caller frees result documents with LocalFree */
        if (*result) memcpy(*result, op->doc, n);
    }
    return op->hr;
}

EXPORT HRESULT WINAPI HcsCancelOperation(void *operation) {
    fake_op *op = operation;
    log_call("HcsCancelOperation", NULL);
    if (op && WaitForSingleObject(op->done, 0) != WAIT_OBJECT_0) complete(op, E_ABORT, NULL);
    return S_OK;
}

EXPORT HRESULT WINAPI HcsEnumerateComputeSystems(const wchar_t *query, void *operation) {
    log_call("HcsEnumerateComputeSystems", query);
    complete(operation, S_OK, L"[]");
    return S_OK;
}

EXPORT HRESULT WINAPI HcsCreateComputeSystem(const wchar_t *id, const wchar_t *configuration, void *operation,
                                             const void *security, void **system) {
    (void)security;
    log_call("HcsCreateComputeSystem", configuration);
    (void)id;
    fake_system *s = calloc(1, sizeof *s);
    if (!s) return E_OUTOFMEMORY;
    InitializeCriticalSection(&s->lock);
    /* "NamedPipe":"\\\\.\\pipe\\..." -> \\.\pipe\... (only backslashes are escaped in it) */
    const wchar_t *p = configuration ? wcsstr(configuration, L"\"NamedPipe\":\"") : NULL;
    if (p) {
        p += wcslen(L"\"NamedPipe\":\"");
        size_t n = 0;
        for (; *p && *p != L'"' && n + 1 < 256; p++) {
            if (*p == L'\\' && p[1]) p++;
            s->com1[n++] = *p;
        }
        s->com1[n] = 0;
    }
    *system = s;
    complete(operation, S_OK, NULL);
    return S_OK;
}

EXPORT HRESULT WINAPI HcsSetComputeSystemCallback(void *system, DWORD options, const void *context, event_cb cb) {
    (void)options;
    fake_system *s = system;
    s->cb = cb;
    s->ctx = (void *)context;
    return S_OK;
}

/* Completes a slow start unless it was cancelled first. */
static DWORD WINAPI start_later(LPVOID arg) {
    fake_op *op = arg;
    if (WaitForSingleObject(op->done, op->delay_ms) != WAIT_OBJECT_0) complete(op, S_OK, NULL);
    return 0;
}

EXPORT HRESULT WINAPI HcsStartComputeSystem(void *system, void *operation, const wchar_t *options) {
    log_call("HcsStartComputeSystem", options);
    const char *delay = getenv("FAKE_HCS_START_DELAY_MS");
    if (delay && *delay && operation) {
        fake_op *op = operation;
        op->delay_ms = (DWORD)strtoul(delay, NULL, 10);
        op->later = CreateThread(NULL, 0, start_later, op, 0, NULL);
        return S_OK;
    }
    const char *fail = getenv("FAKE_HCS_START_HRESULT");
    if (fail && *fail) {
        HRESULT hr = (HRESULT)strtoul(fail, NULL, 16);
        wchar_t doc[160];
        swprintf(doc, 160, L"{\"Error\":%ld,\"ErrorMessage\":\"The fake refused to start.\"}", (long)hr);
        complete(operation, hr, doc);
        return S_OK;
    }
    fake_system *s = system;
    if (s->com1[0]) {
        /* A serial port is two-way: open it read-write, as a VM worker would (WSL makes it duplex). */
        HANDLE com = CreateFileW(s->com1, GENERIC_READ | GENERIC_WRITE, 0, NULL, OPEN_EXISTING, 0, NULL);
        if (com != INVALID_HANDLE_VALUE) {
            static const char line[] = "FAKE_CONSOLE_LINE: Linux version 0.0 (stand-in)\n";
            DWORD n;
            WriteFile(com, line, sizeof line - 1, &n, NULL);
            CloseHandle(com);
        } else {
            log_call("COM1-connect-failed", s->com1);
        }
    }
    complete(operation, S_OK, NULL);
    return S_OK;
}

EXPORT HRESULT WINAPI HcsGetComputeSystemProperties(void *system, void *operation, const wchar_t *query) {
    (void)system;
    (void)query;
    complete(operation, S_OK, L"{\"Id\":\"fake\",\"State\":\"Running\",\"RuntimeId\":\"{8a2b1c3d-0000-4e5f-9a8b-0123456789ab}\"}");
    return S_OK;
}

EXPORT HRESULT WINAPI HcsModifyComputeSystem(void *system, void *operation, const wchar_t *configuration, HANDLE identity) {
    (void)system;
    log_call(identity ? "HcsModifyComputeSystem+identity" : "HcsModifyComputeSystem", configuration);
    complete(operation, S_OK, NULL);
    return S_OK;
}

EXPORT HRESULT WINAPI HcsGrantVmAccess(const wchar_t *vm_id, const wchar_t *path) {
    log_call("HcsGrantVmAccess", path);
    (void)vm_id;
    return S_OK;
}

EXPORT HRESULT WINAPI HcsRevokeVmAccess(const wchar_t *vm_id, const wchar_t *path) {
    log_call("HcsRevokeVmAccess", path);
    (void)vm_id;
    return S_OK;
}

/* Logs, for each pipe named in FAKE_HCS_PROBE_PIPES, whether it exists right now. */
static void probe_pipes(void) {
    const char *list = getenv("FAKE_HCS_PROBE_PIPES");
    char name[512];
    while (list && *list) {
        const char *end = strchr(list, ';');
        size_t n = end ? (size_t)(end - list) : strlen(list);
        if (n > 0 && n < sizeof name) {
            memcpy(name, list, n);
            name[n] = '\0';
            wchar_t wname[512];
            MultiByteToWideChar(CP_UTF8, 0, name, -1, wname, 512);
            /* Only a missing pipe fails with ERROR_FILE_NOT_FOUND (busy ones time out). */
            BOOL ok = WaitNamedPipeW(wname, 1);
            int present = ok || GetLastError() != ERROR_FILE_NOT_FOUND;
            log_call(present ? "PipeProbe present" : "PipeProbe absent", wname);
        }
        list = end ? end + 1 : NULL;
    }
}

/* Delivers SystemExited from another thread, as HCS does from its pool. */
static DWORD WINAPI exit_later(LPVOID arg) {
    fake_system *s = arg;
    Sleep(s->exit_delay_ms);
    fake_event ev = {0x00000001 /* HcsEventSystemExited */, s->exit_data, NULL};
    if (s->cb) s->cb(&ev, s->ctx);
    return 0;
}

/* Ends the fake VM once; returns 0 when it had already ended. */
static int end_vm(fake_system *s, const wchar_t *data, DWORD delay_ms) {
    EnterCriticalSection(&s->lock);
    int first = !s->exited;
    if (first) {
        s->exited = 1;
        s->exit_data = data;
        s->exit_delay_ms = delay_ms;
        s->exit_thread = CreateThread(NULL, 0, exit_later, s, 0, NULL);
    }
    LeaveCriticalSection(&s->lock);
    return first;
}

EXPORT HRESULT WINAPI HcsShutDownComputeSystem(void *system, void *operation, const wchar_t *options) {
    log_call("HcsShutDownComputeSystem", options);
    probe_pipes();
    end_vm(system, L"{\"Status\":0,\"ExitType\":\"GracefulExit\"}", 100);
    complete(operation, S_OK, NULL);
    return S_OK;
}

EXPORT HRESULT WINAPI HcsTerminateComputeSystem(void *system, void *operation, const wchar_t *options) {
    log_call("HcsTerminateComputeSystem", options);
    probe_pipes();
    int first = end_vm(system, L"{\"Status\":0,\"ExitType\":\"ForcedExit\"}", 0);
    complete(operation, first ? S_OK : (HRESULT)0x80370110 /* HCS_E_SYSTEM_ALREADY_STOPPED */, NULL);
    return S_OK;
}

EXPORT void WINAPI HcsCloseComputeSystem(void *system) {
    fake_system *s = system;
    if (!s) return;
    log_call("HcsCloseComputeSystem", NULL);
    /* Like HCS: no callback runs after close returns. */
    if (s->exit_thread) {
        WaitForSingleObject(s->exit_thread, INFINITE);
        CloseHandle(s->exit_thread);
    }
    DeleteCriticalSection(&s->lock);
    free(s);
}
