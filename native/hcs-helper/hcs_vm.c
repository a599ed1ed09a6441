/* hcs_vm: one boot of the HCS VM: create, start, shares, channel, exit, teardown. */
#include "hcs_helper.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hcs_doc.h"
#include "hcs_errors.h"
#include "hcs_win.h"

/* HCS calls this on its pool threads. It only records and signals; the VM thread acts. */
static void CALLBACK on_system_event(HCS_EVENT *ev, void *ctx) {
    hcs_vm *vm = ctx; /* lives until after HcsCloseComputeSystem, which ends the callbacks */
    hcs_helper *h = vm->h;
    char *data = ev->EventData ? hcs_utf8(ev->EventData) : NULL;
    switch (ev->Type) {
    case HcsEventSystemExited:
    case HcsEventServiceDisconnect:
        EnterCriticalSection(&h->lock);
        snprintf(vm->exit_data, sizeof vm->exit_data, "%s", data ? data : "");
        vm->exit_reported = 1;
        LeaveCriticalSection(&h->lock);
        SetEvent(vm->exited);
        break;
    case HcsEventSystemCrashInitiated:
    case HcsEventSystemCrashReport:
        EnterCriticalSection(&h->lock);
        vm->crash_seen = 1;
        LeaveCriticalSection(&h->lock);
        vv_logf(&h->log, VV_LOG_WARN, "HCS crash event: %.400s", data ? data : "");
        break;
    default:
        break;
    }
    free(data);
}

static DWORD remaining_ms(const hcs_vm *vm) {
    unsigned long long end = vm->started_ms + HCS_START_DEADLINE_MS, now = hcs_now_ms();
    return now >= end ? 1 : (DWORD)(end - now);
}

/* Waits for one boot operation, bounded by the start deadline. While it waits, the operation
 * is published in vm->op so a stop (or stdin EOF) can cancel it; it is unpublished under the
 * lock before it is closed, so a cancel never touches a closed handle. */
static HRESULT run_op(hcs_helper *h, hcs_vm *vm, HCS_OPERATION op, HRESULT submit, char **doc) {
    if (!op) return FAILED(submit) ? submit : E_OUTOFMEMORY;
    EnterCriticalSection(&h->lock);
    vm->op = op;
    int cancel = h->cancel_start;
    LeaveCriticalSection(&h->lock);
    if (cancel && SUCCEEDED(submit)) h->api.CancelOperation(op);
    HRESULT hr = hcs_api_wait(&h->api, op, submit, remaining_ms(vm), doc);
    EnterCriticalSection(&h->lock);
    vm->op = NULL;
    LeaveCriticalSection(&h->lock);
    h->api.CloseOperation(op);
    return hr;
}
#define HCS_RUN(h, vm, call_expr, doc_out) run_op((h), (vm), op, (call_expr), (doc_out))

static int cancelled(hcs_helper *h) {
    EnterCriticalSection(&h->lock);
    int c = h->cancel_start;
    LeaveCriticalSection(&h->lock);
    return c;
}

/* The start sequence. Returns 0, or -1 with err set. */
static int boot(hcs_helper *h, hcs_vm *vm, vv_error *err) {
    const char *call = NULL;
    DWORD werr = 0;
    char *doc = NULL;
    HRESULT hr;
    HCS_OPERATION op;

    if (hcs_console_start(&vm->console, vm->console_pipe, vm->spec.console_log, h->user_sid, &call, &werr) != 0) {
        vv_error_set(err, VV_INTERNAL, "consoleLog: %s failed (Win32 error %lu)", call, werr);
        vv_error_cause_int(err, "win32Error", (long long)werr);
        return -1;
    }
    if (hcs_grant_disks(h, vm, err) != 0) return -1;
    vv_buf cmdline = {0}, json = {0};
    hcs_doc_kernel_cmdline(&cmdline, vm->spec.cmdline, HCS_PLAN9_PORT);
    hcs_disk disks[VV_MAX_DISKS];
    uint32_t data_ports[VV_MAX_DATA_CHANNELS];
    for (size_t i = 0; i < vm->spec.n_disks; i++)
        disks[i] = (hcs_disk){vm->spec.disks[i].host_path, vm->spec.disks[i].read_only};
    for (size_t i = 0; i < vm->spec.n_data_channels; i++) data_ports[i] = vm->spec.data_channels[i].guest_port;
    hcs_vm_config cfg = {
        .owner = "vivarium", .kernel_path = vm->spec.kernel, .initrd_path = vm->spec.initrd,
        .cmdline = vv_buf_str(&cmdline), .cpus = vm->spec.cpus, .memory_mib = (unsigned)vm->spec.memory_mib,
        .console_pipe = vm->console_pipe, .agent_port = vm->spec.guest_port, .user_sid = h->user_sid,
        .disks = disks, .n_disks = vm->spec.n_disks,
        .data_ports = data_ports, .n_data_ports = vm->spec.n_data_channels,
    };
    const char *why = NULL;
    int bad = hcs_doc_compute_system(&json, &cfg, &why);
    wchar_t *wjson = bad ? NULL : hcs_wide(vv_buf_str(&json)), *wid = hcs_wide(vm->system_id);
    vv_buf_free(&cmdline);
    vv_buf_free(&json);
    if (!wjson || !wid) {
        vv_error_set(err, VV_INTERNAL, "building the compute-system document failed (%s)", why ? why : "UTF-16");
        free(wjson);
        free(wid);
        return -1;
    }
    HCS_SYSTEM sys = NULL;
    op = h->api.CreateOperation(NULL, NULL);
    hr = HCS_RUN(h, vm, h->api.CreateComputeSystem(wid, wjson, op, NULL, &sys), &doc);
    free(wjson);
    if (FAILED(hr)) {
        hcs_set_hresult_error(err, "HcsCreateComputeSystem", hr, doc);
        free(doc);
        free(wid);
        return -1;
    }
    free(doc);
    doc = NULL;
    EnterCriticalSection(&h->lock);
    vm->sys = sys;
    LeaveCriticalSection(&h->lock);

    /* Let the VM worker read the boot files (WSL does this for its kernel and VHDs). */
    free(wid);
    hcs_grant_boot_files(h, vm);
    hr = h->api.SetComputeSystemCallback(sys, HcsEventOptionNone, vm, on_system_event);
    if (FAILED(hr)) { hcs_set_hresult_error(err, "HcsSetComputeSystemCallback", hr, NULL); return -1; }
    if (cancelled(h)) return -1;

    op = h->api.CreateOperation(NULL, NULL);
    hr = HCS_RUN(h, vm, h->api.StartComputeSystem(sys, op, NULL), &doc);
    if (FAILED(hr)) { hcs_set_hresult_error(err, "HcsStartComputeSystem", hr, doc); free(doc); return -1; }
    free(doc);
    doc = NULL;
    vm->started = 1;
    vm->running_ms = hcs_now_ms();

    op = h->api.CreateOperation(NULL, NULL);
    hr = HCS_RUN(h, vm, h->api.GetComputeSystemProperties(sys, op, NULL), &doc);
    if (FAILED(hr) || hcs_doc_runtime_id(doc, vm->runtime_id) != 0) {
        if (FAILED(hr)) hcs_set_hresult_error(err, "HcsGetComputeSystemProperties", hr, doc);
        else vv_error_set(err, VV_INTERNAL, "HcsGetComputeSystemProperties returned no RuntimeId");
        free(doc);
        return -1;
    }
    free(doc);
    doc = NULL;

    HANDLE identity = vm->spec.n_shares ? hcs_user_identity() : NULL;
    for (size_t i = 0; i < vm->spec.n_shares && !cancelled(h); i++) {
        hcs_share s = {vm->spec.shares[i].tag, vm->spec.shares[i].host_path, vm->spec.shares[i].read_only};
        vv_buf req = {0};
        hcs_doc_plan9_add(&req, &s, HCS_PLAN9_PORT, identity != NULL);
        wchar_t *wreq = hcs_wide(vv_buf_str(&req));
        vv_buf_free(&req);
        op = wreq ? h->api.CreateOperation(NULL, NULL) : NULL;
        hr = wreq ? HCS_RUN(h, vm, h->api.ModifyComputeSystem(sys, op, wreq, identity), &doc) : E_OUTOFMEMORY;
        free(wreq);
        if (FAILED(hr)) {
            hcs_set_hresult_error(err, "HcsModifyComputeSystem(Plan9 share)", hr, doc);
            vv_error_cause_str(err, "path", vm->spec.shares[i].host_path);
            free(doc);
            if (identity) CloseHandle(identity);
            return -1;
        }
        free(doc);
        doc = NULL;
    }
    if (identity) CloseHandle(identity);
    if (cancelled(h)) return -1;

    GUID vm_id;
    if (hcs_parse_guid(vm->runtime_id, &vm_id) != 0) {
        vv_error_set(err, VV_INTERNAL, "RuntimeId %s is not a GUID", vm->runtime_id);
        return -1;
    }
    if (hcs_bridge_start(&vm->bridge, vm->spec.channel_path, h->user_sid, &vm_id, vm->spec.guest_port, &call, &werr) != 0) {
        vv_error_set(err, werr == ERROR_ACCESS_DENIED || werr == ERROR_PIPE_BUSY ? VV_INVALID_ARGUMENT : VV_INTERNAL,
                     "channelPath: %s failed for %.200s (Win32 error %lu)", call, vm->spec.channel_path, werr);
        vv_error_cause_int(err, "win32Error", (long long)werr);
        return -1;
    }
    return hcs_data_channels_start(h, vm, &vm_id, err);
}

/* Ends the compute system at once (used on failures and forced stops). */
static HRESULT terminate(hcs_helper *h, HCS_SYSTEM sys) {
    HCS_OPERATION op = h->api.CreateOperation(NULL, NULL);
    HRESULT hr = hcs_api_finish(&h->api, op, h->api.TerminateComputeSystem(sys, op, NULL), HCS_EXIT_GRACE_MS, NULL);
    if (hr == (HRESULT)HCS_E_SYSTEM_ALREADY_STOPPED) hr = S_OK;
    return hr;
}

/* Releases everything of a boot. The VM thread only; not under the lock. */
static void teardown(hcs_helper *h, hcs_vm *vm) {
    hcs_bridge_stop(&vm->bridge);
    hcs_data_channels_stop(vm);
    if (vm->sys) {
        EnterCriticalSection(&h->lock);
        int gone = vm->exit_reported;
        LeaveCriticalSection(&h->lock);
        if (!gone) terminate(h, vm->sys);
        h->api.CloseComputeSystem(vm->sys); /* also unregisters the callback */
    }
    hcs_revoke_grants(h, vm); /* after the VM is gone: it no longer needs the files */
    hcs_console_stop(&vm->console);
}

/* Frees a boot after its last event was sent (h->vm no longer points at it). */
static void release(hcs_vm *vm) {
    CloseHandle(vm->exited);
    CloseHandle(vm->force_now);
    vv_spec_free(&vm->spec);
    free(vm);
}

/* Announces a running VM: channel event, state event, start reply. Lock held. */
static void announce_running(hcs_helper *h, hcs_vm *vm) {
    vv_buf ev = {0}, res = {0};
    vj_writer w;
    vj_writer_init(&w, &ev);
    vj_key(&w, "kind"); vj_str(&w, "hvsocket");
    vj_key(&w, "path"); vj_str(&w, vm->spec.channel_path);
    vv_proto_event(&h->proto, "channel", ev.data);
    hcs_set_state(h, HS_RUNNING);
    vj_writer_init(&w, &res);
    vj_obj_begin(&w);
    hcs_vm_write_status(h, &w);
    vj_key(&w, "channel");
    vj_obj_begin(&w);
    vj_key(&w, "kind"); vj_str(&w, "hvsocket");
    vj_key(&w, "path"); vj_str(&w, vm->spec.channel_path);
    vj_obj_end(&w);
    hcs_data_channels_write(vm, &w);
    vj_obj_end(&w);
    h->has_start = 0;
    vv_proto_reply_result(&h->proto, h->start_id, res.data);
    vv_buf_free(&ev);
    vv_buf_free(&res);
}

/* Sends the exit event of a boot that ran. Lock held. */
static void announce_exit(hcs_helper *h, hcs_vm *vm) {
    char msg[256];
    const char *reason;
    if (h->stop_requested || h->cancel_start) {
        reason = h->forced ? "forced" : "stopped";
        snprintf(msg, sizeof msg, "%s", h->forced ? "the VM was terminated" : "the VM shut down on request");
    } else {
        reason = hcs_exit_reason(vm->exit_data, vm->crash_seen, msg, sizeof msg);
    }
    vv_buf ev = {0};
    vj_writer w;
    vj_writer_init(&w, &ev);
    vj_key(&w, "reason"); vj_str(&w, reason);
    vj_key(&w, "exitCode"); vj_null(&w);
    vj_key(&w, "message"); vj_str(&w, msg);
    vv_proto_event(&h->proto, "exit", ev.data);
    vv_buf_free(&ev);
}

/* One boot, from the start request to the final `stopped`. */
static DWORD WINAPI vm_thread(LPVOID arg) {
    hcs_helper *h = arg;
    hcs_vm *vm = h->vm;
    vv_error err = {0};
    int ok = boot(h, vm, &err) == 0;

    EnterCriticalSection(&h->lock);
    ok = ok && !h->cancel_start;
    if (ok) announce_running(h, vm);
    LeaveCriticalSection(&h->lock);
    if (ok) WaitForSingleObject(vm->exited, INFINITE); /* the VM's life */

    /* No stop thread may use the system handle once teardown closes it. */
    EnterCriticalSection(&h->lock);
    vm->closing = 1;
    HANDLE st = h->stop_thread;
    h->stop_thread = NULL;
    LeaveCriticalSection(&h->lock);
    if (st) {
        WaitForSingleObject(st, INFINITE);
        CloseHandle(st);
    }
    teardown(h, vm);

    /* Cleaned up: now say so, in protocol order (exit, stopped, then the owed replies). */
    EnterCriticalSection(&h->lock);
    if (!ok && h->cancel_start) {
        vv_error_reset(&err);
        vv_error_set(&err, VV_INVALID_STATE, "start: stopped while starting");
        h->forced = 1;
    }
    if (vm->started) announce_exit(h, vm);
    h->vm = NULL;
    hcs_set_state(h, HS_STOPPED);
    if (h->has_start) {
        h->has_start = 0;
        vv_proto_reply_error(&h->proto, 1, h->start_id, &err);
    }
    if (h->has_stop) {
        h->has_stop = 0;
        vv_proto_reply_result(&h->proto, h->stop_id, h->forced ? "{\"state\":\"stopped\",\"forced\":true}"
                                                              : "{\"state\":\"stopped\",\"forced\":false}");
    }
    LeaveCriticalSection(&h->lock);
    vv_error_free(&err);
    release(vm);
    return 0;
}

int hcs_vm_launch(hcs_helper *h, vv_error *err) {
    hcs_vm *vm = h->vm;
    vm->h = h;
    vm->exited = CreateEventW(NULL, TRUE, FALSE, NULL);
    vm->force_now = CreateEventW(NULL, TRUE, FALSE, NULL);
    vm->started_ms = hcs_now_ms();
    h->cancel_start = h->stop_requested = h->forced = 0;
    if (vm->exited && vm->force_now) {
        if (h->vm_thread) CloseHandle(h->vm_thread);
        h->vm_thread = CreateThread(NULL, 0, vm_thread, h, 0, NULL);
    }
    if (!vm->exited || !vm->force_now || !h->vm_thread) {
        vv_error_set(err, VV_INTERNAL, "start: CreateThread failed (Win32 error %lu)", GetLastError());
        return -1;
    }
    return 0;
}

static DWORD WINAPI stop_thread(LPVOID arg) {
    hcs_helper *h = arg;
    EnterCriticalSection(&h->lock);
    hcs_vm *vm = h->vm;
    HCS_SYSTEM sys = vm ? vm->sys : NULL;
    int force = h->stop_force;
    DWORD timeout = (DWORD)h->stop_timeout_ms;
    LeaveCriticalSection(&h->lock);
    if (!vm || !sys) return 0;
    if (!force) {
        /* HCS shutdown needs the guest's shutdown integration service; a busybox guest may
         * ignore it, so the wait is bounded and force follows (BACKENDS.md 2.3). The wait is
         * on the exit itself, and stdin EOF (force_now) cuts it short. */
        HCS_OPERATION op = h->api.CreateOperation(NULL, NULL);
        HRESULT hr = h->api.ShutDownComputeSystem(sys, op, NULL);
        if (FAILED(hr)) vv_logf(&h->log, VV_LOG_INFO, "HcsShutDownComputeSystem: 0x%08lX", (unsigned long)hr);
        HANDLE waits[2] = {vm->exited, vm->force_now};
        DWORD w = WaitForMultipleObjects(2, waits, FALSE, timeout);
        if (SUCCEEDED(hr)) h->api.CancelOperation(op);
        hcs_api_finish(&h->api, op, E_ABORT, 0, NULL); /* closes op */
        if (w == WAIT_OBJECT_0) return 0;
    }
    EnterCriticalSection(&h->lock);
    h->forced = 1;
    LeaveCriticalSection(&h->lock);
    HRESULT hr = terminate(h, sys);
    if (FAILED(hr)) vv_logf(&h->log, VV_LOG_WARN, "HcsTerminateComputeSystem: 0x%08lX", (unsigned long)hr);
    /* The exit event normally follows; never leave the VM thread waiting forever. */
    if (WaitForSingleObject(vm->exited, HCS_EXIT_GRACE_MS) != WAIT_OBJECT_0) SetEvent(vm->exited);
    return 0;
}

int hcs_vm_request_stop(hcs_helper *h, int force, unsigned long timeout_ms, vv_error *err) {
    if (h->vm->closing) return 0; /* the VM ended on its own; its thread replies */
    h->stop_requested = 1;
    h->stop_force = force;
    h->stop_timeout_ms = timeout_ms;
    if (h->stop_thread) return 0; /* a graceful stop runs; stop_force/force_now shorten it */
    h->stop_thread = CreateThread(NULL, 0, stop_thread, h, 0, NULL);
    if (!h->stop_thread) {
        vv_error_set(err, VV_INTERNAL, "stop: CreateThread failed (Win32 error %lu)", GetLastError());
        return -1;
    }
    return 0;
}

void hcs_vm_cancel_start(hcs_helper *h) {
    h->cancel_start = 1;
    /* HcsCancelOperation only requests the cancel; it does not wait, so the lock is fine here. */
    if (h->vm && h->vm->op) h->api.CancelOperation(h->vm->op);
}

void hcs_vm_force_quit(hcs_helper *h) {
    h->quitting = 1;
    if (!h->vm) return;
    SetEvent(h->vm->force_now);
    if (h->state == HS_STARTING) {
        hcs_vm_cancel_start(h);
        h->forced = 1;
    } else {
        vv_error err = {0};
        if (hcs_vm_request_stop(h, 1, 0, &err) != 0) SetEvent(h->vm->exited); /* teardown terminates */
        vv_error_free(&err);
    }
}

void hcs_vm_write_status(hcs_helper *h, vj_writer *w) {
    vj_key(w, "state"); vj_str(w, hcs_state_name(h->state));
    if (!h->vm) return;
    vj_key(w, "accelerator"); vj_str(w, "hyperv");
    if (h->vm->running_ms) {
        vj_key(w, "uptimeMs");
        vj_int(w, (int64_t)(hcs_now_ms() - h->vm->running_ms));
    }
}
