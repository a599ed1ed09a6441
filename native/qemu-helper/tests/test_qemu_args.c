/* Unit tests for the QEMU command line: the flags that keep TCG boots fast and hang-free, and
 * QEMU option escaping of user paths (a comma in a path must not inject options). */
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
    qh_launch l = {&s, "/usr/bin/qemu-system-x86_64", "tcg", NULL, 3, 4, 5, QH_QBOOT};
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
    qh_launch k = {&s, "/usr/bin/qemu-system-aarch64", "kvm", NULL, 3, 4, 5, QH_QBOOT};
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
    qh_launch v = {&s, "/usr/bin/qemu-system-x86_64", "tcg", NULL, 3, 4, 5, NULL};
    CHECK(&ts, qh_build_argv(&v, &a) == 0);
    CHECK(&ts, has_pair(&a, "-object", "memory-backend-memfd,id=mem0,size=512M,share=on"));
    CHECK(&ts, has_pair(&a, "-numa", "node,memdev=mem0"));
    CHECK(&ts, has_pair(&a, "-chardev", "socket,id=vfs1,fd=6"));
    CHECK(&ts, has_pair(&a, "-device", "vhost-user-fs-pci,chardev=vfs0,tag=workspace"));
    CHECK(&ts, value_of(&a, "-fsdev", "") == NULL);
    qh_argv_free(&a);

    printf("qemu-helper: %d checks, %d failed\n", ts.checks, ts.failures);
    return ts.failures ? 1 : 0;
}
