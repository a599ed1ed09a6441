/* Unit tests for the QEMU command line: the flags that keep TCG boots fast and hang-free, and
 * QEMU option escaping of user paths (a comma in a path must not inject options). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../common/tests/vv_test.h"
#include "../qh_qemu_args.h"

static int has_pair(const qh_argv *a, const char *opt, const char *val) {
    for (int i = 0; i + 1 < a->n; i++)
        if (strcmp(a->v[i], opt) == 0 && strcmp(a->v[i + 1], val) == 0) return 1;
    return 0;
}

static const char *value_of(const qh_argv *a, const char *opt, const char *prefix) {
    for (int i = 0; i + 1 < a->n; i++)
        if (strcmp(a->v[i], opt) == 0 && strncmp(a->v[i + 1], prefix, strlen(prefix)) == 0) return a->v[i + 1];
    return NULL;
}

int main(void) {
    vv_test_state ts = {0, 0};
    vv_spec s;
    memset(&s, 0, sizeof s);
    strcpy(s.name, "vm1");
    strcpy(s.share_kind, "9p");
    strcpy(s.arch, "x86_64");
    s.kernel = "/img/vmlinux";
    s.initrd = "/img/initrd";
    s.cmdline = "quiet vivarium.share=9p";
    s.console_log = "/run/a,b/console.log";
    s.channel_path = "/run/a,b/ssh.sock";
    s.cpus = 2;
    s.memory_mib = 512;
    s.n_shares = 2;
    strcpy(s.shares[0].tag, "workspace");
    s.shares[0].host_path = "/home/u/my,dir,readonly=off";
    s.shares[0].read_only = 1;
    strcpy(s.shares[1].tag, "cache");
    s.shares[1].host_path = "/tmp/c";
    qh_launch l = {&s, "/usr/bin/qemu-system-x86_64", "tcg", NULL, 3, 4, 5, QH_QBOOT, 13, 17};
    qh_argv a;
    CHECK(&ts, qh_build_argv(&l, &a) == 0);
    CHECK(&ts, a.v[a.n] == NULL);
    CHECK_STR(&ts, a.v[0], "/usr/bin/qemu-system-x86_64");
    CHECK(&ts, has_pair(&a, "-M", "q35"));
    CHECK(&ts, has_pair(&a, "-accel", "tcg"));
    CHECK(&ts, has_pair(&a, "-cpu", "max"));
    CHECK(&ts, has_pair(&a, "-bios", "/usr/share/qemu/qboot.rom"));
    CHECK(&ts, has_pair(&a, "-smp", "2"));
    CHECK(&ts, has_pair(&a, "-m", "512"));
    CHECK(&ts, has_pair(&a, "-kernel", "/img/vmlinux"));
    CHECK(&ts, has_pair(&a, "-append", "quiet vivarium.share=9p console=ttyS0 panic=-1 cryptomgr.notests"));
    int nodefaults = 0, noreboot = 0;
    for (int i = 0; i < a.n; i++) {
        nodefaults |= strcmp(a.v[i], "-nodefaults") == 0;
        noreboot |= strcmp(a.v[i], "-no-reboot") == 0;
    }
    CHECK(&ts, nodefaults && noreboot);
    CHECK(&ts, has_pair(&a, "-sandbox", "on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny"));
    /* Commas doubled: the share path cannot smuggle in readonly=off. */
    CHECK_STR(&ts, value_of(&a, "-fsdev", "local,id=fs0"),
              "local,id=fs0,security_model=none,multidevs=remap,path=/home/u/my,,dir,,readonly=off,readonly=on");
    CHECK_STR(&ts, value_of(&a, "-fsdev", "local,id=fs1"), "local,id=fs1,security_model=none,multidevs=remap,path=/tmp/c");
    CHECK(&ts, has_pair(&a, "-device", "virtio-9p-pci,fsdev=fs0,mount_tag=workspace"));
    CHECK_STR(&ts, value_of(&a, "-chardev", "file,"), "file,id=con0,append=on,path=/run/a,,b/console.log");
    CHECK(&ts, has_pair(&a, "-chardev", "socket,id=ssh0,fd=4,server=on,wait=off"));
    CHECK(&ts, has_pair(&a, "-device", "virtserialport,bus=vser0.0,chardev=ssh0,name=vivarium.ssh"));
    CHECK(&ts, has_pair(&a, "-chardev", "socket,id=qmp0,fd=3"));
    qh_argv_free(&a);

    /* arm64 guests: virt machine, PL011 console; KVM uses the host CPU model. */
    strcpy(s.arch, "arm64");
    s.n_shares = 0;
    qh_launch k = {&s, "/usr/bin/qemu-system-aarch64", "kvm", NULL, 3, 4, 5, QH_QBOOT, 13, 17};
    CHECK(&ts, qh_build_argv(&k, &a) == 0);
    CHECK(&ts, has_pair(&a, "-M", "virt"));
    CHECK(&ts, has_pair(&a, "-cpu", "host"));
    CHECK(&ts, has_pair(&a, "-accel", "kvm"));
    CHECK(&ts, has_pair(&a, "-append", "quiet vivarium.share=9p console=ttyAMA0 panic=-1 cryptomgr.notests"));
    CHECK(&ts, value_of(&a, "-fsdev", "") == NULL);
    CHECK(&ts, value_of(&a, "-bios", "") == NULL); /* qboot is x86 firmware */
    qh_argv_free(&a);

    /* virtiofs: a shared memfd RAM backend and one vhost-user-fs device per share. */
    strcpy(s.arch, "x86_64");
    strcpy(s.share_kind, "virtiofs");
    s.n_shares = 2;
    qh_launch v = {&s, "/usr/bin/qemu-system-x86_64", "tcg", NULL, 3, 4, 5, NULL, 13, 17};
    CHECK(&ts, qh_build_argv(&v, &a) == 0);
    CHECK(&ts, has_pair(&a, "-object", "memory-backend-memfd,id=mem0,size=512M,share=on"));
    CHECK(&ts, has_pair(&a, "-numa", "node,memdev=mem0"));
    CHECK(&ts, has_pair(&a, "-chardev", "socket,id=vfs1,fd=6"));
    CHECK(&ts, has_pair(&a, "-device", "vhost-user-fs-pci,chardev=vfs0,tag=workspace"));
    CHECK(&ts, value_of(&a, "-fsdev", "") == NULL);
    qh_argv_free(&a);

    /* Disks come from fd sets (no host path in QEMU's option syntax), in array order, before
     * the other devices; read-only ones get only an O_RDONLY fd and readonly=on. Data channels
     * are more ports on the SSH channel's virtio-serial bus. */
    strcpy(s.share_kind, "9p");
    s.n_shares = 0;
    s.n_disks = 2;
    strcpy(s.disks[0].id, "root");
    s.disks[0].host_path = "/img/root,readonly=off.img";
    s.disks[0].read_only = 1;
    strcpy(s.disks[0].format, "raw");
    strcpy(s.disks[1].id, "scratch-1");
    s.disks[1].host_path = "/tmp/scratch.img";
    s.disks[1].read_only = 0;
    strcpy(s.disks[1].format, "raw");
    s.n_data_channels = 2;
    strcpy(s.data_channels[0].name, "egress");
    s.data_channels[0].path = "/run/egress.sock";
    strcpy(s.data_channels[1].name, "logs");
    s.data_channels[1].path = "/run/logs.sock";
    qh_launch dv = {&s, "/usr/bin/qemu-system-x86_64", "tcg", NULL, 3, 4, 5, NULL, 13, 17};
    CHECK(&ts, qh_build_argv(&dv, &a) == 0);
    CHECK(&ts, has_pair(&a, "-add-fd", "fd=17,set=1,opaque=disk-root-ro"));
    CHECK(&ts, value_of(&a, "-add-fd", "fd=18,") == NULL); /* no writable fd for a read-only disk */
    CHECK(&ts, has_pair(&a, "-drive", "file=/dev/fdset/1,if=none,id=disk-root,format=raw,readonly=on"));
    CHECK(&ts, has_pair(&a, "-device", "virtio-blk-pci,drive=disk-root,serial=root"));
    CHECK(&ts, has_pair(&a, "-add-fd", "fd=19,set=2,opaque=disk-scratch-1-ro"));
    CHECK(&ts, has_pair(&a, "-add-fd", "fd=20,set=2,opaque=disk-scratch-1-rw"));
    CHECK(&ts, has_pair(&a, "-drive", "file=/dev/fdset/2,if=none,id=disk-scratch-1,format=raw"));
    CHECK(&ts, has_pair(&a, "-device", "virtio-blk-pci,drive=disk-scratch-1,serial=scratch-1"));
    int root_at = -1, scratch_at = -1, rng_at = -1;
    for (int i = 0; i < a.n; i++) {
        CHECK(&ts, strstr(a.v[i], "/img/root") == NULL && strstr(a.v[i], "scratch.img") == NULL);
        if (strcmp(a.v[i], "virtio-blk-pci,drive=disk-root,serial=root") == 0) root_at = i;
        if (strcmp(a.v[i], "virtio-blk-pci,drive=disk-scratch-1,serial=scratch-1") == 0) scratch_at = i;
        if (strcmp(a.v[i], "virtio-rng-pci") == 0) rng_at = i;
    }
    CHECK(&ts, rng_at > 0 && root_at > rng_at && scratch_at > root_at);
    CHECK(&ts, has_pair(&a, "-chardev", "socket,id=data0,fd=13,server=on,wait=off"));
    CHECK(&ts, has_pair(&a, "-device", "virtserialport,bus=vser0.0,chardev=data0,name=vivarium.egress"));
    CHECK(&ts, has_pair(&a, "-chardev", "socket,id=data1,fd=14,server=on,wait=off"));
    CHECK(&ts, has_pair(&a, "-device", "virtserialport,bus=vser0.0,chardev=data1,name=vivarium.logs"));
    CHECK(&ts, has_pair(&a, "-sandbox", QH_SANDBOX));
    qh_argv_free(&a);

    /* The most a spec can ask for still fits the argv. */
    s.n_shares = VV_MAX_SHARES;
    for (size_t i = 0; i < VV_MAX_SHARES; i++) {
        snprintf(s.shares[i].tag, sizeof s.shares[i].tag, "s%zu", i);
        s.shares[i].host_path = "/tmp/c";
    }
    s.n_disks = VV_MAX_DISKS;
    for (size_t i = 0; i < VV_MAX_DISKS; i++) {
        snprintf(s.disks[i].id, sizeof s.disks[i].id, "d%zu", i);
        s.disks[i].host_path = "/tmp/d.img";
        s.disks[i].read_only = 0;
        strcpy(s.disks[i].format, "raw");
    }
    s.n_data_channels = VV_MAX_DATA_CHANNELS;
    for (size_t i = 0; i < VV_MAX_DATA_CHANNELS; i++) {
        snprintf(s.data_channels[i].name, sizeof s.data_channels[i].name, "c%zu", i);
        s.data_channels[i].path = "/run/c.sock";
    }
    CHECK(&ts, qh_build_argv(&dv, &a) == 0);
    CHECK(&ts, has_pair(&a, "-device", "virtserialport,bus=vser0.0,chardev=data3,name=vivarium.c3"));
    CHECK(&ts, has_pair(&a, "-add-fd", "fd=24,set=4,opaque=disk-d3-rw"));
    qh_argv_free(&a);

    printf("qemu-helper: %d checks, %d failed\n", ts.checks, ts.failures);
    return ts.failures ? 1 : 0;
}
