/*
 * qh_virtiofs: one virtiofsd (Debian's /usr/lib/qemu/virtiofsd) per virtiofs share. It needs
 * real root, so hello offers virtiofs only to a root helper. virtiofsd itself cannot make a
 * share read-only; for readOnly shares the helper runs it in a private mount namespace where
 * the shared tree is a read-only bind mount, so the host kernel refuses every write.
 * No socket path is left anywhere: the helper creates the vhost-user listener, connects
 * QEMU's end to it, and unlinks the path before either process starts.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "qh.h"

#ifndef MOUNT_ATTR_RDONLY
#define MOUNT_ATTR_RDONLY 0x00000001
#endif
#ifndef AT_RECURSIVE
#define AT_RECURSIVE 0x8000
#endif

/* Same layout as linux/mount.h's struct mount_attr (not in older glibc headers). */
struct qh_mount_attr {
    uint64_t attr_set, attr_clr, propagation, userns_fd;
};

int qh_virtiofs_usable(void) {
    return geteuid() == 0 && access(QH_VIRTIOFSD, X_OK) == 0;
}

/* In the child: makes `dir` read-only in a new mount namespace, recursively. */
static int make_readonly(const char *dir, char *why, size_t cap) {
    if (unshare(CLONE_NEWNS) != 0) { snprintf(why, cap, "unshare(CLONE_NEWNS): %s", strerror(errno)); return -1; }
    if (mount("none", "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0) {
        snprintf(why, cap, "making / private: %s", strerror(errno));
        return -1;
    }
    if (mount(dir, dir, NULL, MS_BIND | MS_REC, NULL) != 0) {
        snprintf(why, cap, "bind-mounting %s: %s", dir, strerror(errno));
        return -1;
    }
#ifdef SYS_mount_setattr
    struct qh_mount_attr attr = {MOUNT_ATTR_RDONLY, 0, 0, 0};
    if (syscall(SYS_mount_setattr, AT_FDCWD, dir, AT_RECURSIVE, &attr, sizeof attr) == 0) return 0;
#endif
    /* Older kernels: the top mount only (submounts inside the share stay as they are). */
    if (mount(NULL, dir, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY, NULL) != 0) {
        snprintf(why, cap, "remounting %s read-only: %s", dir, strerror(errno));
        return -1;
    }
    return 0;
}

/* Starts virtiofsd for share i; on success stores its pid and QEMU's connected fd. */
static int start_one(qh *h, size_t i, vv_error *err) {
    qh_vm *vm = &h->vm;
    const vv_share *sh = &vm->spec.shares[i];
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    int n = snprintf(a.sun_path, sizeof a.sun_path, "%s.vfs%zu", vm->spec.channel_path, i);
    int lst = -1, cli = -1, rep[2] = {-1, -1};
    if (n < 0 || (size_t)n >= sizeof a.sun_path) {
        vv_error_set(err, VV_INVALID_ARGUMENT, "channelPath is too long to derive the virtiofs socket path");
        return -1;
    }
    lst = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    cli = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    unlink(a.sun_path);
    if (lst < 0 || cli < 0 || bind(lst, (struct sockaddr *)&a, sizeof a) != 0 || listen(lst, 1) != 0 ||
        connect(cli, (struct sockaddr *)&a, sizeof a) != 0 || pipe2(rep, O_CLOEXEC) != 0) {
        vv_error_set(err, VV_INTERNAL, "virtiofs share %s: cannot set up its socket: %s", sh->tag, strerror(errno));
        goto fail;
    }
    unlink(a.sun_path); /* both ends exist now; nothing stays on disk */
    char fdarg[32], src[4200];
    snprintf(fdarg, sizeof fdarg, "--fd=%d", lst);
    snprintf(src, sizeof src, "source=%s", sh->host_path);
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid == 0) {
        char why[512] = "";
        int devnull = qh_child_prepare(parent); /* virtiofsd dies with the helper */
        dup2(devnull, 0);
        dup2(devnull, 1); /* never our protocol stdout */
        fcntl(lst, F_SETFD, 0); /* virtiofsd inherits the listener */
        if (!sh->read_only || make_readonly(sh->host_path, why, sizeof why) == 0) {
            execl(QH_VIRTIOFSD, QH_VIRTIOFSD, fdarg, "-o", src, "-o", "cache=auto", "-o", "sandbox=namespace",
                  "-o", "log_level=warn", (char *)NULL);
            snprintf(why, sizeof why, "exec %s: %s", QH_VIRTIOFSD, strerror(errno));
        }
        ssize_t w = write(rep[1], why, strlen(why));
        (void)w;
        _exit(127);
    }
    close(rep[1]);
    rep[1] = -1;
    if (pid < 0) {
        vv_error_set(err, VV_INTERNAL, "virtiofs share %s: fork: %s", sh->tag, strerror(errno));
        goto fail;
    }
    /* The report pipe closes on a successful exec (CLOEXEC); text means the child failed. */
    char why[512];
    ssize_t got;
    do got = read(rep[0], why, sizeof why - 1);
    while (got < 0 && errno == EINTR);
    if (got > 0) {
        why[got] = '\0';
        waitpid(pid, NULL, 0);
        vv_error_set(err, VV_INTERNAL, "virtiofs share %s: %s", sh->tag, why);
        goto fail;
    }
    close(rep[0]);
    close(lst);
    vm->vfs_pid[i] = pid;
    vm->vfs_fd[i] = cli;
    vv_logf(&h->log, VV_LOG_INFO, "virtiofsd for share %s (%s%s): pid %d", sh->tag, sh->host_path,
            sh->read_only ? ", read-only bind mount" : "", (int)pid);
    return 0;
fail:
    for (int k = 0; k < 2; k++)
        if (rep[k] >= 0) close(rep[k]);
    if (lst >= 0) close(lst);
    if (cli >= 0) close(cli);
    return -1;
}

int qh_virtiofs_start(qh *h, vv_error *err) {
    if (strcmp(h->vm.spec.share_kind, "virtiofs") != 0) return 0;
    for (size_t i = 0; i < h->vm.spec.n_shares; i++) {
        if (start_one(h, i, err) != 0) {
            qh_virtiofs_stop(h);
            return -1;
        }
    }
    return 0;
}

void qh_virtiofs_close_fds(qh *h) {
    for (size_t i = 0; i < VV_MAX_SHARES; i++)
        if (h->vm.vfs_fd[i] > 0) {
            close(h->vm.vfs_fd[i]);
            h->vm.vfs_fd[i] = 0;
        }
}

void qh_virtiofs_stop(qh *h) {
    qh_virtiofs_close_fds(h);
    for (size_t i = 0; i < VV_MAX_SHARES; i++) {
        pid_t pid = h->vm.vfs_pid[i];
        if (pid <= 0) continue;
        kill(pid, SIGKILL);
        while (waitpid(pid, NULL, 0) < 0 && errno == EINTR) {
        }
        h->vm.vfs_pid[i] = 0;
    }
}
