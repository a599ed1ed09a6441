/* hcs_doc: the HCS schema-v2 documents for a Vivarium VM (see hcs_doc.h for sources). */
#include "hcs_doc.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "vv_json.h"

unsigned hcs_even_mib(unsigned mib) { return mib & ~1u; }

void hcs_vsock_service_id(uint32_t port, char out[37]) {
    /* HV_GUID_VSOCK_TEMPLATE is 00000000-facb-11e6-bd58-64006a7986d3; Data1 carries the port. */
    snprintf(out, 37, "%08x-facb-11e6-bd58-64006a7986d3", (unsigned)port);
}

/* A string SID: "S-1-" then digits and dashes, no empty parts (so it cannot break the SDDL). */
static int sid_is_plain(const char *sid) {
    if (!sid || strncmp(sid, "S-1-", 4) != 0) return 0;
    size_t n = strlen(sid);
    if (n > 184 || sid[n - 1] == '-') return 0;
    for (const char *p = sid + 4; *p; p++) {
        if (*p == '-') {
            if (p[1] == '-') return 0;
        } else if (!isdigit((unsigned char)*p)) {
            return 0;
        }
    }
    return 1;
}

int hcs_agent_connect_sddl(vv_buf *out, const char *user_sid) {
    if (!sid_is_plain(user_sid)) return -1;
    /* Protected DACL: full access for LocalSystem and the user running Vivarium; no inheritance. */
    return vv_buf_printf(out, "D:P(A;;FA;;;SY)(A;;FA;;;%s)", user_sid);
}

int hcs_doc_kernel_cmdline(vv_buf *out, const char *user_cmdline, unsigned plan9_port) {
    if (user_cmdline && *user_cmdline) {
        vv_buf_adds(out, user_cmdline);
        vv_buf_addc(out, ' ');
    }
    /* COM1 is the guest's ttyS0; one UART and no TX-enable probe keep the 8250 driver fast
     * (hcsshim create_lcow.go). HCS VMs have no PCI bus for our devices: all are VMBus. */
    return vv_buf_printf(out,
                         "console=ttyS0,115200 8250_core.nr_uarts=1 8250_core.skip_txen_test=1 "
                         "pci=off vivarium.vsock_transport=hv vivarium.hv9p_port=%u",
                         plan9_port);
}

uint32_t hcs_plan9_flags(int read_only, int identity) {
    uint32_t f = HCS_P9_LINUX_METADATA; /* hcsshim always sets it (uid/gid/mode in ADS) */
    if (read_only) f |= HCS_P9_READ_ONLY;
    if (identity) f |= HCS_P9_USE_SHARE_ROOT_IDENTITY;
    return f;
}

static int nonempty(const char *s) { return s && *s; }

/* One ServiceTable entry: the vsock port's service GUID, connectable with `connect_sddl`. */
static void service_entry(vj_writer *w, uint32_t port, const char *connect_sddl) {
    char service[37];
    hcs_vsock_service_id(port, service);
    vj_key(w, service);
    vj_obj_begin(w);
    vj_key(w, "BindSecurityDescriptor"); vj_str(w, HCS_SDDL_DENY_ALL);
    vj_key(w, "ConnectSecurityDescriptor"); vj_str(w, connect_sddl);
    vj_key(w, "AllowWildcardBinds"); vj_bool(w, 0);
    vj_obj_end(w);
}

int hcs_is_vhdx_header(const void *head, size_t n) {
    return head && n >= HCS_VHDX_SIGNATURE_LEN && memcmp(head, HCS_VHDX_SIGNATURE, HCS_VHDX_SIGNATURE_LEN) == 0;
}

int hcs_doc_compute_system(vv_buf *out, const hcs_vm_config *c, const char **why) {
    const char *dummy;
    if (!why) why = &dummy;
    *why = NULL;
    if (!nonempty(c->owner)) *why = "owner";
    else if (!nonempty(c->kernel_path)) *why = "kernel path";
    else if (!nonempty(c->initrd_path)) *why = "initrd path";
    else if (!c->cmdline) *why = "kernel command line";
    else if (c->cpus < 1 || c->cpus > 1024) *why = "processor count";
    else if (hcs_even_mib(c->memory_mib) < 128) *why = "memory size";
    else if (!nonempty(c->console_pipe) || strncmp(c->console_pipe, "\\\\.\\pipe\\", 9) != 0)
        *why = "console pipe name";
    else if (c->agent_port == 0 || c->agent_port > 0x7fffffffu) *why = "agent port";
    else if (c->n_disks > HCS_MAX_DISKS || (c->n_disks && !c->disks)) *why = "disk list";
    else if (c->n_data_ports > HCS_MAX_DATA_PORTS || (c->n_data_ports && !c->data_ports)) *why = "data port list";
    for (size_t i = 0; !*why && i < c->n_disks; i++)
        if (!nonempty(c->disks[i].path)) *why = "disk path";
    for (size_t i = 0; !*why && i < c->n_data_ports; i++) {
        uint32_t p = c->data_ports[i];
        if (p == 0 || p == 0xffffffffu || p == c->agent_port) *why = "data port";
        for (size_t j = 0; !*why && j < i; j++)
            if (c->data_ports[j] == p) *why = "data port";
    }
    if (*why) return -1;

    vv_buf sddl = {0};
    if (hcs_agent_connect_sddl(&sddl, c->user_sid) != 0) {
        vv_buf_free(&sddl);
        *why = "user SID";
        return -1;
    }

    vj_writer w;
    vj_writer_init(&w, out);
    vj_obj_begin(&w);
    vj_key(&w, "Owner"); vj_str(&w, c->owner);
    vj_key(&w, "SchemaVersion");
    vj_obj_begin(&w);
    vj_key(&w, "Major"); vj_int(&w, HCS_SCHEMA_MAJOR);
    vj_key(&w, "Minor"); vj_int(&w, HCS_SCHEMA_MINOR);
    vj_obj_end(&w);
    /* The VM dies with the helper's last handle: a crashed helper leaves no VM behind. */
    vj_key(&w, "ShouldTerminateOnLastHandleClosed"); vj_bool(&w, 1);
    vj_key(&w, "VirtualMachine");
    vj_obj_begin(&w);
    /* A guest reboot (e.g. panic=-1) ends the VM instead of looping. */
    vj_key(&w, "StopOnReset"); vj_bool(&w, 1);
    vj_key(&w, "Chipset");
    vj_obj_begin(&w);
    vj_key(&w, "UseUtc"); vj_bool(&w, 1);
    vj_key(&w, "LinuxKernelDirect");
    vj_obj_begin(&w);
    vj_key(&w, "KernelFilePath"); vj_str(&w, c->kernel_path);
    vj_key(&w, "InitRdPath"); vj_str(&w, c->initrd_path);
    vj_key(&w, "KernelCmdLine"); vj_str(&w, c->cmdline);
    vj_obj_end(&w);
    vj_obj_end(&w); /* Chipset */
    vj_key(&w, "ComputeTopology");
    vj_obj_begin(&w);
    vj_key(&w, "Memory");
    vj_obj_begin(&w);
    vj_key(&w, "SizeInMB"); vj_int(&w, hcs_even_mib(c->memory_mib));
    vj_key(&w, "AllowOvercommit"); vj_bool(&w, 1);
    vj_obj_end(&w);
    vj_key(&w, "Processor");
    vj_obj_begin(&w);
    vj_key(&w, "Count"); vj_int(&w, c->cpus);
    vj_obj_end(&w);
    vj_obj_end(&w); /* ComputeTopology */
    vj_key(&w, "Devices");
    vj_obj_begin(&w);
    vj_key(&w, "ComPorts");
    vj_obj_begin(&w);
    vj_key(&w, "0");
    vj_obj_begin(&w);
    vj_key(&w, "NamedPipe"); vj_str(&w, c->console_pipe);
    vj_obj_end(&w);
    vj_obj_end(&w); /* ComPorts */
    vj_key(&w, "HvSocket");
    vj_obj_begin(&w);
    vj_key(&w, "HvSocketConfig");
    vj_obj_begin(&w);
    /* Unlisted services: no host process may listen for, or connect to, the guest. */
    vj_key(&w, "DefaultBindSecurityDescriptor"); vj_str(&w, HCS_SDDL_DENY_ALL);
    vj_key(&w, "DefaultConnectSecurityDescriptor"); vj_str(&w, HCS_SDDL_DENY_ALL);
    vj_key(&w, "ServiceTable");
    vj_obj_begin(&w);
    /* Only SYSTEM and the user may connect to the agent's port and the data channels' ports;
     * nobody may bind them. */
    service_entry(&w, c->agent_port, vv_buf_str(&sddl));
    for (size_t i = 0; i < c->n_data_ports; i++) service_entry(&w, c->data_ports[i], vv_buf_str(&sddl));
    vj_obj_end(&w); /* ServiceTable */
    vj_obj_end(&w); /* HvSocketConfig */
    vj_obj_end(&w); /* HvSocket */
    if (c->n_disks) {
        /* Controller "0" (WSL's key; hcsshim's newer code uses GUID keys). The attachments are
         * in the create document, not hot-added, because the root file system must be there at
         * boot. ReadOnly is enforced by the host's virtual disk stack. */
        vj_key(&w, "Scsi");
        vj_obj_begin(&w);
        vj_key(&w, "0");
        vj_obj_begin(&w);
        vj_key(&w, "Attachments");
        vj_obj_begin(&w);
        for (size_t i = 0; i < c->n_disks; i++) {
            char lun[24];
            snprintf(lun, sizeof lun, "%zu", i);
            vj_key(&w, lun);
            vj_obj_begin(&w);
            vj_key(&w, "Type"); vj_str(&w, "VirtualDisk");
            vj_key(&w, "Path"); vj_str(&w, c->disks[i].path);
            vj_key(&w, "ReadOnly"); vj_bool(&w, c->disks[i].read_only);
            vj_obj_end(&w);
        }
        vj_obj_end(&w); /* Attachments */
        vj_obj_end(&w); /* "0" */
        vj_obj_end(&w); /* Scsi */
    }
    /* Shares are added after start with HcsModifyComputeSystem, as hcsshim and WSL do. */
    vj_key(&w, "Plan9");
    vj_obj_begin(&w);
    vj_obj_end(&w);
    /* No NetworkAdapters member: the VM has no network device at all. */
    vj_obj_end(&w); /* Devices */
    vj_obj_end(&w); /* VirtualMachine */
    vj_obj_end(&w);
    vv_buf_free(&sddl);
    if (out->oom) {
        *why = "memory";
        return -1;
    }
    return 0;
}

int hcs_doc_plan9_add(vv_buf *out, const hcs_share *s, unsigned port, int identity) {
    if (!nonempty(s->tag) || !nonempty(s->host_path) || port == 0) return -1;
    vj_writer w;
    vj_writer_init(&w, out);
    vj_obj_begin(&w);
    vj_key(&w, "RequestType"); vj_str(&w, "Add");
    vj_key(&w, "ResourcePath"); vj_str(&w, "VirtualMachine/Devices/Plan9/Shares");
    vj_key(&w, "Settings");
    vj_obj_begin(&w);
    vj_key(&w, "Name"); vj_str(&w, s->tag);
    vj_key(&w, "AccessName"); vj_str(&w, s->tag);
    vj_key(&w, "Path"); vj_str(&w, s->host_path);
    vj_key(&w, "Port"); vj_int(&w, port);
    vj_key(&w, "Flags"); vj_int(&w, hcs_plan9_flags(s->read_only, identity));
    vj_obj_end(&w);
    vj_obj_end(&w);
    return out->oom ? -1 : 0;
}

/* True when s is 36 characters of 8-4-4-4-12 hex digits. */
static int is_guid_text(const char *s, size_t n) {
    if (n != 36) return 0;
    for (size_t i = 0; i < 36; i++) {
        int dash = (i == 8 || i == 13 || i == 18 || i == 23);
        if (dash ? s[i] != '-' : !isxdigit((unsigned char)s[i])) return 0;
    }
    return 1;
}

static int hexval(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* The value of n hex digits at s (the caller checked they are hex digits). */
static uint32_t hexn(const char *s, int n) {
    uint32_t v = 0;
    for (int i = 0; i < n; i++) v = (v << 4) | (uint32_t)hexval(s[i]);
    return v;
}

int hcs_parse_guid_text(const char *t, hcs_guid *out) {
    if (!t || !is_guid_text(t, strlen(t))) return -1;
    out->data1 = hexn(t, 8);
    out->data2 = (uint16_t)hexn(t + 9, 4);
    out->data3 = (uint16_t)hexn(t + 14, 4);
    out->data4[0] = (uint8_t)hexn(t + 19, 2);
    out->data4[1] = (uint8_t)hexn(t + 21, 2);
    for (int i = 0; i < 6; i++) out->data4[2 + i] = (uint8_t)hexn(t + 24 + 2 * i, 2);
    return 0;
}

int hcs_doc_runtime_id(const char *props_json, char out[37]) {
    if (!props_json) return -1;
    vj_doc doc = {0};
    int rc = -1;
    if (vj_parse(&doc, props_json, strlen(props_json)) == 0) {
        const vj_value *v = vj_get(doc.root, "RuntimeId");
        if (v && v->type == VJ_STRING) {
            const char *s = v->u.string.s;
            size_t n = v->u.string.len;
            if (n == 38 && s[0] == '{' && s[37] == '}') { s++; n -= 2; }
            if (is_guid_text(s, n)) {
                memcpy(out, s, 36);
                out[36] = '\0';
                rc = 0;
            }
        }
    }
    vj_doc_free(&doc);
    return rc;
}

const char *hcs_exit_reason(const char *event_json, int crash_seen, char *message, size_t cap) {
    vj_doc doc = {0};
    const char *type = NULL;
    double status = 0;
    int have_status = 0;
    if (event_json && vj_parse(&doc, event_json, strlen(event_json)) == 0) {
        const vj_value *t = vj_get(doc.root, "ExitType");
        if (t && vj_is_cstring(t)) type = t->u.string.s;
        const vj_value *st = vj_get(doc.root, "Status");
        if (st && st->type == VJ_NUMBER) { status = st->u.number; have_status = 1; }
    }
    const char *reason = "poweroff";
    if (crash_seen) {
        reason = "crashed";
        snprintf(message, cap, "the guest crashed (HCS reported a crash; see the console log)");
    } else if (type && strcmp(type, "UnexpectedExit") == 0) {
        reason = "crashed";
        snprintf(message, cap, "the VM exited unexpectedly (HCS status %.0f)", status);
    } else if (type && strcmp(type, "ForcedExit") == 0) {
        reason = "crashed";
        snprintf(message, cap, "the VM was terminated outside Vivarium");
    } else if (have_status && status != 0) {
        reason = "crashed";
        snprintf(message, cap, "the VM exited with HCS status %.0f", status);
    } else {
        snprintf(message, cap, "the guest powered off");
    }
    vj_doc_free(&doc);
    return reason;
}
