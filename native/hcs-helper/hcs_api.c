/* hcs_api: run-time loading of computecore.dll and the availability probe (see hcs_api.h). */
#include "hcs_api.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hcs_errors.h"
#include "hcs_win.h"
#include "vv_buf.h"

/* Fills the probe for a failing HRESULT: the plain-words advice when the HRESULT is known
 * (the call and code stay in `call`/`hresult` for `cause`), else the full message. */
static void probe_fail(hcs_probe *p, const char *call, unsigned long hr, const char *doc) {
    const hcs_hresult_info *k = hcs_hresult_find((uint32_t)hr);
    p->available = 0;
    p->hresult = hr;
    p->call = call;
    if (k) {
        snprintf(p->reason, sizeof p->reason, "%s.", k->advice);
        p->reason[0] = (char)toupper((unsigned char)p->reason[0]);
        return;
    }
    vv_buf m = {0};
    hcs_error_message(&m, call, (uint32_t)hr, doc);
    snprintf(p->reason, sizeof p->reason, "%s", vv_buf_str(&m));
    vv_buf_free(&m);
}

#define RESOLVE(field, name)                                                                 \
    do {                                                                                     \
        FARPROC f_ = GetProcAddress(api->dll, name);                                         \
        if (!f_) { missing = name; goto fail; }                                              \
        /* FARPROC -> typed pointer: the type is taken from computecore.h, so they match. */ \
        memcpy(&api->field, &f_, sizeof f_);                                                 \
    } while (0)

int hcs_api_load(hcs_api *api, hcs_probe *p) {
    memset(api, 0, sizeof *api);
    memset(p, 0, sizeof *p);
    /* System32 only: never pick up a computecore.dll planted next to the helper. */
    api->dll = LoadLibraryExW(L"computecore.dll", NULL, LOAD_LIBRARY_SEARCH_SYSTEM32);
    if (!api->dll) {
        probe_fail(p, "LoadLibrary(computecore.dll)", HRESULT_FROM_WIN32(GetLastError()), NULL);
        return -1;
    }
    const char *missing = NULL;
    RESOLVE(CreateOperation, "HcsCreateOperation");
    RESOLVE(CloseOperation, "HcsCloseOperation");
    RESOLVE(WaitForOperationResult, "HcsWaitForOperationResult");
    RESOLVE(CancelOperation, "HcsCancelOperation");
    RESOLVE(EnumerateComputeSystems, "HcsEnumerateComputeSystems");
    RESOLVE(CreateComputeSystem, "HcsCreateComputeSystem");
    RESOLVE(StartComputeSystem, "HcsStartComputeSystem");
    RESOLVE(ShutDownComputeSystem, "HcsShutDownComputeSystem");
    RESOLVE(TerminateComputeSystem, "HcsTerminateComputeSystem");
    RESOLVE(CloseComputeSystem, "HcsCloseComputeSystem");
    RESOLVE(GetComputeSystemProperties, "HcsGetComputeSystemProperties");
    RESOLVE(ModifyComputeSystem, "HcsModifyComputeSystem");
    RESOLVE(SetComputeSystemCallback, "HcsSetComputeSystemCallback");
    RESOLVE(GrantVmAccess, "HcsGrantVmAccess");
    RESOLVE(RevokeVmAccess, "HcsRevokeVmAccess");
    p->available = 1;
    return 0;
fail:
    probe_fail(p, "GetProcAddress", HRESULT_FROM_WIN32(ERROR_PROC_NOT_FOUND), NULL);
    {
        size_t n = strlen(p->reason);
        snprintf(p->reason + n, sizeof p->reason - n, " Missing: %s.", missing);
    }
    FreeLibrary(api->dll);
    memset(api, 0, sizeof *api);
    return -1;
}

HRESULT hcs_api_wait(const hcs_api *api, HCS_OPERATION op, HRESULT submit, DWORD timeout_ms, char **result) {
    if (result) *result = NULL;
    if (!op) return FAILED(submit) ? submit : E_OUTOFMEMORY; /* HcsCreateOperation failed */
    PWSTR doc = NULL;
    HRESULT hr = submit;
    if (SUCCEEDED(submit)) {
        hr = api->WaitForOperationResult(op, timeout_ms, &doc);
        if (hr == HRESULT_FROM_WIN32(ERROR_TIMEOUT) || hr == (HRESULT)HCS_E_OPERATION_TIMEOUT) {
            /* Do not leave the operation running behind our back. */
            api->CancelOperation(op);
            if (doc) { LocalFree(doc); doc = NULL; }
            api->WaitForOperationResult(op, 5000, &doc);
        }
    }
    if (doc) {
        if (result) *result = hcs_utf8(doc);
        LocalFree(doc); /* documented: the caller frees result documents with LocalFree */
    }
    return hr;
}

HRESULT hcs_api_finish(const hcs_api *api, HCS_OPERATION op, HRESULT submit, DWORD timeout_ms,
                       char **result) {
    HRESULT hr = hcs_api_wait(api, op, submit, timeout_ms, result);
    if (op) api->CloseOperation(op);
    return hr;
}

int hcs_api_probe(const hcs_api *api, hcs_probe *p) {
    if (!api->dll) return -1; /* hcs_api_load already filled the probe */
    HCS_OPERATION op = api->CreateOperation(NULL, NULL);
    if (!op) {
        probe_fail(p, "HcsCreateOperation", (unsigned long)E_OUTOFMEMORY, NULL);
        return -1;
    }
    char *doc = NULL;
    HRESULT hr = hcs_api_finish(api, op, api->EnumerateComputeSystems(NULL, op), 10000, &doc);
    if (FAILED(hr)) {
        probe_fail(p, "HcsEnumerateComputeSystems", (unsigned long)hr, doc);
        free(doc);
        return -1;
    }
    free(doc);
    memset(p, 0, sizeof *p);
    p->available = 1;
    return 0;
}

void hcs_api_unload(hcs_api *api) {
    if (api->dll) FreeLibrary(api->dll);
    memset(api, 0, sizeof *api);
}
