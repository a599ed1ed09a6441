/*
 * hcs_api: computecore.dll loaded at run time, and the availability probe `hello` reports.
 * Windows only. The DLL is loaded with LoadLibraryEx from System32 instead of being linked,
 * so the helper starts (and `hello` can say why) on a Windows without the Host Compute
 * Service and under Wine, which has no computecore.dll.
 */
#ifndef HCS_API_H
#define HCS_API_H

#include <windows.h>

#include <computecore.h>

/* The computecore functions the helper calls; the types come from mingw's computecore.h. */
typedef struct hcs_api {
    HMODULE dll;
    __typeof__(&HcsCreateOperation) CreateOperation;
    __typeof__(&HcsCloseOperation) CloseOperation;
    __typeof__(&HcsWaitForOperationResult) WaitForOperationResult;
    __typeof__(&HcsCancelOperation) CancelOperation;
    __typeof__(&HcsEnumerateComputeSystems) EnumerateComputeSystems;
    __typeof__(&HcsCreateComputeSystem) CreateComputeSystem;
    __typeof__(&HcsStartComputeSystem) StartComputeSystem;
    __typeof__(&HcsShutDownComputeSystem) ShutDownComputeSystem;
    __typeof__(&HcsTerminateComputeSystem) TerminateComputeSystem;
    __typeof__(&HcsCloseComputeSystem) CloseComputeSystem;
    __typeof__(&HcsGetComputeSystemProperties) GetComputeSystemProperties;
    __typeof__(&HcsModifyComputeSystem) ModifyComputeSystem;
    __typeof__(&HcsSetComputeSystemCallback) SetComputeSystemCallback;
    __typeof__(&HcsGrantVmAccess) GrantVmAccess;
    __typeof__(&HcsRevokeVmAccess) RevokeVmAccess;
} hcs_api;

/* What the probe found; `reason` is the user-facing sentence when not available. */
typedef struct hcs_probe {
    int available;
    unsigned long hresult; /* the failing HRESULT, 0 when available */
    const char *call;      /* the native call that failed */
    char reason[600];
} hcs_probe;

/* Loads computecore.dll and resolves every function. Returns 0, or -1 with `p` filled in
 * (the DLL is then released and `api` zeroed). */
int hcs_api_load(hcs_api *api, hcs_probe *p);

/* Checks that HCS answers for this user: the vmcompute service runs and the caller has the
 * rights (an HcsEnumerateComputeSystems call). Fills `p`; 0 when available. */
int hcs_api_probe(const hcs_api *api, hcs_probe *p);

/* Waits for one HCS operation: `submit` is the HRESULT of the call that took `op`. Waits at
 * most timeout_ms, cancelling on timeout. On return *result (may be NULL) holds the result
 * document converted to UTF-8 (caller frees with free()). Does not close `op`. */
HRESULT hcs_api_wait(const hcs_api *api, HCS_OPERATION op, HRESULT submit, DWORD timeout_ms, char **result);

/* hcs_api_wait, then closes `op`. */
HRESULT hcs_api_finish(const hcs_api *api, HCS_OPERATION op, HRESULT submit, DWORD timeout_ms,
                       char **result);

/* Releases the DLL. */
void hcs_api_unload(hcs_api *api);

#endif
