/* qh_vm: one QEMU process: launch, the QMP conversation, stop, and the exit bookkeeping. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "qh.h"
#include "qh_qemu_args.h"

/* The fd numbers QEMU sees (qh_launch describes each). */
#define CHILD_QMP_FD 3
#define CHILD_CHANNEL_FD 4
#define CHILD_VFS_FD 5 /* share i's vhost-user socket is CHILD_VFS_FD + i */
#define CHILD_DATA_FD (CHILD_VFS_FD + VV_MAX_SHARES)         /* data channel i: + i */
#define CHILD_DISK_FD (CHILD_DATA_FD + VV_MAX_DATA_CHANNELS) /* disk i: + 2i (ro), + 2i + 1 (rw) */

int qh_child_prepare(pid_t parent) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(126);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    signal(SIGPIPE, SIG_DFL);
    return open("/dev/null", O_RDWR);
}

/* One fd QEMU must see at a fixed number. */
typedef struct fd_map { int src, dst; } fd_map;
#define MAX_CHILD_FDS (3 + VV_MAX_SHARES + VV_MAX_DATA_CHANNELS + 2 * VV_MAX_DISKS)
/* Above every target number, so moving the sources there first means dup2 never clobbers one. */
#define CHILD_FD_PARKING 64

/*
 * In the child: the VM yields the CPU to the app's own windows. A background agent should never
 * make the window stutter, and under TCG one busy guest can keep both cores of a small machine
 * busy. QEMU gets its own session, hence its own scheduler autogroup (nice values act only inside
 * an autogroup), and that autogroup and QEMU itself get nice VIVARIUM_VM_NICE (0-19, default 10;
 * 0 keeps QEMU at the helper's priority). An idle host still gives the VM every free cycle.
 */
static void yield_cpu_to_the_app(void) {
    const char *v = getenv("VIVARIUM_VM_NICE");
    long n = 10;
    if (v && *v) {
        char *end;
        n = strtol(v, &end, 10);
        if (*end || n < 0 || n > 19) n = 10;
    }
    if (n == 0) return;
    if (setsid() >= 0) {
        int fd = open("/proc/self/autogroup", O_WRONLY | O_CLOEXEC);
        if (fd >= 0) {
            dprintf(fd, "%ld", n);
            close(fd);
        }
    }
    if (setpriority(PRIO_PROCESS, 0, (int)n) != 0) dprintf(2, "qemu-helper: setpriority: %s\n", strerror(errno));
}

/* In the child: arrange fds and signals, then exec QEMU. Never returns. */
static void exec_qemu(pid_t parent, char *const argv[], const fd_map *m, size_t n) {
    /* QEMU dies with the helper, whatever kills the helper (SIGKILL included). */
    int devnull = qh_child_prepare(parent);
    int parked[MAX_CHILD_FDS];
    if (devnull < 0 || n > MAX_CHILD_FDS) _exit(126);
    yield_cpu_to_the_app();
    for (size_t i = 0; i < n; i++)
        if ((parked[i] = fcntl(m[i].src, F_DUPFD_CLOEXEC, CHILD_FD_PARKING)) < 0) _exit(126);
    dup2(devnull, 0);
    dup2(devnull, 1); /* our stdout is the protocol: QEMU must never write to it */
    /* dup2 clears close-on-exec on the target: exactly the mapped fds reach QEMU. */
    for (size_t i = 0; i < n; i++)
        if (dup2(parked[i], m[i].dst) < 0) _exit(126);
    execv(argv[0], argv);
    dprintf(2, "exec %s: %s\n", argv[0], strerror(errno));
    _exit(127);
}

int qh_vm_launch(qh *h, vv_error *err) {
    qh_vm *vm = &h->vm;
    const vv_spec *s = &vm->spec;
    int is_host = strcmp(s->arch, h->feat.host_arch) == 0;
    const char *qemu = is_host ? h->feat.qemu_host : h->feat.qemu_other;
    snprintf(vm->accel, sizeof vm->accel, "%s", is_host ? h->feat.accels[0] : "tcg");

    /* The console log must be creatable by us (QEMU appends to it). */
    int con = open(s->console_log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    if (con < 0) {
        vv_error_set(err, VV_INVALID_ARGUMENT, "consoleLog: cannot open %s: %s", s->console_log, strerror(errno));
        vv_error_cause_int(err, "errno", errno);
        return -1;
    }
    close(con);

    qh_device_fds dev;
    if (qh_devices_open(s, &dev, err) != 0) return -1;
    int chan = qh_make_socket(s->channel_path, "channelPath", err);
    if (chan < 0) {
        qh_devices_close(&dev);
        qh_devices_unlink(s);
        return -1;
    }
    int sp[2] = {-1, -1}, ep[2] = {-1, -1};
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) != 0 || pipe2(ep, O_CLOEXEC) != 0) {
        vv_error_set(err, VV_INTERNAL, "cannot create the QMP socket pair: %s", strerror(errno));
        goto fail;
    }
    qh_argv argv;
    /* VIVARIUM_QEMU_CPU overrides the CPU model (diagnosis and benchmarks). */
    qh_launch l = {s, qemu, vm->accel, getenv("VIVARIUM_QEMU_CPU"), CHILD_QMP_FD, CHILD_CHANNEL_FD, CHILD_VFS_FD,
                   access(QH_QBOOT, R_OK) == 0 ? QH_QBOOT : NULL, CHILD_DATA_FD, CHILD_DISK_FD};
    if (qh_build_argv(&l, &argv) != 0) {
        vv_error_set(err, VV_INTERNAL, "out of memory building the QEMU command line");
        goto fail;
    }
    vv_buf cmd = {0};
    for (int i = 0; i < argv.n; i++) vv_buf_printf(&cmd, "%s%s", i ? " " : "", argv.v[i]);
    vv_logf(&h->log, VV_LOG_INFO, "launching: %s", vv_buf_str(&cmd));
    vv_buf_free(&cmd);

    if (qh_virtiofs_start(h, err) != 0) {
        qh_argv_free(&argv);
        goto fail;
    }
    size_t nvfs = strcmp(s->share_kind, "virtiofs") == 0 ? s->n_shares : 0;
    fd_map map[MAX_CHILD_FDS];
    size_t nmap = 0;
    map[nmap++] = (fd_map){ep[1], 2};
    map[nmap++] = (fd_map){sp[1], CHILD_QMP_FD};
    map[nmap++] = (fd_map){chan, CHILD_CHANNEL_FD};
    for (size_t i = 0; i < nvfs; i++) map[nmap++] = (fd_map){vm->vfs_fd[i], CHILD_VFS_FD + (int)i};
    for (size_t i = 0; i < s->n_data_channels; i++) map[nmap++] = (fd_map){dev.data[i], CHILD_DATA_FD + (int)i};
    for (size_t i = 0; i < s->n_disks; i++) {
        map[nmap++] = (fd_map){dev.disk_ro[i], CHILD_DISK_FD + 2 * (int)i};
        if (dev.disk_rw[i] >= 0) map[nmap++] = (fd_map){dev.disk_rw[i], CHILD_DISK_FD + 2 * (int)i + 1};
    }
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid == 0) exec_qemu(parent, argv.v, map, nmap);
    int fork_errno = errno;
    qh_argv_free(&argv);
    qh_virtiofs_close_fds(h); /* QEMU holds its ends now */
    qh_devices_close(&dev);
    if (pid < 0) {
        vv_error_set(err, VV_INTERNAL, "fork: %s", strerror(fork_errno));
        vv_error_cause_int(err, "errno", fork_errno);
        qh_virtiofs_stop(h);
        goto fail;
    }
    close(sp[1]);
    close(ep[1]);
    close(chan); /* QEMU holds the listener now */
    vm->pid = pid;
    vm->qmp_fd = sp[0];
    vm->stderr_fd = ep[0];
    fcntl(vm->qmp_fd, F_SETFL, O_NONBLOCK);
    fcntl(vm->stderr_fd, F_SETFL, O_NONBLOCK);
    vm->qmp_phase = QMP_GREETING;
    vm->started_ms = qh_now_ms();
    vm->deadline_ms = vm->started_ms + QH_START_DEADLINE_MS;
    return 0;
fail:
    for (int i = 0; i < 2; i++) {
        if (sp[i] >= 0) close(sp[i]);
        if (ep[i] >= 0) close(ep[i]);
    }
    close(chan);
    unlink(s->channel_path);
    qh_devices_close(&dev);
    qh_devices_unlink(s);
    return -1;
}

void qh_vm_write_status(qh *h, vj_writer *w) {
    qh_vm *vm = &h->vm;
    vj_key(w, "state");
    vj_str(w, qh_state_name(h->state));
    if (h->state == QH_STOPPED) return;
    vj_key(w, "accelerator");
    vj_str(w, vm->accel);
    vj_key(w, "pid");
    vj_int(w, vm->pid);
    vj_key(w, "uptimeMs");
    vj_int(w, qh_now_ms() - vm->started_ms);
}

void qh_vm_on_stderr(qh *h) {
    qh_vm *vm = &h->vm;
    char buf[4096];
    for (;;) {
        ssize_t n = read(vm->stderr_fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) {
                close(vm->stderr_fd);
                vm->stderr_fd = -1;
            }
            return;
        }
        vv_logf(&h->log, VV_LOG_INFO, "qemu: %.*s", (int)(buf[n - 1] == '\n' ? n - 1 : n), buf);
        /* Keep the last QH_STDERR_TAIL bytes for error causes. */
        size_t k = (size_t)n;
        if (k >= QH_STDERR_TAIL) {
            memcpy(vm->stderr_tail, buf + k - QH_STDERR_TAIL, QH_STDERR_TAIL);
            vm->tail_len = QH_STDERR_TAIL;
        } else {
            if (vm->tail_len + k > QH_STDERR_TAIL) {
                size_t drop = vm->tail_len + k - QH_STDERR_TAIL;
                memmove(vm->stderr_tail, vm->stderr_tail + drop, vm->tail_len - drop);
                vm->tail_len -= drop;
            }
            memcpy(vm->stderr_tail + vm->tail_len, buf, k);
            vm->tail_len += k;
        }
    }
}

void qh_vm_kill(qh *h) {
    if (h->vm.pid > 0) kill(h->vm.pid, SIGKILL);
}

void qh_vm_request_powerdown(qh *h, int64_t timeout_ms) {
    h->vm.deadline_ms = qh_now_ms() + timeout_ms;
    if (timeout_ms == 0 || h->vm.qmp_fd < 0) {
        h->vm.forced = 1;
        qh_vm_kill(h);
        return;
    }
    qh_qmp_send(h, "{\"execute\":\"system_powerdown\"}\n");
    h->vm.next_press_ms = qh_now_ms() + QH_POWERDOWN_REPEAT_MS;
}

int64_t qh_vm_next_timer(const qh *h) {
    int64_t d = h->vm.deadline_ms, p = h->vm.next_press_ms;
    if (!d) return p;
    if (!p) return d;
    return d < p ? d : p;
}

void qh_vm_on_timers(qh *h) {
    int64_t now = qh_now_ms();
    if (h->vm.deadline_ms && now >= h->vm.deadline_ms) {
        h->vm.next_press_ms = 0;
        qh_vm_on_deadline(h);
    } else if (h->vm.next_press_ms && now >= h->vm.next_press_ms && h->vm.qmp_fd >= 0) {
        /* A press that lands while the guest is still booting is lost (no ACPI handler yet),
         * so a graceful stop presses the button again until the deadline. */
        qh_qmp_send(h, "{\"execute\":\"system_powerdown\"}\n");
        h->vm.next_press_ms = now + QH_POWERDOWN_REPEAT_MS;
    }
}

void qh_vm_on_deadline(qh *h) {
    qh_vm *vm = &h->vm;
    vm->deadline_ms = 0;
    if (h->state == QH_STARTING) {
        vv_logf(&h->log, VV_LOG_WARN, "QEMU did not report running within %d ms; killing it",
                QH_START_DEADLINE_MS);
        vm->start_timed_out = 1;
    } else {
        vv_logf(&h->log, VV_LOG_INFO, "graceful stop timed out; forcing");
    }
    vm->forced = 1;
    qh_vm_kill(h);
}

/* Last line of the stderr tail, for one-sentence messages. */
static void tail_last_line(const qh_vm *vm, char *out, size_t cap) {
    size_t end = vm->tail_len;
    while (end > 0 && (vm->stderr_tail[end - 1] == '\n' || vm->stderr_tail[end - 1] == '\r')) end--;
    size_t start = end;
    while (start > 0 && vm->stderr_tail[start - 1] != '\n') start--;
    snprintf(out, cap, "%.*s", (int)(end - start), vm->stderr_tail + start);
}

void qh_vm_on_exit(qh *h, int status) {
    qh_vm *vm = &h->vm;
    if (vm->stderr_fd >= 0) qh_vm_on_stderr(h); /* drain what QEMU said last */
    if (vm->qmp_fd >= 0) qh_vm_on_qmp(h);
    int exited = WIFEXITED(status);
    int code = exited ? WEXITSTATUS(status) : -1;
    char last[256];
    tail_last_line(vm, last, sizeof last);

    const char *reason;
    char message[512];
    if (vm->forced) {
        reason = "forced";
        snprintf(message, sizeof message, "%s", vm->start_timed_out ? "QEMU did not start in time and was killed"
                                                : vm->stop_requested ? "the VM was forced off"
                                                                      : "the VM was forced off as the helper exits");
    } else if (vm->stop_requested) {
        reason = "stopped";
        snprintf(message, sizeof message, "the guest shut down on request");
    } else if (vm->exit_reason[0]) {
        reason = vm->exit_reason;
        snprintf(message, sizeof message, "%s", vm->exit_message);
    } else {
        reason = "crashed";
        if (exited)
            snprintf(message, sizeof message, "QEMU exited with status %d%s%s", code, last[0] ? ": " : "", last);
        else
            snprintf(message, sizeof message, "QEMU was killed by signal %d", WTERMSIG(status));
    }
    vv_logf(&h->log, VV_LOG_INFO, "VM %s ended: %s (%s)", vm->spec.name, reason, message);

    vv_buf b = {0};
    vj_writer w;
    vj_writer_init(&w, &b);
    vj_key(&w, "reason"); vj_str(&w, reason);
    vj_key(&w, "exitCode");
    if (exited) vj_int(&w, code); else vj_null(&w);
    vj_key(&w, "message"); vj_str(&w, message);
    vv_proto_event(&h->proto, "exit", b.data);
    vv_buf_free(&b);

    if (vm->qmp_fd >= 0) close(vm->qmp_fd);
    if (vm->stderr_fd >= 0) close(vm->stderr_fd);
    qh_virtiofs_stop(h);
    unlink(vm->spec.channel_path);
    qh_devices_unlink(&vm->spec);
    qh_set_state(h, QH_STOPPED);

    if (vm->has_start) {
        vv_error e = {0};
        if (vm->start_timed_out)
            vv_error_set(&e, VV_TIMEOUT, "start: QEMU did not report the VM running within %d s",
                         QH_START_DEADLINE_MS / 1000);
        else if (vm->stop_requested)
            vv_error_set(&e, VV_INVALID_STATE, "start: stopped while starting");
        else if (vm->helper_exiting)
            vv_error_set(&e, VV_INVALID_STATE, "start: cancelled because the helper is exiting (stdin closed or a signal)");
        else
            vv_error_set(&e, VV_INTERNAL, "start: QEMU exited before the VM was running%s%s",
                         last[0] ? ": " : "", last);
        if (exited) vv_error_cause_int(&e, "exitCode", code);
        if (vm->tail_len) vv_error_cause_strn(&e, "stderr", vm->stderr_tail, vm->tail_len);
        vv_proto_reply_error(&h->proto, 1, vm->start_id, &e);
        vv_error_free(&e);
    }
    if (vm->has_stop) {
        char res[64];
        snprintf(res, sizeof res, "{\"state\":\"stopped\",\"forced\":%s}", vm->forced ? "true" : "false");
        vv_proto_reply_result(&h->proto, vm->stop_id, res);
    }
    vv_lines_free(&vm->qmp_lines);
    vv_spec_free(&vm->spec);
    memset(vm, 0, sizeof *vm);
    vm->qmp_fd = vm->stderr_fd = -1;
}
