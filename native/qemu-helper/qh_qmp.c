/* qh_qmp: the QMP conversation with QEMU: capabilities, query-status, and its events. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "qh.h"

void qh_qmp_send(qh *h, const char *json) {
    size_t n = strlen(json), off = 0;
    while (off < n) {
        ssize_t w = write(h->vm.qmp_fd, json + off, n - off);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) { vv_logf(&h->log, VV_LOG_WARN, "QMP write failed: %s", strerror(errno)); return; }
        off += (size_t)w;
    }
}

/* QEMU reports the VM running: publish the channel, then answer start. */
static void became_running(qh *h) {
    qh_vm *vm = &h->vm;
    vv_buf b = {0};
    vj_writer w;
    vm->running_ms = qh_now_ms();
    vm->deadline_ms = 0;
    vj_writer_init(&w, &b);
    vj_key(&w, "kind");
    vj_str(&w, vm->spec.channel_kind);
    vj_key(&w, "path");
    vj_str(&w, vm->spec.channel_path);
    vv_proto_event(&h->proto, "channel", b.data);
    qh_set_state(h, QH_RUNNING);
    vv_buf_clear(&b);
    vj_writer_init(&w, &b);
    vj_obj_begin(&w);
    vj_key(&w, "state"); vj_str(&w, "running");
    vj_key(&w, "accelerator"); vj_str(&w, vm->accel);
    vj_key(&w, "channel");
    vj_obj_begin(&w);
    vj_key(&w, "kind"); vj_str(&w, vm->spec.channel_kind);
    vj_key(&w, "path"); vj_str(&w, vm->spec.channel_path);
    vj_obj_end(&w);
    vj_key(&w, "pid"); vj_int(&w, vm->pid);
    if (vm->spec.n_data_channels) {
        /* Their listeners were handed to QEMU before it started: they accept connections now. */
        vj_key(&w, "dataChannels");
        vj_arr_begin(&w);
        for (size_t i = 0; i < vm->spec.n_data_channels; i++) {
            vj_obj_begin(&w);
            vj_key(&w, "name"); vj_str(&w, vm->spec.data_channels[i].name);
            vj_key(&w, "kind"); vj_str(&w, vm->spec.channel_kind);
            vj_key(&w, "path"); vj_str(&w, vm->spec.data_channels[i].path);
            vj_obj_end(&w);
        }
        vj_arr_end(&w);
    }
    vj_obj_end(&w);
    vm->has_start = 0;
    vv_logf(&h->log, VV_LOG_INFO, "VM %s running after %lld ms (pid %d, %s)", vm->spec.name,
            (long long)(vm->running_ms - vm->started_ms), (int)vm->pid, vm->accel);
    vv_proto_reply_result(&h->proto, vm->start_id, b.data);
    vv_buf_free(&b);
}

static void on_qmp_event(qh *h, const vj_value *msg, const char *name) {
    qh_vm *vm = &h->vm;
    vv_logf(&h->log, VV_LOG_INFO, "QMP event %s", name);
    if (strcmp(name, "SHUTDOWN") == 0) {
        const vj_value *reason = vj_get(vj_get(msg, "data"), "reason");
        const char *r = vj_is_cstring(reason) ? reason->u.string.s : "";
        if (strcmp(r, "guest-shutdown") == 0) {
            snprintf(vm->exit_reason, sizeof vm->exit_reason, "poweroff");
            snprintf(vm->exit_message, sizeof vm->exit_message, "the guest powered off");
        } else if (strcmp(r, "guest-reset") == 0) {
            snprintf(vm->exit_reason, sizeof vm->exit_reason, "crashed");
            snprintf(vm->exit_message, sizeof vm->exit_message,
                     "the guest reset (a kernel panic or a reboot; -no-reboot ended the VM)");
        } else if (strcmp(r, "guest-panic") == 0) {
            snprintf(vm->exit_reason, sizeof vm->exit_reason, "crashed");
            snprintf(vm->exit_message, sizeof vm->exit_message, "the guest kernel panicked");
        }
    } else if (strcmp(name, "GUEST_PANICKED") == 0) {
        snprintf(vm->exit_reason, sizeof vm->exit_reason, "crashed");
        snprintf(vm->exit_message, sizeof vm->exit_message, "the guest kernel panicked");
    }
}

static void on_qmp_line(void *ctx, const char *line, size_t len) {
    qh *h = ctx;
    qh_vm *vm = &h->vm;
    vj_doc d;
    if (!line || vj_parse(&d, line, len) != 0) {
        if (line) vj_doc_free(&d);
        vv_logf(&h->log, VV_LOG_WARN, "QMP sent an unreadable line");
        return;
    }
    const vj_value *ev = vj_get(d.root, "event"), *ret = vj_get(d.root, "return");
    if (vj_is_cstring(ev)) {
        on_qmp_event(h, d.root, ev->u.string.s);
    } else if (vj_get(d.root, "QMP") && vm->qmp_phase == QMP_GREETING) {
        vm->qmp_phase = QMP_CAPS;
        qh_qmp_send(h, "{\"execute\":\"qmp_capabilities\"}\n");
    } else if (ret && vm->qmp_phase == QMP_CAPS) {
        vm->qmp_phase = QMP_QUERY;
        qh_qmp_send(h, "{\"execute\":\"query-status\"}\n");
    } else if (ret && vm->qmp_phase == QMP_QUERY) {
        vm->qmp_phase = QMP_READY;
        const vj_value *st = vj_get(ret, "status");
        vv_logf(&h->log, VV_LOG_INFO, "QMP status: %s", vj_is_cstring(st) ? st->u.string.s : "?");
        if (h->state == QH_STARTING && vm->has_start) became_running(h);
    } else if (vj_get(d.root, "error")) {
        vv_logf(&h->log, VV_LOG_WARN, "QMP error: %.*s", (int)(len > 300 ? 300 : len), line);
    }
    vj_doc_free(&d);
}

void qh_vm_on_qmp(qh *h) {
    char buf[8192];
    for (;;) {
        ssize_t n = read(h->vm.qmp_fd, buf, sizeof buf);
        if (n > 0) { vv_lines_feed(&h->vm.qmp_lines, buf, (size_t)n, on_qmp_line, h); continue; }
        if (n < 0 && errno == EINTR) continue;
        if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) {
            /* QEMU closed QMP: it is exiting; SIGCHLD finishes the job. */
            close(h->vm.qmp_fd);
            h->vm.qmp_fd = -1;
        }
        return;
    }
}

