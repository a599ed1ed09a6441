/* Unit tests of the HCS document builder against the golden documents in tests/golden/.
 * Usage: hcs_doc_test <golden-dir>. The comparison is semantic (member order is free). */
#include <stdlib.h>

#include "check.h"
#include "hcs_doc.h"
#include "vv_json.h"

static char golden_dir[1024];

static char *read_file(const char *name) {
    char path[1200];
    snprintf(path, sizeof path, "%s/%s", golden_dir, name);
    FILE *f = fopen(path, "rb");
    if (!f) { fprintf(stderr, "cannot open %s\n", path); exit(2); }
    vv_buf b = {0};
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) vv_buf_add(&b, chunk, n);
    fclose(f);
    return b.data; /* owned by the caller; free() */
}

/* Deep equality of two parsed values; object member order does not matter. Prints where. */
static int same(const vj_value *a, const vj_value *b, const char *where) {
    if (a->type != b->type) {
        fprintf(stderr, "  at %s: type %s vs %s\n", where, vj_type_name(a), vj_type_name(b));
        return 0;
    }
    switch (a->type) {
    case VJ_NULL: return 1;
    case VJ_BOOL:
        if (a->u.boolean == b->u.boolean) return 1;
        fprintf(stderr, "  at %s: bool differs\n", where);
        return 0;
    case VJ_NUMBER:
        if (a->u.number == b->u.number) return 1;
        fprintf(stderr, "  at %s: %g vs %g\n", where, a->u.number, b->u.number);
        return 0;
    case VJ_STRING:
        if (a->u.string.len == b->u.string.len &&
            memcmp(a->u.string.s, b->u.string.s, a->u.string.len) == 0)
            return 1;
        fprintf(stderr, "  at %s: \"%s\" vs \"%s\"\n", where, a->u.string.s, b->u.string.s);
        return 0;
    case VJ_ARRAY: {
        if (a->u.list.count != b->u.list.count) {
            fprintf(stderr, "  at %s: array lengths differ\n", where);
            return 0;
        }
        const vj_value *x = a->u.list.first, *y = b->u.list.first;
        for (int i = 0; x && y; x = x->next, y = y->next, i++) {
            char sub[512];
            snprintf(sub, sizeof sub, "%s[%d]", where, i);
            if (!same(x, y, sub)) return 0;
        }
        return 1;
    }
    case VJ_OBJECT: {
        if (a->u.list.count != b->u.list.count) {
            fprintf(stderr, "  at %s: member counts differ (%zu vs %zu)\n", where,
                    a->u.list.count, b->u.list.count);
            return 0;
        }
        for (const vj_value *x = a->u.list.first; x; x = x->next) {
            char sub[512];
            snprintf(sub, sizeof sub, "%s.%s", where, x->key);
            const vj_value *y = vj_get(b, x->key);
            if (!y) { fprintf(stderr, "  at %s: missing\n", sub); return 0; }
            if (!same(x, y, sub)) return 0;
        }
        return 1;
    }
    }
    return 0;
}

/* Checks that `actual` (builder output) equals the golden file `name`. */
static void check_golden(const char *actual, const char *name) {
    char *expected = read_file(name);
    vj_doc a = {0}, e = {0};
    int pa = vj_parse(&a, actual, strlen(actual));
    int pe = vj_parse(&e, expected, strlen(expected));
    if (pa != 0) { fprintf(stderr, "builder output is not JSON: %s\n%s\n", a.error, actual); check_failures++; }
    if (pe != 0) { fprintf(stderr, "golden %s is not JSON: %s\n", name, e.error); check_failures++; }
    if (pa == 0 && pe == 0 && !same(a.root, e.root, "$")) {
        fprintf(stderr, "%s differs from the builder output:\n%s\n", name, actual);
        check_failures++;
    }
    vj_doc_free(&a);
    vj_doc_free(&e);
    free(expected);
}

static hcs_vm_config base_config(vv_buf *cmdline) {
    hcs_doc_kernel_cmdline(cmdline, "quiet panic=-1 vivarium.share=hv9p", HCS_PLAN9_PORT);
    hcs_vm_config c = {
        .owner = "vivarium",
        .kernel_path = "C:\\Program Files\\Vivarium\\guest\\x86_64\\bzImage",
        .initrd_path = "C:\\Users\\Zo\xc3\xab \"Z\" Ng\\AppData\\Roaming\\Vivarium\\vms\\w1\\initrd.img",
        .cmdline = vv_buf_str(cmdline),
        .cpus = 2,
        .memory_mib = 1024,
        .console_pipe = "\\\\.\\pipe\\vivarium-w1-com1",
        .agent_port = 22,
        .user_sid = "S-1-5-21-3623811015-3361044348-30300820-1013",
    };
    return c;
}

static void test_compute_system_golden(void) {
    vv_buf cmd = {0}, out = {0};
    hcs_vm_config c = base_config(&cmd);
    const char *why = "unset";
    CHECK(hcs_doc_compute_system(&out, &c, &why) == 0);
    CHECK(why == NULL);
    check_golden(vv_buf_str(&out), "compute-system.json");
    /* No network device may ever appear. */
    CHECK(strstr(vv_buf_str(&out), "NetworkAdapters") == NULL);

    /* An odd size is rounded down to the 2 MiB granularity HCS enforces. */
    vv_buf_clear(&out);
    c.memory_mib = 1025;
    CHECK(hcs_doc_compute_system(&out, &c, &why) == 0);
    check_golden(vv_buf_str(&out), "compute-system.json");
    vv_buf_free(&cmd);
    vv_buf_free(&out);
}

/* Disks become SCSI attachments in order; every data port gets the agent port's ACL. */
static void test_compute_system_disks_and_channels(void) {
    vv_buf cmd = {0}, out = {0};
    hcs_vm_config c = base_config(&cmd);
    const hcs_disk disks[] = {
        {"C:\\Program Files\\Vivarium\\guest\\x86_64\\rootfs.vhdx", 1},
        {"D:\\Vivarium\\scratch \"1\".vhdx", 0},
    };
    const uint32_t ports[] = {68664, 0xFFFFFFFEu};
    c.disks = disks;
    c.n_disks = 2;
    c.data_ports = ports;
    c.n_data_ports = 2;
    const char *why = "unset";
    CHECK(hcs_doc_compute_system(&out, &c, &why) == 0);
    CHECK(why == NULL);
    check_golden(vv_buf_str(&out), "compute-system-disks-channels.json");
    CHECK(strstr(vv_buf_str(&out), "NetworkAdapters") == NULL);

    /* Bad lists are refused and leave nothing behind. */
    struct { hcs_vm_config c; const char *why; } bad[6];
    const hcs_disk unnamed[] = {{"", 1}};
    const uint32_t zero[] = {0}, ssh[] = {22}, twice[] = {5, 5}, any[] = {0xFFFFFFFFu};
    for (int i = 0; i < 6; i++) bad[i].c = c;
    bad[0].c.disks = unnamed; bad[0].c.n_disks = 1;  bad[0].why = "disk path";
    bad[1].c.data_ports = zero; bad[1].c.n_data_ports = 1; bad[1].why = "data port";
    bad[2].c.data_ports = ssh; bad[2].c.n_data_ports = 1;  bad[2].why = "data port";
    bad[3].c.data_ports = twice; bad[3].c.n_data_ports = 2; bad[3].why = "data port";
    bad[4].c.data_ports = any; bad[4].c.n_data_ports = 1;  bad[4].why = "data port";
    bad[5].c.disks = NULL; bad[5].c.n_disks = 1;           bad[5].why = "disk list";
    for (int i = 0; i < 6; i++) {
        vv_buf_clear(&out);
        why = NULL;
        CHECK(hcs_doc_compute_system(&out, &bad[i].c, &why) == -1);
        CHECK_STR(why, bad[i].why);
        CHECK(out.len == 0);
    }

    /* Without disks there is no Scsi member at all (the plain golden document). */
    vv_buf_clear(&out);
    c.n_disks = 0;
    c.n_data_ports = 0;
    CHECK(hcs_doc_compute_system(&out, &c, &why) == 0);
    check_golden(vv_buf_str(&out), "compute-system.json");
    vv_buf_free(&cmd);
    vv_buf_free(&out);
}

static void test_vhdx_header(void) {
    CHECK(hcs_is_vhdx_header("vhdxfile\0M\0i\0c", 14));
    CHECK(!hcs_is_vhdx_header("vhdxfil", 7));
    CHECK(!hcs_is_vhdx_header("VHDXFILE", 8));
    static const unsigned char zeros[512];
    CHECK(!hcs_is_vhdx_header(zeros, sizeof zeros)); /* a raw image */
    CHECK(!hcs_is_vhdx_header("conectix", 8));       /* a VHD (v1) footer cookie */
    CHECK(!hcs_is_vhdx_header(NULL, 8));
}

static void test_compute_system_rejects(void) {
    vv_buf cmd = {0}, out = {0};
    const char *why;
    struct { const char *name; hcs_vm_config c; const char *why; } cases[6];
    for (int i = 0; i < 6; i++) cases[i].c = base_config(&cmd);
    cases[0].c.user_sid = "S-1-5-21-1)(A;;FA;;;WD"; cases[0].why = "user SID";
    cases[1].c.user_sid = "S-1-5--21";              cases[1].why = "user SID";
    cases[2].c.console_pipe = "C:\\com1";           cases[2].why = "console pipe name";
    cases[3].c.cpus = 0;                            cases[3].why = "processor count";
    cases[4].c.memory_mib = 127;                    cases[4].why = "memory size";
    cases[5].c.agent_port = 0;                      cases[5].why = "agent port";
    for (int i = 0; i < 6; i++) {
        vv_buf_clear(&out);
        why = NULL;
        CHECK(hcs_doc_compute_system(&out, &cases[i].c, &why) == -1);
        CHECK_STR(why, cases[i].why);
        CHECK(out.len == 0); /* nothing half-written */
    }
    vv_buf_free(&cmd);
    vv_buf_free(&out);
}

static void test_plan9(void) {
    vv_buf out = {0};
    hcs_share ro = {"workspace", "D:\\Projects\\my app", 1};
    CHECK(hcs_doc_plan9_add(&out, &ro, HCS_PLAN9_PORT, 1) == 0);
    check_golden(vv_buf_str(&out), "plan9-add-readonly.json");
    vv_buf_clear(&out);
    hcs_share rw = {"workspace", "\\\\server\\share\\repo", 0};
    CHECK(hcs_doc_plan9_add(&out, &rw, HCS_PLAN9_PORT, 0) == 0);
    check_golden(vv_buf_str(&out), "plan9-add-readwrite.json");
    CHECK(hcs_plan9_flags(1, 0) == 0x5u);
    CHECK((hcs_plan9_flags(0, 1) & HCS_P9_READ_ONLY) == 0);
    hcs_share bad = {"", "C:\\x", 0};
    CHECK(hcs_doc_plan9_add(&out, &bad, HCS_PLAN9_PORT, 0) == -1);
    vv_buf_free(&out);
}

static void test_small_helpers(void) {
    char id[37];
    hcs_vsock_service_id(22, id);
    CHECK_STR(id, "00000016-facb-11e6-bd58-64006a7986d3");
    hcs_vsock_service_id(0xFFFFFFFFu, id);
    CHECK_STR(id, "ffffffff-facb-11e6-bd58-64006a7986d3");
    CHECK(hcs_even_mib(1025) == 1024 && hcs_even_mib(2048) == 2048);

    vv_buf cmd = {0};
    hcs_doc_kernel_cmdline(&cmd, "", 564);
    CHECK_STR(vv_buf_str(&cmd), "console=ttyS0,115200 8250_core.nr_uarts=1 8250_core.skip_txen_test=1 "
                                "pci=off vivarium.vsock_transport=hv vivarium.hv9p_port=564");
    vv_buf_free(&cmd);

    char rid[37];
    CHECK(hcs_doc_runtime_id("{\"Id\":\"vivarium-w1\",\"RuntimeId\":\"{8A2B1C3D-0000-4E5F-9A8B-0123456789AB}\"}", rid) == 0);
    CHECK_STR(rid, "8A2B1C3D-0000-4E5F-9A8B-0123456789AB");
    CHECK(hcs_doc_runtime_id("{\"RuntimeId\":\"12345678-1234-1234-1234-123456789abc\"}", rid) == 0);
    CHECK_STR(rid, "12345678-1234-1234-1234-123456789abc");
    CHECK(hcs_doc_runtime_id("{\"RuntimeId\":\"not-a-guid\"}", rid) == -1);
    CHECK(hcs_doc_runtime_id("{\"Id\":\"x\"}", rid) == -1);
    CHECK(hcs_doc_runtime_id("not json", rid) == -1);
    CHECK(hcs_doc_runtime_id(NULL, rid) == -1);

    hcs_guid g;
    CHECK(hcs_parse_guid_text("8a2b1c3d-0102-4E5F-9a8b-0123456789AB", &g) == 0);
    CHECK(g.data1 == 0x8a2b1c3du && g.data2 == 0x0102 && g.data3 == 0x4e5f);
    CHECK(g.data4[0] == 0x9a && g.data4[1] == 0x8b && g.data4[2] == 0x01 && g.data4[7] == 0xab);
    CHECK(hcs_parse_guid_text("8a2b1c3d-0102-4e5f-9a8b-0123456789a", &g) == -1);
    CHECK(hcs_parse_guid_text("8a2b1c3d-0102-4e5f-9a8b-0123456789ag", &g) == -1);
    CHECK(hcs_parse_guid_text("{8a2b1c3d-0102-4e5f-9a8b-0123456789ab}", &g) == -1);
    CHECK(hcs_parse_guid_text(NULL, &g) == -1);
}

static void test_exit_reason(void) {
    char m[200];
    CHECK_STR(hcs_exit_reason("{\"Status\":0,\"ExitType\":\"GracefulExit\"}", 0, m, sizeof m), "poweroff");
    CHECK_STR(m, "the guest powered off");
    CHECK_STR(hcs_exit_reason("{\"Status\":-2147023895,\"ExitType\":\"UnexpectedExit\"}", 0, m, sizeof m), "crashed");
    CHECK_CONTAINS(m, "-2147023895");
    CHECK_STR(hcs_exit_reason("{\"ExitType\":\"ForcedExit\"}", 0, m, sizeof m), "crashed");
    CHECK_CONTAINS(m, "outside Vivarium");
    CHECK_STR(hcs_exit_reason("{\"Status\":5}", 0, m, sizeof m), "crashed");
    CHECK_STR(hcs_exit_reason(NULL, 0, m, sizeof m), "poweroff");
    CHECK_STR(hcs_exit_reason("not json", 0, m, sizeof m), "poweroff");
    CHECK_STR(hcs_exit_reason("{\"Status\":0,\"ExitType\":\"GracefulExit\"}", 1, m, sizeof m), "crashed");
    CHECK_CONTAINS(m, "crash");
}

int main(int argc, char **argv) {
    if (argc != 2) { fprintf(stderr, "usage: hcs_doc_test <golden-dir>\n"); return 2; }
    snprintf(golden_dir, sizeof golden_dir, "%s", argv[1]);
    test_compute_system_golden();
    test_compute_system_rejects();
    test_compute_system_disks_and_channels();
    test_vhdx_header();
    test_plan9();
    test_small_helpers();
    test_exit_reason();
    if (check_failures) { fprintf(stderr, "hcs_doc_test: %d check(s) failed\n", check_failures); return 1; }
    printf("hcs_doc_test: ok\n");
    return 0;
}
