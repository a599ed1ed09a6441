/* qh_qemu_args: the QEMU command line for a VmSpec. Chosen for TCG boots that never hang:
 * q35 (microvm hangs ~1 in 4 under TCG calibrating the TSC), an ELF vmlinux booted through
 * PVH (no decompression under emulation), no default devices, no user config. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qh_qemu_args.h"

static int push(qh_argv *a, const char *s) {
    if (a->n + 1 >= QH_MAX_ARGS) return -1;
    char *d = vv_strdup(s);
    if (!d) return -1;
    a->v[a->n++] = d;
    a->v[a->n] = NULL;
    return 0;
}

static int pushf(qh_argv *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int pushf(qh_argv *a, const char *fmt, ...) {
    va_list ap;
    vv_buf b = {0};
    va_start(ap, fmt);
    vv_buf_vprintf(&b, fmt, ap);
    va_end(ap);
    int r = b.oom ? -1 : push(a, b.data);
    vv_buf_free(&b);
    return r;
}

/* QEMU option values escape a comma by doubling it. */
static void opt_escape(vv_buf *b, const char *s) {
    for (; *s; s++) {
        if (*s == ',') vv_buf_addc(b, ',');
        vv_buf_addc(b, *s);
    }
}

void qh_argv_free(qh_argv *a) {
    for (int i = 0; i < a->n; i++) free(a->v[i]);
    a->n = 0;
    a->v[0] = NULL;
}

int qh_build_argv(const qh_launch *l, qh_argv *a) {
    const vv_spec *s = l->spec;
    int arm = strcmp(s->arch, "arm64") == 0;
    int kvm = strcmp(l->accel, "kvm") == 0;
    vv_buf b = {0};
    int bad = 0;
    a->n = 0;
    a->v[0] = NULL;

    bad |= push(a, l->qemu);
    bad |= push(a, "-name");
    bad |= pushf(a, "vivarium-%s", s->name);
    bad |= push(a, "-accel");
    bad |= push(a, kvm ? "kvm" : "tcg");
    bad |= push(a, "-M");
    bad |= push(a, arm ? "virt" : "q35");
    bad |= push(a, "-cpu");
    bad |= push(a, l->cpu ? l->cpu : kvm ? "host" : QH_TCG_CPU);
    if (!arm && l->firmware) {
        bad |= push(a, "-bios");
        bad |= push(a, l->firmware);
    }
    bad |= push(a, "-smp");
    bad |= pushf(a, "%u", s->cpus);
    bad |= push(a, "-m");
    bad |= pushf(a, "%llu", (unsigned long long)s->memory_mib);
    bad |= push(a, "-nodefaults");
    bad |= push(a, "-no-user-config");
    /* QEMU parses guest-controlled data: seccomp forbids it to exec, fork, raise privileges
     * or use obsolete syscalls. */
    bad |= push(a, "-sandbox");
    bad |= push(a, QH_SANDBOX);
    bad |= push(a, "-display");
    bad |= push(a, "none");
    bad |= push(a, "-no-reboot");
    bad |= push(a, "-kernel");
    bad |= push(a, s->kernel);
    bad |= push(a, "-initrd");
    bad |= push(a, s->initrd);
    bad |= push(a, "-append");
    vv_buf_adds(&b, s->cmdline);
    if (b.len) vv_buf_addc(&b, ' ');
    /* Our platform parameters come last so they win over the caller's. */
    vv_buf_adds(&b, arm ? QH_CMDLINE_ARM64 : QH_CMDLINE_X86_64);
    bad |= push(a, b.data);
    vv_buf_clear(&b);

    vv_buf_adds(&b, "file,id=con0,append=on,path=");
    opt_escape(&b, s->console_log);
    bad |= push(a, "-chardev");
    bad |= push(a, b.data);
    vv_buf_clear(&b);
    bad |= push(a, "-serial");
    bad |= push(a, "chardev:con0");

    bad |= push(a, "-device");
    bad |= push(a, "virtio-rng-pci");

    /* Disks before anything else that is a block device (nothing else is one), in array
     * order: the guest's /dev/vda, /dev/vdb... The image comes from an fd set, so no host
     * path is parsed by QEMU's option syntax; readonly=on is the host-side guarantee. */
    for (size_t i = 0; i < s->n_disks; i++) {
        const vv_disk *d = &s->disks[i];
        bad |= push(a, "-add-fd");
        bad |= pushf(a, "fd=%d,set=%zu,opaque=disk-%s-ro", l->disk_first_fd + 2 * (int)i, i + 1, d->id);
        if (!d->read_only) {
            bad |= push(a, "-add-fd");
            bad |= pushf(a, "fd=%d,set=%zu,opaque=disk-%s-rw", l->disk_first_fd + 2 * (int)i + 1, i + 1, d->id);
        }
        bad |= push(a, "-drive");
        bad |= pushf(a, "file=/dev/fdset/%zu,if=none,id=disk-%s,format=%s%s", i + 1, d->id, d->format,
                     d->read_only ? ",readonly=on" : "");
        bad |= push(a, "-device");
        bad |= pushf(a, "virtio-blk-pci,drive=disk-%s,serial=%s", d->id, d->id);
    }

    int virtiofs = strcmp(s->share_kind, "virtiofs") == 0;
    if (virtiofs && s->n_shares) {
        /* vhost-user needs guest RAM that virtiofsd can map: a shared memfd backend. */
        bad |= push(a, "-object");
        bad |= pushf(a, "memory-backend-memfd,id=mem0,size=%lluM,share=on", (unsigned long long)s->memory_mib);
        bad |= push(a, "-numa");
        bad |= push(a, "node,memdev=mem0");
    }
    for (size_t i = 0; i < s->n_shares; i++) {
        const vv_share *sh = &s->shares[i];
        if (virtiofs) {
            bad |= push(a, "-chardev");
            bad |= pushf(a, "socket,id=vfs%zu,fd=%d", i, l->vfs_first_fd + (int)i);
            bad |= push(a, "-device");
            bad |= pushf(a, "vhost-user-fs-pci,chardev=vfs%zu,tag=%s", i, sh->tag);
            continue;
        }
        vv_buf_printf(&b, "local,id=fs%zu,security_model=none,multidevs=remap,path=", i);
        opt_escape(&b, sh->host_path);
        if (sh->read_only) vv_buf_adds(&b, ",readonly=on");
        bad |= push(a, "-fsdev");
        bad |= push(a, b.data);
        vv_buf_clear(&b);
        bad |= push(a, "-device");
        bad |= pushf(a, "virtio-9p-pci,fsdev=fs%zu,mount_tag=%s", i, sh->tag);
    }

    bad |= push(a, "-device");
    bad |= push(a, "virtio-serial-pci,id=vser0");
    bad |= push(a, "-chardev");
    bad |= pushf(a, "socket,id=ssh0,fd=%d,server=on,wait=off", l->channel_fd);
    bad |= push(a, "-device");
    bad |= push(a, "virtserialport,bus=vser0.0,chardev=ssh0,name=" QH_SERIAL_PORT_NAME);
    for (size_t i = 0; i < s->n_data_channels; i++) {
        bad |= push(a, "-chardev");
        bad |= pushf(a, "socket,id=data%zu,fd=%d,server=on,wait=off", i, l->data_first_fd + (int)i);
        bad |= push(a, "-device");
        bad |= pushf(a, "virtserialport,bus=vser0.0,chardev=data%zu,name=" QH_DATA_PORT_PREFIX "%s", i,
                     s->data_channels[i].name);
    }

    bad |= push(a, "-chardev");
    bad |= pushf(a, "socket,id=qmp0,fd=%d", l->qmp_fd);
    bad |= push(a, "-mon");
    bad |= push(a, "chardev=qmp0,mode=control");
    bad |= b.oom;
    vv_buf_free(&b);
    if (bad) { qh_argv_free(a); return -1; }
    return 0;
}
