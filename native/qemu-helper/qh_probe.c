/* qh_probe: what this machine can do, measured rather than assumed (hello's features). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "qh.h"

#define KVM_CREATE_VM_IOCTL 0xAE01 /* _IO(KVMIO, 0x01) from linux/kvm.h */

int64_t qh_now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Finds an executable in $VIVARIUM_QEMU_DIR (when set) or $PATH. */
static int find_binary(const char *name, char *out, size_t cap) {
    const char *dir_override = getenv("VIVARIUM_QEMU_DIR");
    const char *path = dir_override ? dir_override : getenv("PATH");
    if (!path) path = "/usr/bin:/bin";
    while (*path) {
        const char *sep = strchr(path, ':');
        size_t n = sep ? (size_t)(sep - path) : strlen(path);
        if (n > 0 && (size_t)snprintf(out, cap, "%.*s/%s", (int)n, path, name) < cap &&
            access(out, X_OK) == 0)
            return 1;
        path += n + (sep ? 1 : 0);
    }
    out[0] = '\0';
    return 0;
}

/* Starts QEMU with -accel kvm and the CPU model start would use, paused, and talks QMP to it
 * until query-status answers. The greeting alone proves nothing: on some hosts QEMU greets,
 * then aborts setting the vCPU registers ("failed to set MSR 0x10a"). */
static int probe_kvm_qemu(qh *h, const char *qemu, const char *machine, char *why, size_t cap) {
    int in[2] = {-1, -1}, out[2] = {-1, -1}, err[2] = {-1, -1};
    if (pipe2(in, O_CLOEXEC) != 0 || pipe2(out, O_CLOEXEC) != 0 || pipe2(err, O_CLOEXEC) != 0) {
        snprintf(why, cap, "pipe: %s", strerror(errno));
        for (int i = 0; i < 2; i++) { close(in[i]); close(out[i]); close(err[i]); }
        return 0;
    }
    pid_t pid = fork();
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        /* The probe may well abort (that is what it detects): no core file for that. */
        struct rlimit no_core = {0, 0};
        setrlimit(RLIMIT_CORE, &no_core);
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        dup2(in[0], 0);
        dup2(out[1], 1);
        dup2(err[1], 2);
        execl(qemu, qemu, "-accel", "kvm", "-cpu", "host", "-M", machine, "-nodefaults",
              "-no-user-config", "-display", "none", "-S", "-monitor", "none", "-serial", "none",
              "-qmp", "stdio", (char *)NULL);
        _exit(127);
    }
    close(in[0]);
    close(out[1]);
    close(err[1]);
    int ok = 0, greeted = 0;
    char buf[4096];
    size_t got = 0;
    int64_t deadline = qh_now_ms() + 5000;
    while (pid > 0 && qh_now_ms() < deadline) {
        struct pollfd p = {out[0], POLLIN, 0};
        if (poll(&p, 1, (int)(deadline - qh_now_ms())) <= 0) break;
        if (got >= sizeof buf - 1) got = 0; /* only the latest replies matter */
        ssize_t n = read(out[0], buf + got, sizeof buf - 1 - got);
        if (n <= 0) break;
        got += (size_t)n;
        buf[got] = '\0';
        if (!greeted && strstr(buf, "\"QMP\"")) {
            static const char cmds[] = "{\"execute\":\"qmp_capabilities\"}\n{\"execute\":\"query-status\"}\n";
            greeted = 1;
            got = 0;
            if (write(in[1], cmds, sizeof cmds - 1) != (ssize_t)(sizeof cmds - 1)) break;
        } else if (greeted && strstr(buf, "\"status\"")) {
            ok = 1;
            break;
        }
    }
    if (pid > 0) {
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
    }
    if (!ok) {
        ssize_t n = read(err[0], buf, sizeof buf - 1);
        buf[n > 0 ? n : 0] = '\0';
        char *nl = strchr(buf, '\n');
        if (nl) *nl = '\0';
        snprintf(why, cap, "QEMU with -accel kvm -cpu host failed: %.200s", buf[0] ? buf : "no QMP answer");
    }
    close(in[1]);
    close(out[0]);
    close(err[0]);
    vv_logf(&h->log, VV_LOG_INFO, "KVM probe: %s", ok ? "usable" : why);
    return ok;
}

static int kvm_usable(qh *h, char *why, size_t cap) {
    const char *forced = getenv("VIVARIUM_ACCEL");
    if (forced && strcmp(forced, "tcg") == 0) { snprintf(why, cap, "VIVARIUM_ACCEL=tcg"); return 0; }
    if (forced && strcmp(forced, "kvm") == 0) return 1;
    int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    if (fd < 0) { snprintf(why, cap, "/dev/kvm: %s", strerror(errno)); return 0; }
    int vm = ioctl(fd, KVM_CREATE_VM_IOCTL, 0);
    if (vm < 0) {
        snprintf(why, cap, "KVM_CREATE_VM: %s", strerror(errno));
        close(fd);
        return 0;
    }
    close(vm);
    close(fd);
    const char *machine = strcmp(h->feat.host_arch, "arm64") == 0 ? "virt" : "q35";
    return probe_kvm_qemu(h, h->feat.qemu_host, machine, why, cap);
}

void qh_probe(qh *h) {
    qh_features *f = &h->feat;
    if (f->probed) return;
    f->probed = 1;
    struct utsname u;
    uname(&u);
    int arm = strcmp(u.machine, "aarch64") == 0;
    f->host_arch = arm ? "arm64" : "x86_64";
    find_binary(arm ? "qemu-system-aarch64" : "qemu-system-x86_64", f->qemu_host, sizeof f->qemu_host);
    find_binary(arm ? "qemu-system-x86_64" : "qemu-system-aarch64", f->qemu_other, sizeof f->qemu_other);

    size_t na = 0, ng = 0;
    if (f->qemu_host[0]) {
        if (kvm_usable(h, f->kvm_note, sizeof f->kvm_note)) f->accels[na++] = "kvm";
        f->accels[na++] = "tcg";
        f->guest_archs[ng++] = f->host_arch;
    }
    /* A foreign-arch guest runs under TCG only; offered when its QEMU is installed. */
    if (f->qemu_other[0]) {
        f->guest_archs[ng++] = arm ? "x86_64" : "arm64";
        if (!na) f->accels[na++] = "tcg";
    }
    if (!ng)
        snprintf(f->unavailable, sizeof f->unavailable,
                 "QEMU is not installed: %s was not found; install the Debian package %s",
                 arm ? "qemu-system-aarch64" : "qemu-system-x86_64",
                 arm ? "qemu-system-arm" : "qemu-system-x86");
    f->share_kinds[0] = "9p";
    if (qh_virtiofs_usable()) f->share_kinds[1] = "virtiofs";
    f->channel_kinds[0] = "virtio-serial";
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    f->max_cpus = cpus > 0 ? (unsigned)cpus : 1;
    long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
    uint64_t mib = pages > 0 && page > 0 ? (uint64_t)pages * (uint64_t)page / 1048576 : 1024;
    /* Leave the host a quarter of its memory. */
    f->max_memory_mib = mib * 3 / 4 < 128 ? 128 : mib * 3 / 4;
}
