/* Unit tests for vv_spec's disks and dataChannels (PROTOCOL.md §5.2.1-5.2.3): the parsed
 * values, the member rules, the order "entries first, then what the helper offers", and the
 * relabelling of a platform's channel-path message. */
#include <string.h>

#include "../vv_spec.h"
#include "vv_test.h"

void test_spec_devices(vv_test_state *ts);

/* "/f*" are files, "/d*" directories, "/run" a directory, else missing. */
static int abs_path(void *ctx, const char *p) { (void)ctx; return p[0] == '/'; }
static vv_path_kind kind(void *ctx, const char *p, int *err) {
    (void)ctx;
    if (strcmp(p, "/") == 0 || strncmp(p, "/d", 2) == 0 || strcmp(p, "/run") == 0) return VV_PATH_DIR;
    if (strncmp(p, "/f", 2) == 0) return VV_PATH_FILE;
    *err = 2;
    return VV_PATH_MISSING;
}
/* A Windows-like platform check: only "\\.\pipe\..." names, worded for channelPath. */
static int pipe_only(void *ctx, const char *p, vv_error *err) {
    (void)ctx;
    if (strncmp(p, "\\\\.\\pipe\\", 9) == 0) return 0;
    vv_error_set(err, VV_INVALID_ARGUMENT, "channelPath \"%s\" must be a pipe name", p);
    return -1;
}

static const char *const archs[] = {"x86_64", NULL};
static const char *const shares[] = {"9p", NULL};
static const char *const chans[] = {"virtio-serial", NULL};
static const char *const raw[] = {"raw", NULL};

#define BASE "\"name\":\"vm\",\"kernel\":\"/fk\",\"initrd\":\"/fi\",\"cpus\":1,\"memoryMiB\":256,\"channelPath\":\"/run/ssh.sock\",\"consoleLog\":\"/run/console.log\""
#define DISK "{\"id\":\"root\",\"hostPath\":\"/froot.img\",\"readOnly\":true,\"format\":\"raw\"}"
#define CHAN "{\"name\":\"egress\",\"path\":\"/run/egress.sock\",\"guestPort\":68664}"

/* Parses `json`; "ok" (and *out filled when non-NULL) or the error message. */
static const char *parse(vv_test_state *ts, const char *json, const vv_device_limits *dl, int pipes, vv_spec *out,
                         vv_error *err) {
    static const vv_limits lim = {"x86_64", archs, shares, chans, 2, 4096};
    const vv_platform pf = {NULL, abs_path, kind, pipes ? pipe_only : NULL};
    vj_doc d;
    vv_spec s;
    vv_error_reset(err);
    CHECK(ts, vj_parse(&d, json, strlen(json)) == 0);
    int r = vv_spec_parse_with(d.root, &lim, dl, &pf, &s, err);
    vj_doc_free(&d);
    if (r == 0 && out) *out = s;
    else if (r == 0) vv_spec_free(&s);
    return r == 0 ? "ok" : err->message;
}

void test_spec_devices(vv_test_state *ts) {
    const vv_device_limits full = {raw, 1, 4};
    const vv_device_limits no_ro = {raw, 0, 1};
    vv_error e = {0};
    vv_spec s;

    CHECK_STR(ts, parse(ts, "{" BASE ",\"disks\":[" DISK ",{\"id\":\"scratch-1\",\"hostPath\":\"/fs\",\"readOnly\":false,"
                            "\"format\":\"raw\"}],\"guestPort\":2222,\"dataChannels\":[" CHAN "]}", &full, 0, &s, &e), "ok");
    CHECK(ts, s.n_disks == 2 && s.n_data_channels == 1);
    CHECK_STR(ts, s.disks[0].id, "root");
    CHECK_STR(ts, s.disks[0].host_path, "/froot.img");
    CHECK(ts, s.disks[0].read_only == 1 && s.disks[1].read_only == 0);
    CHECK_STR(ts, s.disks[1].format, "raw");
    CHECK_STR(ts, s.data_channels[0].name, "egress");
    CHECK_STR(ts, s.data_channels[0].path, "/run/egress.sock");
    CHECK(ts, s.data_channels[0].guest_port == 68664 && s.guest_port == 2222);
    vv_spec_free(&s);
    CHECK(ts, s.n_disks == 0 && s.disks[0].host_path == NULL);

    /* The largest port and empty arrays are fine; the members are ignored by vv_spec_parse's
     * callers only in the sense that an empty array asks for nothing. */
    CHECK_STR(ts, parse(ts, "{" BASE ",\"disks\":[],\"dataChannels\":[{\"name\":\"a\",\"path\":\"/run/a\",\"guestPort\":4294967294}]}",
                        &full, 0, NULL, &e), "ok");
    CHECK_STR(ts, parse(ts, "{" BASE ",\"dataChannels\":[{\"name\":\"a\",\"path\":\"/run/a\",\"guestPort\":4294967295}]}",
                        &full, 0, NULL, &e), "dataChannels[0].guestPort must be an integer in 1..4294967294");

    /* No device limits: a helper that offers none still checks entries first (§5.2.3). */
    CHECK_STR(ts, parse(ts, "{" BASE ",\"disks\":[" DISK "]}", NULL, 0, NULL, &e),
              "disks[0].format \"raw\" is not offered by this helper (offered: none; it cannot attach disks)");
    CHECK(ts, e.code == VV_UNSUPPORTED);
    CHECK_STR(ts, parse(ts, "{" BASE ",\"disks\":[" DISK ",{\"id\":\"x\",\"hostPath\":\"/nope\",\"readOnly\":true,\"format\":\"raw\"}]}",
                        NULL, 0, NULL, &e), "disks[1].hostPath: /nope does not exist");
    CHECK(ts, e.code == VV_NOT_FOUND);
    CHECK_STR(ts, parse(ts, "{" BASE ",\"dataChannels\":[" CHAN "]}", NULL, 0, NULL, &e),
              "dataChannels holds 1 entries; this helper offers 0");
    CHECK(ts, e.code == VV_UNSUPPORTED);
    CHECK_STR(ts, parse(ts, "{" BASE ",\"dataChannels\":[{\"name\":\"ssh\",\"path\":\"/run/x\",\"guestPort\":5}]}", NULL, 0, NULL, &e),
              "dataChannels[0].name \"ssh\" must match [a-z][a-z0-9-]{0,15} and not be \"ssh\"");
    CHECK(ts, e.code == VV_INVALID_ARGUMENT);

    /* What the helper offers: read-only enforcement and the number of channels. */
    CHECK_STR(ts, parse(ts, "{" BASE ",\"disks\":[" DISK "]}", &no_ro, 0, NULL, &e),
              "disks[0].readOnly: this helper cannot enforce read-only disks on the host side");
    CHECK(ts, e.code == VV_UNSUPPORTED);
    CHECK_STR(ts, parse(ts, "{" BASE ",\"dataChannels\":[" CHAN ",{\"name\":\"b\",\"path\":\"/run/b\",\"guestPort\":9}]}",
                        &no_ro, 0, NULL, &e), "dataChannels holds 2 entries; this helper offers 1");
    CHECK_STR(ts, parse(ts, "{" BASE ",\"disks\":[{\"id\":\"root\",\"hostPath\":\"/froot.img\",\"readOnly\":true,"
                            "\"format\":\"qcow2-but-much-too-long\"}]}", &full, 0, NULL, &e),
              "disks[0].format \"?cow2-but-much-\" is not offered by this helper (offered: raw)");

    /* Channel paths: unix rules under the member's own name, and a platform's check relabelled. */
    CHECK_STR(ts, parse(ts, "{" BASE ",\"dataChannels\":[{\"name\":\"a\",\"path\":\"/nodir/a.sock\",\"guestPort\":5}]}",
                        &full, 0, NULL, &e), "dataChannels[0].path: the directory /nodir does not exist");
    CHECK(ts, e.code == VV_NOT_FOUND);
    CHECK_STR(ts, parse(ts, "{" BASE ",\"dataChannels\":[{\"name\":\"a\",\"path\":\"/fexists\",\"guestPort\":5}]}",
                        &full, 0, NULL, &e), "dataChannels[0].path: /fexists already exists");
    CHECK_STR(ts, parse(ts, "{\"name\":\"vm\",\"kernel\":\"/fk\",\"initrd\":\"/fi\",\"cpus\":1,\"memoryMiB\":256,"
                            "\"channelPath\":\"\\\\\\\\.\\\\pipe\\\\ssh\",\"consoleLog\":\"/run/c.log\","
                            "\"dataChannels\":[{\"name\":\"a\",\"path\":\"/run/a.sock\",\"guestPort\":5}]}",
                        &full, 1, NULL, &e), "dataChannels[0].path \"/run/a.sock\" must be a pipe name");
    CHECK_STR(ts, parse(ts, "{\"name\":\"vm\",\"kernel\":\"/fk\",\"initrd\":\"/fi\",\"cpus\":1,\"memoryMiB\":256,"
                            "\"channelPath\":\"\\\\\\\\.\\\\pipe\\\\ssh\",\"consoleLog\":\"/run/c.log\","
                            "\"dataChannels\":[{\"name\":\"a\",\"path\":\"\\\\\\\\.\\\\pipe\\\\ssh\",\"guestPort\":5}]}",
                        &full, 1, NULL, &e), "dataChannels[0].path \\\\.\\pipe\\ssh is already used by channelPath");
    vv_error_free(&e);
}
