/* hcs_errors: HRESULT + HCS result document -> protocol error (see hcs_errors.h). */
#include "hcs_errors.h"

#include <stdio.h>
#include <string.h>

#include "vv_json.h"

/* Advice shared by several codes. */
#define ADVICE_ENABLE_VMP                                                                       \
    "the Windows feature \"Virtual Machine Platform\" (or Hyper-V) is not enabled; enable it "   \
    "in \"Turn Windows features on or off\" (or run, as administrator, "                        \
    "\"dism /online /enable-feature /featurename:VirtualMachinePlatform /all\") and restart "   \
    "Windows"
#define ADVICE_RIGHTS                                                                           \
    "Windows refused access to the Host Compute Service; run Vivarium as an administrator or "  \
    "add your account to the \"Hyper-V Administrators\" group, then sign out and back in"

static const hcs_hresult_info known[] = {
    {0x80070005u, "E_ACCESSDENIED", "hypervisorUnavailable", ADVICE_RIGHTS},
    {HCS_E_ACCESS_DENIED, "HCS_E_ACCESS_DENIED", "hypervisorUnavailable", ADVICE_RIGHTS},
    {HCS_E_HYPERV_NOT_INSTALLED, "HCS_E_HYPERV_NOT_INSTALLED", "hypervisorUnavailable",
     "the Windows hypervisor is not running; enable the Windows feature \"Virtual Machine "
     "Platform\" (or Hyper-V), turn on hardware virtualization (Intel VT-x or AMD-V/SVM) in "
     "the firmware settings, and restart Windows"},
    {HCS_E_SERVICE_NOT_AVAILABLE, "HCS_E_SERVICE_NOT_AVAILABLE", "hypervisorUnavailable",
     "the Host Compute Service (vmcompute) is not available; " ADVICE_ENABLE_VMP},
    {HCS_HR_WIN32(1060), "ERROR_SERVICE_DOES_NOT_EXIST", "hypervisorUnavailable",
     "the Host Compute Service (vmcompute) is not installed; " ADVICE_ENABLE_VMP},
    {HCS_HR_WIN32(1058), "ERROR_SERVICE_DISABLED", "hypervisorUnavailable",
     "the Host Compute Service (vmcompute) is disabled; set the service \"Hyper-V Host Compute "
     "Service\" to start manually (services.msc) and try again"},
    {HCS_HR_WIN32(126), "ERROR_MOD_NOT_FOUND", "hypervisorUnavailable",
     "the Host Compute Service library (computecore.dll) was not found: Vivarium needs Windows 10 version 1809 or later with the "
     "Windows feature \"Virtual Machine Platform\" (or Hyper-V) enabled"},
    {HCS_HR_WIN32(127), "ERROR_PROC_NOT_FOUND", "hypervisorUnavailable",
     "this Windows version's computecore.dll lacks a function Vivarium needs; update Windows "
     "to version 1809 or later"},
    {HCS_E_UNSUPPORTED_PROTOCOL_VERSION, "HCS_E_UNSUPPORTED_PROTOCOL_VERSION",
     "hypervisorUnavailable",
     "this Windows version does not understand HCS schema 2.3; update Windows"},
    {HCS_E_WINDOWS_INSIDER_REQUIRED, "HCS_E_WINDOWS_INSIDER_REQUIRED", "hypervisorUnavailable",
     "this Windows build lacks an HCS feature Vivarium uses; update Windows"},
    {HCS_E_SERVICE_DISCONNECT, "HCS_E_SERVICE_DISCONNECT", "internal",
     "the connection to the Host Compute Service was lost (the vmcompute service stopped)"},
    {HCS_E_INVALID_JSON, "HCS_E_INVALID_JSON", "internal",
     "the Host Compute Service rejected the VM configuration document"},
    {HCS_E_UNKNOWN_MESSAGE, "HCS_E_UNKNOWN_MESSAGE", "internal",
     "the Host Compute Service does not know a request Vivarium sent"},
    {HCS_HR_WIN32(13), "ERROR_INVALID_DATA", "internal",
     "the Host Compute Service rejected the VM configuration as invalid"},
    {0x80070057u, "E_INVALIDARG", "internal", "the Host Compute Service rejected an argument"},
    {HCS_HR_WIN32(2), "ERROR_FILE_NOT_FOUND", "notFound",
     "a file the VM needs (kernel, initrd or shared folder) does not exist"},
    {HCS_HR_WIN32(3), "ERROR_PATH_NOT_FOUND", "notFound",
     "a folder the VM needs (kernel, initrd or shared folder) does not exist"},
    {HCS_HR_WIN32(50), "ERROR_NOT_SUPPORTED", "unsupported",
     "this Windows version does not support a VM setting Vivarium asked for"},
    {HCS_E_OPERATION_TIMEOUT, "HCS_E_OPERATION_TIMEOUT", "timeout",
     "the Host Compute Service did not finish in time"},
    {HCS_E_CONNECTION_TIMEOUT, "HCS_E_CONNECTION_TIMEOUT", "timeout",
     "the VM did not answer the Host Compute Service in time"},
    {HCS_HR_WIN32(1460), "ERROR_TIMEOUT", "timeout", "the operation did not finish in time"},
    {HCS_HR_WIN32(258), "WAIT_TIMEOUT", "timeout", "the operation did not finish in time"},
    {HCS_E_INVALID_STATE, "HCS_E_INVALID_STATE", "invalidState",
     "the VM is not in a state that allows this operation"},
    {HCS_E_SYSTEM_ALREADY_STOPPED, "HCS_E_SYSTEM_ALREADY_STOPPED", "invalidState",
     "the VM has already stopped"},
    {HCS_E_OPERATION_ALREADY_STARTED, "HCS_E_OPERATION_ALREADY_STARTED", "invalidState",
     "the same operation is already running"},
    {HCS_E_SYSTEM_ALREADY_EXISTS, "HCS_E_SYSTEM_ALREADY_EXISTS", "invalidState",
     "a VM with this name already exists (another Vivarium helper may be running it)"},
    {HCS_E_SYSTEM_NOT_FOUND, "HCS_E_SYSTEM_NOT_FOUND", "internal",
     "the VM no longer exists in the Host Compute Service"},
    {HCS_E_TERMINATED_DURING_START, "HCS_E_TERMINATED_DURING_START", "internal",
     "the VM stopped while it was starting (see the console log)"},
    {HCS_E_UNEXPECTED_EXIT, "HCS_E_UNEXPECTED_EXIT", "internal",
     "the VM exited unexpectedly (see the console log)"},
    {HCS_E_TERMINATED, "HCS_E_TERMINATED", "internal", "the VM was terminated"},
    {HCS_E_GUEST_CRITICAL_ERROR, "HCS_E_GUEST_CRITICAL_ERROR", "internal",
     "the guest hit a critical error (see the console log)"},
    {HCS_E_CONNECT_FAILED, "HCS_E_CONNECT_FAILED", "internal",
     "the Host Compute Service could not connect to the VM"},
    {HCS_E_CONNECTION_CLOSED, "HCS_E_CONNECTION_CLOSED", "internal",
     "the VM closed its connection to the Host Compute Service"},
    {HCS_E_PROTOCOL_ERROR, "HCS_E_PROTOCOL_ERROR", "internal",
     "the Host Compute Service and the VM disagreed on their protocol"},
    {HCS_E_SYSTEM_NOT_CONFIGURED_FOR_OPERATION, "HCS_E_SYSTEM_NOT_CONFIGURED_FOR_OPERATION",
     "unsupported", "the VM was not configured for this operation"},
    {0x8007000Eu, "E_OUTOFMEMORY", "internal",
     "Windows ran out of memory; close other VMs or ask for less memory"},
    {HCS_HR_WIN32(8), "ERROR_NOT_ENOUGH_MEMORY", "internal",
     "not enough memory is free to start the VM; close other VMs or ask for less memory"},
};

const hcs_hresult_info *hcs_hresult_find(uint32_t hr) {
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        if (known[i].hr == hr) return &known[i];
    return NULL;
}

const char *hcs_hresult_code(uint32_t hr) {
    const hcs_hresult_info *k = hcs_hresult_find(hr);
    return k ? k->code : "internal";
}

void hcs_hresult_hex(uint32_t hr, char out[11]) { snprintf(out, 11, "0x%08X", (unsigned)hr); }

/* The "ErrorMessage" string of an HCS result document, or NULL. Its doc must be freed. */
static const vj_value *result_message(vj_doc *doc, const char *result_doc, int *parsed) {
    *parsed = 0;
    if (!result_doc || !*result_doc) return NULL;
    if (vj_parse(doc, result_doc, strlen(result_doc)) != 0) return NULL;
    *parsed = 1;
    const vj_value *m = vj_get(doc->root, "ErrorMessage");
    return (m && vj_is_cstring(m) && m->u.string.len > 0) ? m : NULL;
}

int hcs_error_message(vv_buf *out, const char *call, uint32_t hr, const char *result_doc) {
    const hcs_hresult_info *k = hcs_hresult_find(hr);
    char hex[11];
    hcs_hresult_hex(hr, hex);
    if (k) vv_buf_printf(out, "%s failed: %s", call, k->advice);
    else vv_buf_printf(out, "%s failed with HRESULT %s", call, hex);
    vj_doc doc = {0};
    int parsed;
    const vj_value *m = result_message(&doc, result_doc, &parsed);
    if (m) {
        /* HCS messages end with a period and sometimes a newline; keep one sentence. */
        size_t n = m->u.string.len;
        while (n > 0 && (m->u.string.s[n - 1] == '\n' || m->u.string.s[n - 1] == '\r' ||
                         m->u.string.s[n - 1] == ' ' || m->u.string.s[n - 1] == '.'))
            n--;
        vv_buf_adds(out, " (HCS: ");
        vv_buf_add(out, m->u.string.s, n);
        vv_buf_addc(out, ')');
    }
    vj_doc_free(&doc);
    vv_buf_addc(out, '.');
    return out->oom ? -1 : 0;
}

int hcs_error_cause(vv_buf *out, const char *call, uint32_t hr, const char *result_doc) {
    const hcs_hresult_info *k = hcs_hresult_find(hr);
    char hex[11];
    hcs_hresult_hex(hr, hex);
    vj_writer w;
    vj_writer_init(&w, out);
    vj_obj_begin(&w);
    vj_key(&w, "call"); vj_str(&w, call);
    vj_key(&w, "hresult"); vj_str(&w, hex);
    if (k) { vj_key(&w, "name"); vj_str(&w, k->name); }
    if (result_doc && *result_doc) {
        vj_doc doc = {0};
        vj_key(&w, "hcsResult");
        if (vj_parse(&doc, result_doc, strlen(result_doc)) == 0) vj_value_write(&w, doc.root);
        else vj_str(&w, result_doc);
        vj_doc_free(&doc);
    }
    vj_obj_end(&w);
    return out->oom ? -1 : 0;
}
