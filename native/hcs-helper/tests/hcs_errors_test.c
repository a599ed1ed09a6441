/* Unit tests of the HRESULT -> protocol error mapping (codes, plain words, cause JSON). */
#include "check.h"
#include "hcs_errors.h"
#include "vv_json.h"

static void test_codes(void) {
    /* Rights and missing features are hypervisorUnavailable, so `hello`/`start` say why. */
    CHECK_STR(hcs_hresult_code(0x80070005u), "hypervisorUnavailable");
    CHECK_STR(hcs_hresult_code(HCS_E_ACCESS_DENIED), "hypervisorUnavailable");
    CHECK_STR(hcs_hresult_code(HCS_E_HYPERV_NOT_INSTALLED), "hypervisorUnavailable");
    CHECK_STR(hcs_hresult_code(HCS_E_SERVICE_NOT_AVAILABLE), "hypervisorUnavailable");
    CHECK_STR(hcs_hresult_code(0x80070424u), "hypervisorUnavailable"); /* service missing */
    CHECK_STR(hcs_hresult_code(0x8007007Eu), "hypervisorUnavailable"); /* dll missing */
    CHECK_STR(hcs_hresult_code(HCS_E_OPERATION_TIMEOUT), "timeout");
    CHECK_STR(hcs_hresult_code(0x800705B4u), "timeout");
    CHECK_STR(hcs_hresult_code(HCS_E_INVALID_STATE), "invalidState");
    CHECK_STR(hcs_hresult_code(HCS_E_SYSTEM_ALREADY_EXISTS), "invalidState");
    CHECK_STR(hcs_hresult_code(0x80070002u), "notFound");
    CHECK_STR(hcs_hresult_code(HCS_E_INVALID_JSON), "internal");
    CHECK_STR(hcs_hresult_code(0x80004005u), "internal"); /* E_FAIL: unknown -> internal */
    CHECK(hcs_hresult_find(0x80004005u) == NULL);
    CHECK_STR(hcs_hresult_find(HCS_E_TERMINATED_DURING_START)->name, "HCS_E_TERMINATED_DURING_START");

    char hex[11];
    hcs_hresult_hex(0x80370102u, hex);
    CHECK_STR(hex, "0x80370102");
    hcs_hresult_hex(0x5u, hex);
    CHECK_STR(hex, "0x00000005");
}

static void test_messages_name_the_fix(void) {
    vv_buf m = {0};
    hcs_error_message(&m, "HcsCreateComputeSystem", 0x80070005u, NULL);
    CHECK_CONTAINS(vv_buf_str(&m), "HcsCreateComputeSystem failed: ");
    CHECK_CONTAINS(vv_buf_str(&m), "Hyper-V Administrators");
    CHECK_CONTAINS(vv_buf_str(&m), "administrator");
    vv_buf_clear(&m);
    hcs_error_message(&m, "HcsStartComputeSystem", HCS_E_HYPERV_NOT_INSTALLED, NULL);
    CHECK_CONTAINS(vv_buf_str(&m), "Virtual Machine Platform");
    CHECK_CONTAINS(vv_buf_str(&m), "VT-x");
    vv_buf_clear(&m);
    hcs_error_message(&m, "HcsEnumerateComputeSystems", 0x80070424u, NULL);
    CHECK_CONTAINS(vv_buf_str(&m), "vmcompute");
    CHECK_CONTAINS(vv_buf_str(&m), "VirtualMachinePlatform");
    vv_buf_clear(&m);
    hcs_error_message(&m, "LoadLibrary(computecore.dll)", 0x8007007Eu, NULL);
    CHECK_CONTAINS(vv_buf_str(&m), "Windows 10 version 1809");

    /* Unknown HRESULT: the hex value, then HCS's own message without its trailing period. */
    vv_buf_clear(&m);
    hcs_error_message(&m, "HcsStartComputeSystem", 0x80004005u,
                      "{\"Error\":-2147467259,\"ErrorMessage\":\"Unspecified error.\\r\\n\"}");
    CHECK_STR(vv_buf_str(&m),
              "HcsStartComputeSystem failed with HRESULT 0x80004005 (HCS: Unspecified error).");
    /* A result document that is not JSON is ignored in the message. */
    vv_buf_clear(&m);
    hcs_error_message(&m, "HcsStartComputeSystem", 0x80004005u, "garbage{");
    CHECK_STR(vv_buf_str(&m), "HcsStartComputeSystem failed with HRESULT 0x80004005.");
    vv_buf_free(&m);
}

static void test_cause(void) {
    vv_buf c = {0};
    hcs_error_cause(&c, "HcsCreateComputeSystem", HCS_E_INVALID_JSON,
                    "{\"Error\":-2143878899,\"ErrorMessage\":\"bad\",\"ErrorEvents\":[{\"Message\":\"x\"}]}");
    vj_doc d = {0};
    CHECK(vj_parse(&d, c.data, c.len) == 0);
    CHECK_STR(vj_get(d.root, "call")->u.string.s, "HcsCreateComputeSystem");
    CHECK_STR(vj_get(d.root, "hresult")->u.string.s, "0x8037010D");
    CHECK_STR(vj_get(d.root, "name")->u.string.s, "HCS_E_INVALID_JSON");
    const vj_value *r = vj_get(d.root, "hcsResult");
    CHECK(r && r->type == VJ_OBJECT);
    CHECK(r && vj_get(r, "ErrorEvents") && vj_get(r, "ErrorEvents")->type == VJ_ARRAY);
    vj_doc_free(&d);

    /* Not JSON: kept as a string so nothing is lost; unknown HRESULT: no "name". */
    vv_buf_clear(&c);
    hcs_error_cause(&c, "HcsStartComputeSystem", 0x80004005u, "oops \"quoted\"\n");
    CHECK(vj_parse(&d, c.data, c.len) == 0);
    CHECK(vj_get(d.root, "name") == NULL);
    CHECK_STR(vj_get(d.root, "hcsResult")->u.string.s, "oops \"quoted\"\n");
    vj_doc_free(&d);

    vv_buf_clear(&c);
    hcs_error_cause(&c, "HcsStartComputeSystem", 0x80004005u, NULL);
    CHECK(vj_parse(&d, c.data, c.len) == 0);
    CHECK(vj_get(d.root, "hcsResult") == NULL);
    vj_doc_free(&d);
    vv_buf_free(&c);
}

int main(void) {
    test_codes();
    test_messages_name_the_fix();
    test_cause();
    if (check_failures) { fprintf(stderr, "hcs_errors_test: %d check(s) failed\n", check_failures); return 1; }
    printf("hcs_errors_test: ok\n");
    return 0;
}
