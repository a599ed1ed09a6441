/* qh_qemu_args: builds QEMU's argv for a validated VmSpec. */
#ifndef QH_QEMU_ARGS_H
#define QH_QEMU_ARGS_H

#include <stdarg.h>

#include "../common/vv_spec.h"

#define QH_MAX_ARGS 192
/* The virtio-serial port the guest's SSH bridge listens on (guest-image's contract). */
#define QH_SERIAL_PORT_NAME "vivarium.ssh"
/* Data channel <name> is the virtio-serial port "vivarium.<name>" (PROTOCOL.md §5.2.2). */
#define QH_DATA_PORT_PREFIX "vivarium."
/* Platform parameters appended to the caller's cmdline. panic=-1 plus -no-reboot turns a
 * guest panic into a QEMU exit instead of a hang. cryptomgr.notests skips the crypto
 * self-tests, about 0.7 s of a TCG boot (measured on the 2-core CI box). */
#define QH_CMDLINE_X86_64 "console=ttyS0 panic=-1 cryptomgr.notests"
#define QH_CMDLINE_ARM64 "console=ttyAMA0 panic=-1 cryptomgr.notests"

/* QEMU's seccomp filter (see qh_qemu_args.c). */
#define QH_SANDBOX "on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny"
/* The TCG CPU model (see qh_qemu_args.c for why). */
#define QH_TCG_CPU "max"
/* qboot, shipped with QEMU: boots a PVH vmlinux ~0.5 s sooner than SeaBIOS under TCG. */
#define QH_QBOOT "/usr/share/qemu/qboot.rom"

/* Inputs of one launch. The fds are the numbers QEMU will see (set up by the child). */
typedef struct qh_launch {
    const vv_spec *spec;
    const char *qemu;
    const char *accel; /* "kvm" or "tcg" */
    const char *cpu;   /* -cpu model; NULL: "host" under KVM, QH_TCG_CPU under TCG */
    int qmp_fd, channel_fd;
    int vfs_first_fd; /* virtiofs: share i's vhost-user socket is fd vfs_first_fd + i */
    const char *firmware; /* x86 only: a minimal firmware (qboot) for -bios; NULL: QEMU's default */
    int data_first_fd; /* data channel i's listening socket is fd data_first_fd + i */
    /* Disk i is opened by the helper, never by path: fd disk_first_fd + 2i read-only and, for a
     * writable disk, fd disk_first_fd + 2i + 1 read-write (QEMU opens an image read-only first,
     * then for writing, and takes each from the fd set by access mode). */
    int disk_first_fd;
} qh_launch;

/* A NULL-terminated argv that owns its strings. */
typedef struct qh_argv {
    char *v[QH_MAX_ARGS];
    int n;
} qh_argv;

/* Builds the argv. 0, or -1 when memory ran out. */
int qh_build_argv(const qh_launch *l, qh_argv *a);
/* Frees the strings. */
void qh_argv_free(qh_argv *a);

#endif
