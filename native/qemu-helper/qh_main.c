/* qemu-helper main: the poll loop, the protocol methods and the "never outlive us" rules. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "qh.h"

typedef struct out_ctx { int dead; } out_ctx;

static void emit_stdout(void *ctx, const char *line, size_t len) {
    out_ctx *o = ctx;
    size_t off = 0;
    while (!o->dead && off < len) {
        ssize_t w = write(1, line + off, len - off);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) { o->dead = 1; break; } /* main is gone; stdin EOF will end us */
        off += (size_t)w;
    }
}

static void log_stderr(void *ctx, const char *line, size_t len) {
    (void)ctx;
    ssize_t r = write(2, line, len);
    (void)r; /* nothing sensible to do when stderr is gone */
}

const char *qh_state_name(qh_state s) {
    switch (s) {
    case QH_STOPPED: return "stopped";
    case QH_STARTING: return "starting";
    case QH_RUNNING: return "running";
    case QH_STOPPING: return "stopping";
    }
    return "stopped";
}

void qh_set_state(qh *h, qh_state s) {
    char m[48];
    h->state = s;
    snprintf(m, sizeof m, "\"state\":\"%s\"", qh_state_name(s));
    vv_proto_event(&h->proto, "state", m);
}

static void write_list(vj_writer *w, const char *key, const char *const *list) {
    vj_key(w, key);
    vj_arr_begin(w);
    for (; *list; list++) vj_str(w, *list);
    vj_arr_end(w);
}

/* Disk image formats QEMU attaches for us (PROTOCOL.md §5.2.1): raw only, the one format every
 * backend shares; QEMU's format probing is never used (format= is always explicit). */
static const char *const qh_disk_formats[] = {"raw", NULL};

static vv_disposition m_hello(void *app, const vv_request *req, vj_writer *w, vv_error *err) {
    qh *h = app;
    (void)req; (void)err;
    qh_probe(h);
    const qh_features *f = &h->feat;
    vj_obj_begin(w);
    vj_key(w, "protocol"); vj_int(w, VV_PROTOCOL_VERSION);
    vj_key(w, "helper"); vj_str(w, "qemu-helper");
    vj_key(w, "version"); vj_str(w, QH_VERSION);
    vj_key(w, "hostArch"); vj_str(w, f->host_arch);
    vj_key(w, "available"); vj_bool(w, f->unavailable[0] == '\0');
    vj_key(w, "unavailableReason");
    if (f->unavailable[0]) vj_str(w, f->unavailable); else vj_null(w);
    vj_key(w, "features");
    vj_obj_begin(w);
    write_list(w, "accelerators", f->accels);
    write_list(w, "guestArchs", f->guest_archs);
    write_list(w, "shareKinds", f->share_kinds);
    vj_key(w, "readOnlyShares"); vj_bool(w, 1);
    write_list(w, "channelKinds", f->channel_kinds);
    vj_key(w, "consoleLog"); vj_bool(w, 1);
    vj_key(w, "snapshots"); vj_bool(w, 0);
    vj_key(w, "maxCpus"); vj_int(w, f->max_cpus);
    vj_key(w, "maxMemoryMiB"); vj_int(w, (int64_t)f->max_memory_mib);
    write_list(w, "diskFormats", qh_disk_formats);
    vj_key(w, "readOnlyDisks"); vj_bool(w, 1);
    vj_key(w, "dataChannels"); vj_int(w, VV_MAX_DATA_CHANNELS);
    vj_obj_end(w);
    vj_obj_end(w);
    return VV_REPLY_NOW;
}

static int pf_abs(void *ctx, const char *p) { (void)ctx; return p[0] == '/'; }

static vv_path_kind pf_kind(void *ctx, const char *p, int *err) {
    (void)ctx;
    struct stat st;
    if (stat(p, &st) != 0) {
        *err = errno;
        return errno == ENOENT || errno == ENOTDIR ? VV_PATH_MISSING : VV_PATH_ERROR;
    }
    if (S_ISREG(st.st_mode)) return VV_PATH_FILE;
    if (S_ISDIR(st.st_mode)) return VV_PATH_DIR;
    return VV_PATH_OTHER;
}

/* lstat for the channel path: a dangling symlink there also counts as "exists". */
static int pf_channel(void *ctx, const char *p, vv_error *err);

static vv_disposition m_start(void *app, const vv_request *req, vj_writer *w, vv_error *err) {
    qh *h = app;
    (void)w;
    if (h->state != QH_STOPPED) {
        vv_error_set(err, VV_INVALID_STATE, "start: the VM is %s; start is allowed only when it is stopped",
                     qh_state_name(h->state));
        return VV_REPLY_NOW;
    }
    qh_probe(h);
    /* Validation comes first, so bad input gets the same answer on every machine; a helper
     * whose hypervisor is unavailable still checks the spec as if the host arch could boot. */
    const char *host_only[2] = {h->feat.host_arch, NULL};
    int unavailable = h->feat.unavailable[0] != '\0';
    const vv_limits lim = {h->feat.host_arch, unavailable ? host_only : h->feat.guest_archs,
                           h->feat.share_kinds, h->feat.channel_kinds, h->feat.max_cpus, h->feat.max_memory_mib};
    const vv_platform pf = {h, pf_abs, pf_kind, pf_channel};
    memset(&h->vm, 0, sizeof h->vm);
    h->vm.qmp_fd = h->vm.stderr_fd = -1;
    /* Read-only disks are enforced by the helper opening the image O_RDONLY and readonly=on. */
    const vv_device_limits dev = {qh_disk_formats, 1, VV_MAX_DATA_CHANNELS};
    if (vv_spec_parse_with(req->params, &lim, &dev, &pf, &h->vm.spec, err) != 0) return VV_REPLY_NOW;
    if (unavailable) {
        vv_spec_free(&h->vm.spec);
        vv_error_set(err, VV_HYPERVISOR_UNAVAILABLE, "start: %s", h->feat.unavailable);
        return VV_REPLY_NOW;
    }
    qh_set_state(h, QH_STARTING);
    if (qh_vm_launch(h, err) != 0) {
        vv_spec_free(&h->vm.spec);
        qh_set_state(h, QH_STOPPED);
        return VV_REPLY_NOW;
    }
    h->vm.has_start = 1;
    h->vm.start_id = req->id;
    return VV_REPLY_LATER;
}

static vv_disposition m_stop(void *app, const vv_request *req, vj_writer *w, vv_error *err) {
    qh *h = app;
    const vj_value *force = vj_get(req->params, "force"), *tmo = vj_get(req->params, "timeoutMs");
    uint64_t timeout = 10000;
    if (force && force->type != VJ_BOOL) {
        vv_error_set(err, VV_INVALID_ARGUMENT, "stop: force must be a boolean");
        return VV_REPLY_NOW;
    }
    if (tmo && (!vj_as_uint(tmo, &timeout) || timeout > 600000)) {
        vv_error_set(err, VV_INVALID_ARGUMENT, "stop: timeoutMs must be an integer in 0..600000");
        return VV_REPLY_NOW;
    }
    if (h->state == QH_STOPPED) {
        vj_obj_begin(w);
        vj_key(w, "state"); vj_str(w, "stopped");
        vj_key(w, "forced"); vj_bool(w, 0);
        vj_obj_end(w);
        return VV_REPLY_NOW;
    }
    if (h->vm.has_stop) {
        vv_error_set(err, VV_INVALID_STATE, "stop: a stop is already in progress");
        return VV_REPLY_NOW;
    }
    h->vm.has_stop = 1;
    h->vm.stop_id = req->id;
    h->vm.stop_requested = 1;
    if (h->state == QH_STARTING || (force && force->u.boolean)) {
        /* Cancelling a start is always forceful: there is no guest to ask yet. */
        h->vm.forced = 1;
        if (h->state == QH_RUNNING) qh_set_state(h, QH_STOPPING);
        qh_vm_kill(h);
    } else {
        qh_set_state(h, QH_STOPPING);
        qh_vm_request_powerdown(h, (int64_t)timeout);
    }
    return VV_REPLY_LATER;
}

static vv_disposition m_status(void *app, const vv_request *req, vj_writer *w, vv_error *err) {
    (void)req; (void)err;
    vj_obj_begin(w);
    qh_vm_write_status(app, w);
    vj_obj_end(w);
    return VV_REPLY_NOW;
}

static int pf_channel(void *ctx, const char *p, vv_error *err) {
    (void)ctx;
    struct stat st;
    char parent[4096];
    if (p[0] != '/') {
        vv_error_set(err, VV_INVALID_ARGUMENT, "channelPath: \"%.300s\" is not an absolute path", p);
        return -1;
    }
    if (strlen(p) > VV_MAX_CHANNEL_PATH) {
        vv_error_set(err, VV_INVALID_ARGUMENT, "channelPath is %zu bytes; unix sockets allow at most %d",
                     strlen(p), VV_MAX_CHANNEL_PATH);
        return -1;
    }
    snprintf(parent, sizeof parent, "%s", p);
    char *slash = strrchr(parent, '/');
    if (slash == parent) slash[1] = '\0'; else *slash = '\0';
    if (stat(parent, &st) != 0 || !S_ISDIR(st.st_mode)) {
        int e = errno;
        vv_error_set(err, VV_NOT_FOUND, "channelPath: the directory %.300s does not exist", parent);
        vv_error_cause_str(err, "path", parent);
        if (e) vv_error_cause_int(err, "errno", e);
        return -1;
    }
    if (lstat(p, &st) == 0) {
        vv_error_set(err, VV_INVALID_ARGUMENT, "channelPath: %.300s already exists", p);
        vv_error_cause_str(err, "path", p);
        return -1;
    }
    return 0;
}

static void on_input_line(void *ctx, const char *line, size_t len) {
    qh *h = ctx;
    if (!line) vv_proto_handle_oversized(&h->proto);
    else vv_proto_handle_line(&h->proto, line, len);
}

/* Reaps QEMU if it exited; blocking waits for it (it was SIGKILLed). */
static void reap(qh *h, int block) {
    if (h->state == QH_STOPPED || h->vm.pid <= 0) return;
    int status;
    pid_t r;
    do r = waitpid(h->vm.pid, &status, block ? 0 : WNOHANG);
    while (r < 0 && errno == EINTR);
    if (r == h->vm.pid) qh_vm_on_exit(h, status);
}

/* stdin EOF, SIGTERM/SIGINT/SIGHUP or parent death: force the VM off and leave. */
static void shut_down(qh *h, const char *why) {
    vv_logf(&h->log, VV_LOG_INFO, "%s: stopping", why);
    if (h->state != QH_STOPPED && h->vm.pid > 0) {
        h->vm.forced = 1;
        h->vm.helper_exiting = 1;
        qh_vm_kill(h);
        reap(h, 1);
    }
    h->quitting = 1;
}

static int run(qh *h, int sigfd) {
    vv_lines input = {0};
    char buf[65536];
    int stdin_open = 1;
    while (!h->quitting) {
        struct pollfd p[4];
        int n = 0, i_in = -1, i_sig, i_qmp = -1, i_err = -1;
        if (stdin_open) { i_in = n; p[n++] = (struct pollfd){0, POLLIN, 0}; }
        i_sig = n; p[n++] = (struct pollfd){sigfd, POLLIN, 0};
        if (h->state != QH_STOPPED && h->vm.qmp_fd >= 0) { i_qmp = n; p[n++] = (struct pollfd){h->vm.qmp_fd, POLLIN, 0}; }
        if (h->state != QH_STOPPED && h->vm.stderr_fd >= 0) { i_err = n; p[n++] = (struct pollfd){h->vm.stderr_fd, POLLIN, 0}; }
        int timeout = -1;
        int64_t next = h->state != QH_STOPPED ? qh_vm_next_timer(h) : 0;
        if (next) {
            int64_t left = next - qh_now_ms();
            timeout = left < 0 ? 0 : (int)left;
        }
        int r = poll(p, (nfds_t)n, timeout);
        if (r < 0 && errno != EINTR) { vv_logf(&h->log, VV_LOG_ERROR, "poll: %s", strerror(errno)); break; }
        if (h->state != QH_STOPPED) qh_vm_on_timers(h);
        if (r <= 0) continue;
        if (i_qmp >= 0 && p[i_qmp].revents) qh_vm_on_qmp(h);
        if (i_err >= 0 && p[i_err].revents) qh_vm_on_stderr(h);
        if (p[i_sig].revents) {
            struct signalfd_siginfo si;
            while (read(sigfd, &si, sizeof si) == (ssize_t)sizeof si) {
                if (si.ssi_signo == SIGCHLD) reap(h, 0);
                else { shut_down(h, strsignal((int)si.ssi_signo)); break; }
            }
        }
        if (!h->quitting && i_in >= 0 && p[i_in].revents) {
            ssize_t got = read(0, buf, sizeof buf);
            if (got > 0) vv_lines_feed(&input, buf, (size_t)got, on_input_line, h);
            else if (got == 0 || (errno != EINTR && errno != EAGAIN)) {
                stdin_open = 0;
                shut_down(h, "stdin closed");
            }
        }
    }
    vv_lines_free(&input);
    return 0;
}

int main(int argc, char **argv) {
    (void)argv;
    if (argc > 1) {
        fprintf(stderr, "qemu-helper takes no arguments; it speaks the Vivarium helper protocol on stdin/stdout\n");
        return 2;
    }
    static const vv_method methods[] = {
        {"hello", m_hello}, {"start", m_start}, {"stop", m_stop}, {"status", m_status}};
    static qh h;
    static out_ctx out;
    umask(077); /* everything we create (sockets, logs) is private to the user */
    pid_t parent = getppid();
    /* Die with main: PR_SET_PDEATHSIG delivers SIGTERM, handled like stdin EOF. */
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    h.log = (vv_log){"qemu-helper", vv_log_level_parse(getenv("VIVARIUM_LOG_LEVEL"), VV_LOG_INFO), log_stderr, NULL};
    h.proto = (vv_proto){methods, sizeof methods / sizeof *methods, &h, emit_stdout, &out, &h.log, 0};
    h.vm.qmp_fd = h.vm.stderr_fd = -1;
    signal(SIGPIPE, SIG_IGN);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGCHLD);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    sigprocmask(SIG_BLOCK, &set, NULL);
    int sigfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
    if (sigfd < 0) { perror("qemu-helper: signalfd"); return 1; }
    if (getppid() != parent) { vv_logf(&h.log, VV_LOG_INFO, "parent already gone"); return 0; }
    vv_logf(&h.log, VV_LOG_INFO, "qemu-helper %s ready (pid %d)", QH_VERSION, (int)getpid());
    run(&h, sigfd);
    close(sigfd);
    return 0;
}
