/* hcs-helper main: stdin/stdout protocol loop, the four methods, and dying with the app. */
#include "hcs_helper.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hcs_errors.h"
#include "hcs_win.h"

const char *hcs_state_name(hs_state s) {
    switch (s) {
    case HS_STARTING: return "starting";
    case HS_RUNNING: return "running";
    case HS_STOPPING: return "stopping";
    default: return "stopped";
    }
}

void hcs_set_state(hcs_helper *h, hs_state s) {
    char members[64];
    h->state = s;
    snprintf(members, sizeof members, "\"state\":\"%s\"", hcs_state_name(s));
    vv_proto_event(&h->proto, "state", members);
}

/* Maps a failed HCS call to the protocol error (declared in hcs_helper.h). */
void hcs_set_hresult_error(vv_error *err, const char *call, HRESULT hr, const char *result_doc) {
    vv_buf msg = {0}, cause = {0};
    hcs_error_message(&msg, call, (uint32_t)hr, result_doc);
    hcs_error_cause(&cause, call, (uint32_t)hr, result_doc);
    const char *code = hcs_hresult_code((uint32_t)hr);
    vv_code c = VV_INTERNAL;
    if (strcmp(code, "hypervisorUnavailable") == 0) c = VV_HYPERVISOR_UNAVAILABLE;
    else if (strcmp(code, "timeout") == 0) c = VV_TIMEOUT;
    else if (strcmp(code, "invalidState") == 0) c = VV_INVALID_STATE;
    else if (strcmp(code, "notFound") == 0) c = VV_NOT_FOUND;
    else if (strcmp(code, "unsupported") == 0) c = VV_UNSUPPORTED;
    vv_error_set(err, c, "%s", vv_buf_str(&msg));
    /* hcs_error_cause wrote one object; vv_error keeps bare members, so strip the braces. */
    if (cause.len >= 2) {
        cause.data[cause.len - 1] = '\0';
        vv_buf_add(&err->cause, cause.data + 1, cause.len - 2);
    }
    vv_buf_free(&msg);
    vv_buf_free(&cause);
}

/* Every outgoing line; callers hold the lock, so lines never interleave. */
static void emit_line(void *ctx, const char *line, size_t len) {
    hcs_helper *h = ctx;
    while (len > 0) {
        DWORD n = 0;
        if (!WriteFile(h->out, line, (DWORD)len, &n, NULL) || n == 0) return; /* main gone */
        line += n;
        len -= n;
    }
}

static void log_sink(void *ctx, const char *line, size_t len) {
    (void)ctx;
    fwrite(line, 1, len, stderr);
    fflush(stderr);
}

/* ---- the platform answers vv_spec needs (Windows paths) ---- */

static int win_is_absolute(void *ctx, const char *p) {
    (void)ctx;
    int drive = ((p[0] >= 'A' && p[0] <= 'Z') || (p[0] >= 'a' && p[0] <= 'z')) && p[1] == ':' &&
                (p[2] == '\\' || p[2] == '/');
    int unc = (p[0] == '\\' && p[1] == '\\') && p[2] && p[2] != '\\';
    return drive || unc;
}

static vv_path_kind win_path_kind(void *ctx, const char *path, int *err) {
    (void)ctx;
    wchar_t *w = hcs_wide(path);
    if (!w) { *err = ERROR_NO_UNICODE_TRANSLATION; return VV_PATH_ERROR; }
    DWORD a = GetFileAttributesW(w);
    DWORD e = GetLastError();
    free(w);
    if (a == INVALID_FILE_ATTRIBUTES) {
        *err = (int)e;
        return (e == ERROR_FILE_NOT_FOUND || e == ERROR_PATH_NOT_FOUND) ? VV_PATH_MISSING : VV_PATH_ERROR;
    }
    if (a & FILE_ATTRIBUTE_DIRECTORY) return VV_PATH_DIR;
    return (a & FILE_ATTRIBUTE_DEVICE) ? VV_PATH_OTHER : VV_PATH_FILE;
}

/* channelPath on Windows is a local pipe name: \\.\pipe\<name>, no further backslash.
 * A file-system path is refused; when its directory is missing that is reported first
 * (notFound), the same precedence the unix rules use. */
static int win_check_channel_path(void *ctx, const char *path, vv_error *err) {
    static const char prefix[] = "\\\\.\\pipe\\";
    size_t n = strlen(path);
    if (strncmp(path, prefix, sizeof prefix - 1) != 0 || n == sizeof prefix - 1 ||
        strchr(path + sizeof prefix - 1, '\\') || n > VV_MAX_CHANNEL_PATH) {
        const char *sep = strrchr(path, '\\'), *fsep = strrchr(path, '/');
        if (fsep && (!sep || fsep > sep)) sep = fsep;
        if (strncmp(path, prefix, sizeof prefix - 1) != 0 && win_is_absolute(ctx, path) && sep) {
            char parent[1024];
            size_t pn = (size_t)(sep - path);
            int e = 0;
            if (pn < sizeof parent) {
                memcpy(parent, path, pn);
                parent[pn] = '\0';
                if (win_path_kind(ctx, parent, &e) == VV_PATH_MISSING) {
                    vv_error_set(err, VV_NOT_FOUND, "channelPath: the directory %.300s does not exist", parent);
                    vv_error_cause_str(err, "path", parent);
                    return -1;
                }
            }
        }
        vv_error_set(err, VV_INVALID_ARGUMENT,
                     "channelPath \"%.120s\" must be a pipe name \\\\.\\pipe\\<name> of at most %d bytes",
                     path, VV_MAX_CHANNEL_PATH);
        return -1;
    }
    wchar_t *w = hcs_wide(path);
    /* WaitNamedPipe fails with ERROR_FILE_NOT_FOUND only when no instance exists. */
    int exists = w && (WaitNamedPipeW(w, 1) || GetLastError() != ERROR_FILE_NOT_FOUND);
    free(w);
    if (exists) {
        vv_error_set(err, VV_INVALID_ARGUMENT, "channelPath: a pipe named %.120s already exists", path);
        return -1;
    }
    return 0;
}

/* ---- probing, once ---- */

static void probe(hcs_helper *h) {
    if (h->probed) return;
    h->probed = 1;
    SYSTEM_INFO si;
    GetNativeSystemInfo(&si);
    h->host_arch = si.wProcessorArchitecture == PROCESSOR_ARCHITECTURE_ARM64 ? "arm64" : "x86_64";
    h->max_cpus = (unsigned)GetActiveProcessorCount(ALL_PROCESSOR_GROUPS);
    MEMORYSTATUSEX ms;
    ms.dwLength = sizeof ms;
    h->max_memory_mib = GlobalMemoryStatusEx(&ms) ? (ms.ullTotalPhys >> 20) & ~1ULL : 2048;
    if (h->max_cpus < 1) h->max_cpus = 1;
    if (hcs_user_sid(h->user_sid, sizeof h->user_sid) != 0) strcpy(h->user_sid, "");
    if (hcs_api_load(&h->api, &h->probe) == 0) hcs_api_probe(&h->api, &h->probe);
    if (h->probe.available && strcmp(h->host_arch, "x86_64") != 0) {
        /* hcsshim and WSL: no LinuxKernelDirect on arm64 (UEFI + VmbFs would be needed). */
        h->probe.available = 0;
        snprintf(h->probe.reason, sizeof h->probe.reason,
                 "Vivarium's Windows backend needs an x64 PC: Hyper-V cannot boot a Linux kernel "
                 "directly on ARM64 Windows.");
    }
    if (h->probe.available && !h->user_sid[0]) {
        h->probe.available = 0;
        snprintf(h->probe.reason, sizeof h->probe.reason, "cannot read this user's SID (OpenProcessToken failed).");
    }
    if (!h->probe.available) vv_logf(&h->log, VV_LOG_INFO, "HCS unavailable: %s", h->probe.reason);
}

static const char *const guest_archs_x64[] = {"x86_64", NULL};
static const char *const no_archs[] = {NULL};
static const char *const share_kinds[] = {"hv9p", NULL};
static const char *const channel_kinds[] = {"hvsocket", NULL};
/* HCS attaches VHDX files (SCSI VirtualDisk) and enforces ReadOnly on the host side; data
 * channels are more hvsocket services, like the SSH channel. */
static const char *const disk_formats[] = {"vhdx", NULL};
static const vv_device_limits device_limits = {disk_formats, 1, VV_MAX_DATA_CHANNELS};

static vv_limits limits(hcs_helper *h) {
    vv_limits l = {h->host_arch, strcmp(h->host_arch, "x86_64") == 0 ? guest_archs_x64 : no_archs,
                   share_kinds, channel_kinds, h->max_cpus, h->max_memory_mib};
    return l;
}

/* ---- methods (called by vv_proto with the lock held) ---- */

static vv_disposition m_hello(void *app, const vv_request *req, vj_writer *w, vv_error *err) {
    hcs_helper *h = app;
    (void)req;
    (void)err;
    probe(h);
    vv_limits l = limits(h);
    vj_obj_begin(w);
    vj_key(w, "protocol"); vj_int(w, VV_PROTOCOL_VERSION);
    vj_key(w, "helper"); vj_str(w, "hcs-helper");
    vj_key(w, "version"); vj_str(w, HCS_HELPER_VERSION);
    vj_key(w, "hostArch"); vj_str(w, h->host_arch);
    vj_key(w, "available"); vj_bool(w, h->probe.available);
    vj_key(w, "unavailableReason");
    if (h->probe.available) vj_null(w); else vj_str(w, h->probe.reason);
    vj_key(w, "features");
    vj_obj_begin(w);
    vj_key(w, "accelerators");
    vj_arr_begin(w);
    if (h->probe.available) vj_str(w, "hyperv");
    vj_arr_end(w);
    vj_key(w, "guestArchs");
    vj_arr_begin(w);
    for (const char *const *a = l.guest_archs; *a; a++) vj_str(w, *a);
    vj_arr_end(w);
    vj_key(w, "shareKinds"); vj_arr_begin(w); vj_str(w, "hv9p"); vj_arr_end(w);
    vj_key(w, "readOnlyShares"); vj_bool(w, 1);
    vj_key(w, "channelKinds"); vj_arr_begin(w); vj_str(w, "hvsocket"); vj_arr_end(w);
    vj_key(w, "consoleLog"); vj_bool(w, 1);
    vj_key(w, "snapshots"); vj_bool(w, 0);
    vj_key(w, "maxCpus"); vj_int(w, h->max_cpus);
    vj_key(w, "maxMemoryMiB"); vj_int(w, (int64_t)h->max_memory_mib);
    vj_key(w, "diskFormats");
    vj_arr_begin(w);
    for (const char *const *f = device_limits.disk_formats; *f; f++) vj_str(w, *f);
    vj_arr_end(w);
    vj_key(w, "readOnlyDisks"); vj_bool(w, device_limits.read_only_disks);
    vj_key(w, "dataChannels"); vj_int(w, device_limits.max_data_channels);
    vj_obj_end(w);
    vj_obj_end(w);
    return VV_REPLY_NOW;
}

static vv_disposition m_start(void *app, const vv_request *req, vj_writer *w, vv_error *err) {
    hcs_helper *h = app;
    (void)w;
    if (h->state != HS_STOPPED) {
        vv_error_set(err, VV_INVALID_STATE, "start: the VM is %s; start needs it stopped", hcs_state_name(h->state));
        return VV_REPLY_NOW;
    }
    vv_limits l = limits(h);
    vv_platform pf = {h, win_is_absolute, win_path_kind, win_check_channel_path};
    hcs_vm *vm = calloc(1, sizeof *vm);
    if (!vm) { vv_error_set(err, VV_INTERNAL, "start: out of memory"); return VV_REPLY_NOW; }
    /* Validate first, so a malformed request gets the same answer on every machine. */
    if (vv_spec_parse_with(req->params, &l, &device_limits, &pf, &vm->spec, err) != 0) { free(vm); return VV_REPLY_NOW; }
    if (hcs_check_disk_images(&vm->spec, err) != 0) {
        vv_spec_free(&vm->spec);
        free(vm);
        return VV_REPLY_NOW;
    }
    if (!h->probe.available) {
        vv_error_set(err, VV_HYPERVISOR_UNAVAILABLE, "start: %s", h->probe.reason);
        if (h->probe.hresult) {
            char hex[11];
            snprintf(hex, sizeof hex, "0x%08lX", h->probe.hresult);
            vv_error_cause_str(err, "hresult", hex);
            vv_error_cause_str(err, "call", h->probe.call);
        }
        vv_spec_free(&vm->spec);
        free(vm);
        return VV_REPLY_NOW;
    }
    snprintf(vm->system_id, sizeof vm->system_id, "vivarium-%s-%lu", vm->spec.name, GetCurrentProcessId());
    snprintf(vm->console_pipe, sizeof vm->console_pipe, "\\\\.\\pipe\\%s-com1", vm->system_id);
    h->vm = vm;
    h->has_start = 1;
    h->start_id = req->id;
    hcs_set_state(h, HS_STARTING);
    if (hcs_vm_launch(h, err) != 0) {
        h->vm = NULL;
        h->has_start = 0;
        vv_spec_free(&vm->spec);
        free(vm);
        hcs_set_state(h, HS_STOPPED);
        return VV_REPLY_NOW;
    }
    return VV_REPLY_LATER;
}

static vv_disposition m_stop(void *app, const vv_request *req, vj_writer *w, vv_error *err) {
    hcs_helper *h = app;
    const vj_value *f = vj_get(req->params, "force"), *t = vj_get(req->params, "timeoutMs");
    uint64_t timeout = 10000;
    if (f && f->type != VJ_BOOL) {
        vv_error_set(err, VV_INVALID_ARGUMENT, "stop: force must be a boolean (got %s)", vj_type_name(f));
        return VV_REPLY_NOW;
    }
    if (t && (!vj_as_uint(t, &timeout) || timeout > 600000)) {
        vv_error_set(err, VV_INVALID_ARGUMENT, "stop: timeoutMs must be an integer in 0..600000");
        return VV_REPLY_NOW;
    }
    if (h->has_stop) {
        vv_error_set(err, VV_INVALID_STATE, "stop: a stop is already in flight");
        return VV_REPLY_NOW;
    }
    if (h->state == HS_STOPPED) {
        vj_obj_begin(w);
        vj_key(w, "state"); vj_str(w, "stopped");
        vj_key(w, "forced"); vj_bool(w, 0);
        vj_obj_end(w);
        return VV_REPLY_NOW;
    }
    h->has_stop = 1;
    h->stop_id = req->id;
    if (h->state == HS_STARTING) {
        hcs_vm_cancel_start(h); /* the VM thread answers both start and stop */
        h->stop_requested = 1;
        return VV_REPLY_LATER;
    }
    if (h->state == HS_RUNNING) hcs_set_state(h, HS_STOPPING);
    if (hcs_vm_request_stop(h, f && f->u.boolean, (unsigned long)timeout, err) != 0) {
        h->has_stop = 0;
        return VV_REPLY_NOW;
    }
    return VV_REPLY_LATER;
}

static vv_disposition m_status(void *app, const vv_request *req, vj_writer *w, vv_error *err) {
    (void)req;
    (void)err;
    vj_obj_begin(w);
    hcs_vm_write_status(app, w);
    vj_obj_end(w);
    return VV_REPLY_NOW;
}

static const vv_method methods[] = {
    {"hello", m_hello}, {"start", m_start}, {"stop", m_stop}, {"status", m_status},
};

/* ---- main loop ---- */

static void on_line(void *ctx, const char *line, size_t len) {
    hcs_helper *h = ctx;
    EnterCriticalSection(&h->lock);
    if (line) vv_proto_handle_line(&h->proto, line, len);
    else vv_proto_handle_oversized(&h->proto);
    LeaveCriticalSection(&h->lock);
}

/* Puts the helper in a job that kills its members when the last job handle closes, so any
 * process it might start dies with it. (The VM itself is tied to our HCS handle through
 * ShouldTerminateOnLastHandleClosed; Node already spawns us in a kill-on-close job.) */
static void join_kill_on_close_job(const vv_log *log) {
    HANDLE job = CreateJobObjectW(NULL, NULL);
    JOBOBJECT_EXTENDED_LIMIT_INFORMATION li;
    memset(&li, 0, sizeof li);
    li.BasicLimitInformation.LimitFlags = JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE;
    if (!job || !SetInformationJobObject(job, JobObjectExtendedLimitInformation, &li, sizeof li) ||
        !AssignProcessToJobObject(job, GetCurrentProcess()))
        vv_logf(log, VV_LOG_WARN, "job object: not joined (Win32 error %lu)", GetLastError());
    /* The handle is deliberately kept open for the life of the process. */
}

int main(void) {
    static hcs_helper helper; /* large; zero-initialised */
    hcs_helper *h = &helper;
    InitializeCriticalSection(&h->lock);
    h->out = GetStdHandle(STD_OUTPUT_HANDLE);
    h->host_arch = "x86_64";
    h->log.name = "hcs-helper";
    h->log.min_level = vv_log_level_parse(getenv("VIVARIUM_LOG"), VV_LOG_INFO);
    h->log.sink = log_sink;
    h->proto.methods = methods;
    h->proto.n_methods = sizeof methods / sizeof methods[0];
    h->proto.app = h;
    h->proto.emit = emit_line;
    h->proto.emit_ctx = h;
    h->proto.log = &h->log;
    join_kill_on_close_job(&h->log);

    HANDLE in = GetStdHandle(STD_INPUT_HANDLE);
    vv_lines lines = {0};
    char buf[65536];
    for (;;) {
        DWORD n = 0;
        if (!ReadFile(in, buf, sizeof buf, &n, NULL) || n == 0) break; /* EOF or broken pipe */
        vv_lines_feed(&lines, buf, n, on_line, h);
    }
    vv_lines_free(&lines);

    /* stdin EOF: force the VM off and exit 0 within the protocol's 5 s. */
    EnterCriticalSection(&h->lock);
    hcs_vm_force_quit(h);
    HANDLE vt = h->vm ? h->vm_thread : NULL;
    LeaveCriticalSection(&h->lock);
    if (vt && WaitForSingleObject(vt, 4000) != WAIT_OBJECT_0)
        vv_logf(&h->log, VV_LOG_WARN, "VM teardown still running at exit; HCS ends the VM with our handle");
    fflush(stderr);
    ExitProcess(0); /* closes our HCS handles: ShouldTerminateOnLastHandleClosed ends any VM */
}
