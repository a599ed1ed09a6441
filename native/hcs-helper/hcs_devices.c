/* hcs_devices: the spec's disks (VHDX check, VM access grants) and data channels (one pipe
 * bridge each) for hcs_vm.c. Windows only. */
#include "hcs_helper.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hcs_doc.h"
#include "hcs_win.h"

/* Reads the first bytes of a file without locking others out of it. Returns the count read,
 * or -1 with *werr set. */
static int read_head(const char *path, unsigned char *buf, DWORD cap, DWORD *werr) {
    wchar_t *w = hcs_wide(path);
    if (!w) { *werr = ERROR_NO_UNICODE_TRANSLATION; return -1; }
    HANDLE f = CreateFileW(w, GENERIC_READ, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, NULL,
                           OPEN_EXISTING, FILE_ATTRIBUTE_NORMAL, NULL);
    *werr = GetLastError();
    free(w);
    if (f == INVALID_HANDLE_VALUE) return -1;
    DWORD n = 0;
    BOOL ok = ReadFile(f, buf, cap, &n, NULL);
    *werr = GetLastError();
    CloseHandle(f);
    return ok ? (int)n : -1;
}

int hcs_check_disk_images(const vv_spec *spec, vv_error *err) {
    for (size_t i = 0; i < spec->n_disks; i++) {
        const char *path = spec->disks[i].host_path;
        unsigned char head[HCS_VHDX_SIGNATURE_LEN];
        DWORD werr = 0;
        int n = read_head(path, head, sizeof head, &werr);
        if (n < 0) {
            vv_error_set(err, werr == ERROR_FILE_NOT_FOUND || werr == ERROR_PATH_NOT_FOUND ? VV_NOT_FOUND : VV_INVALID_ARGUMENT,
                         "disks[%zu].hostPath: cannot read %.300s (Win32 error %lu)", i, path, werr);
            vv_error_cause_str(err, "path", path);
            vv_error_cause_int(err, "win32Error", (long long)werr);
            return -1;
        }
        if (!hcs_is_vhdx_header(head, (size_t)n)) {
            vv_error_set(err, VV_INVALID_ARGUMENT,
                         "disks[%zu].hostPath: %.300s is not a VHDX image (it does not start with \"vhdxfile\"); "
                         "convert a raw image with: qemu-img convert -O vhdx <raw> <vhdx>", i, path);
            vv_error_cause_str(err, "path", path);
            return -1;
        }
    }
    return 0;
}

/* Remembers a granted file so teardown revokes it (the grant is an ACE on the file itself). */
static void remember_grant(hcs_vm *vm, const char *path) {
    if (vm->n_granted < sizeof vm->granted / sizeof vm->granted[0]) vm->granted[vm->n_granted++] = path;
}

int hcs_grant_disks(hcs_helper *h, hcs_vm *vm, vv_error *err) {
    wchar_t *wid = hcs_wide(vm->system_id);
    for (size_t i = 0; wid && i < vm->spec.n_disks; i++) {
        const char *path = vm->spec.disks[i].host_path;
        wchar_t *wf = hcs_wide(path);
        /* The VM worker runs as a per-VM account derived from the compute system id, so the
         * grant can (and must) come before HcsCreateComputeSystem opens the attachments. */
        HRESULT hr = wf ? h->api.GrantVmAccess(wid, wf) : E_OUTOFMEMORY;
        free(wf);
        if (FAILED(hr)) {
            char hex[11];
            snprintf(hex, sizeof hex, "0x%08lX", (unsigned long)hr);
            int missing = hr == HRESULT_FROM_WIN32(ERROR_FILE_NOT_FOUND) || hr == HRESULT_FROM_WIN32(ERROR_PATH_NOT_FOUND);
            vv_error_set(err, missing ? VV_NOT_FOUND : VV_INVALID_ARGUMENT,
                         "disks[%zu].hostPath: HcsGrantVmAccess could not let the VM open %.300s (HRESULT %s); "
                         "the file must be on an NTFS volume and its permissions changeable by this user", i, path, hex);
            vv_error_cause_str(err, "call", "HcsGrantVmAccess");
            vv_error_cause_str(err, "hresult", hex);
            vv_error_cause_str(err, "path", path);
            free(wid);
            return -1;
        }
        remember_grant(vm, path);
    }
    if (!wid && vm->spec.n_disks) {
        vv_error_set(err, VV_INTERNAL, "start: the compute system id is not valid UTF-8");
        return -1;
    }
    free(wid);
    return 0;
}

void hcs_grant_boot_files(hcs_helper *h, hcs_vm *vm) {
    wchar_t *wid = hcs_wide(vm->system_id);
    const char *files[2] = {vm->spec.kernel, vm->spec.initrd};
    for (int i = 0; wid && i < 2; i++) {
        wchar_t *wf = hcs_wide(files[i]);
        HRESULT hr = wf ? h->api.GrantVmAccess(wid, wf) : E_OUTOFMEMORY;
        /* A warning only: files the VM can already read (e.g. under Program Files) still boot. */
        if (FAILED(hr)) vv_logf(&h->log, VV_LOG_WARN, "HcsGrantVmAccess(%s) failed: 0x%08lX", files[i], (unsigned long)hr);
        else remember_grant(vm, files[i]);
        free(wf);
    }
    free(wid);
}

void hcs_revoke_grants(hcs_helper *h, hcs_vm *vm) {
    wchar_t *wid = hcs_wide(vm->system_id);
    for (size_t i = 0; wid && i < vm->n_granted; i++) {
        wchar_t *wf = hcs_wide(vm->granted[i]);
        HRESULT hr = wf ? h->api.RevokeVmAccess(wid, wf) : E_OUTOFMEMORY;
        if (FAILED(hr)) vv_logf(&h->log, VV_LOG_WARN, "HcsRevokeVmAccess(%s) failed: 0x%08lX", vm->granted[i], (unsigned long)hr);
        free(wf);
    }
    vm->n_granted = 0;
    free(wid);
}

int hcs_data_channels_start(hcs_helper *h, hcs_vm *vm, const GUID *vm_id, vv_error *err) {
    for (size_t i = 0; i < vm->spec.n_data_channels; i++) {
        const vv_data_channel *c = &vm->spec.data_channels[i];
        const char *call = NULL;
        DWORD werr = 0;
        if (hcs_bridge_start(&vm->data_bridges[i], c->path, h->user_sid, vm_id, c->guest_port, &call, &werr) != 0) {
            vv_error_set(err, werr == ERROR_ACCESS_DENIED || werr == ERROR_PIPE_BUSY ? VV_INVALID_ARGUMENT : VV_INTERNAL,
                         "dataChannels[%zu].path: %s failed for %.200s (Win32 error %lu)", i, call, c->path, werr);
            vv_error_cause_int(err, "win32Error", (long long)werr);
            return -1; /* the bridges already started are stopped by teardown */
        }
    }
    return 0;
}

void hcs_data_channels_stop(hcs_vm *vm) {
    for (size_t i = 0; i < VV_MAX_DATA_CHANNELS; i++) hcs_bridge_stop(&vm->data_bridges[i]);
}

void hcs_data_channels_write(const hcs_vm *vm, vj_writer *w) {
    if (!vm->spec.n_data_channels) return; /* omitted when none were asked for */
    vj_key(w, "dataChannels");
    vj_arr_begin(w);
    for (size_t i = 0; i < vm->spec.n_data_channels; i++) {
        vj_obj_begin(w);
        vj_key(w, "name"); vj_str(w, vm->spec.data_channels[i].name);
        vj_key(w, "kind"); vj_str(w, "hvsocket");
        vj_key(w, "path"); vj_str(w, vm->spec.data_channels[i].path);
        vj_obj_end(w);
    }
    vj_arr_end(w);
}
