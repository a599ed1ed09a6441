/*
 * hcs_doc: builds the JSON documents the Host Compute Service takes (schema v2) for a
 * Vivarium Linux VM. Portable C11 (no Windows headers), so it is unit-tested on Linux
 * against the golden documents in testdata/.
 *
 * Sources for every key (see BACKENDS.md section 2.2): hcsshim internal/hcs/schema2 (*.go) and
 * internal/uvm/create_lcow.go, WSL src/windows/common/hcs_schema.h and WslCoreVm.cpp.
 */
#ifndef HCS_DOC_H
#define HCS_DOC_H

#include <stddef.h>
#include <stdint.h>

#include "vv_buf.h"

/* Schema version written in the document: 2.3 is what WSL uses on Windows 10 (HcsVirtualMachine.cpp)
 * and the first version that has Chipset.LinuxKernelDirect plus HvSocket service tables. */
#define HCS_SCHEMA_MAJOR 2
#define HCS_SCHEMA_MINOR 3
/* hvsocket port the HCS Plan 9 server listens on for the guest: WSL's
 * LX_INIT_UTILITY_VM_PLAN9_PORT, also guest-image init's default for vivarium.hv9p_port. */
#define HCS_PLAN9_PORT 50001u

/* Plan9 share flags (hcsshim schema2/plan9_share_flags.go). */
#define HCS_P9_READ_ONLY 0x1u
#define HCS_P9_LINUX_METADATA 0x4u
#define HCS_P9_CASE_SENSITIVE 0x8u
#define HCS_P9_USE_SHARE_ROOT_IDENTITY 0x10u

/* SDDL that denies everyone: used for every hvsocket service except the agent's port. */
#define HCS_SDDL_DENY_ALL "D:P(D;;FA;;;WD)"

/* A disk on SCSI controller 0 at LUN = its index (the guest's sda, sdb… in spec order). */
typedef struct hcs_disk {
    const char *path; /* Windows path of a VHDX file */
    int read_only;    /* HCS attaches it read-only: the guest cannot change the file */
} hcs_disk;

/* The first bytes of every VHDX file: the file type identifier's signature (MS-VHDX 2.2.1). */
#define HCS_VHDX_SIGNATURE "vhdxfile"
#define HCS_VHDX_SIGNATURE_LEN 8

/* Everything the compute-system document depends on. Strings are UTF-8; paths are Windows paths. */
typedef struct hcs_vm_config {
    const char *owner;        /* shown by `hcsdiag list`; "vivarium" */
    const char *kernel_path;  /* uncompressed-or-bzImage kernel for LinuxKernelDirect */
    const char *initrd_path;
    const char *cmdline;      /* full kernel command line (see hcs_doc_kernel_cmdline) */
    unsigned cpus;
    unsigned memory_mib;      /* rounded down to an even number (HCS's 2 MiB granularity) */
    const char *console_pipe; /* \\.\pipe\... that COM1 (guest ttyS0) connects to */
    unsigned agent_port;      /* guest vsock port of the SSH server; the only connectable service */
    const char *user_sid;     /* string SID allowed to connect to agent_port, besides SYSTEM */
    const hcs_disk *disks;    /* n_disks (at most HCS_MAX_DISKS) VHDX attachments, in order */
    size_t n_disks;
    const uint32_t *data_ports; /* guest vsock ports of the data channels: connectable like agent_port */
    size_t n_data_ports;
} hcs_vm_config;

/* Bounds of the document builder (the protocol allows 4 of each). */
#define HCS_MAX_DISKS 64
#define HCS_MAX_DATA_PORTS 16

/* One granted folder, added with HcsModifyComputeSystem after start. */
typedef struct hcs_share {
    const char *tag;       /* share Name and AccessName (the guest's 9p aname) */
    const char *host_path; /* Windows path of the folder */
    int read_only;         /* HCS's 9p server refuses writes when set */
} hcs_share;

/* Rounds a memory size down to the even MiB count HCS requires (WSL masks with ~1). */
unsigned hcs_even_mib(unsigned mib);

/* Writes the vsock service GUID for a port: HV_GUID_VSOCK_TEMPLATE with Data1 = port,
 * lower case, 36 characters plus NUL (go-winio VsockServiceID). */
void hcs_vsock_service_id(uint32_t port, char out[37]);

/* Connect SDDL for the agent port: SYSTEM plus the given user SID, nobody else. Returns 0, or
 * -1 when the SID is not of the form S-1-... (digits and dashes only). */
int hcs_agent_connect_sddl(vv_buf *out, const char *user_sid);

/* Appends the full kernel command line: the caller's parameters, then the platform's: serial
 * console on COM1, no PCI, and for guest-image init the Hyper-V vsock transport (never
 * virtio's) and the port the 9p server listens on. Later parameters win in init, so these
 * override main's defaults. Returns 0 or -1 (no memory). */
int hcs_doc_kernel_cmdline(vv_buf *out, const char *user_cmdline, unsigned plan9_port);

/* Appends the schema-v2 compute-system document for HcsCreateComputeSystem: direct kernel
 * boot, memory and processors, COM1 to the console pipe, hvsocket connectable only on the
 * agent port and the data-channel ports, the disks as VirtualDisk attachments of SCSI
 * controller "0" (no Scsi member without disks), an empty Plan9 device, no network adapter.
 * Returns 0, or -1 when a member is missing or out of range (with `why` naming it; nothing is
 * appended then) or memory ran out. */
int hcs_doc_compute_system(vv_buf *out, const hcs_vm_config *c, const char **why);

/* Appends the HcsModifyComputeSystem request that adds one Plan 9 share on `port`. `identity`
 * says the caller passes the user's token, so the server opens files as that user. */
int hcs_doc_plan9_add(vv_buf *out, const hcs_share *s, unsigned port, int identity);

/* The Flags integer for a share (LinuxMetadata always; ReadOnly; UseShareRootIdentity). */
uint32_t hcs_plan9_flags(int read_only, int identity);

/* Finds "RuntimeId" in a properties document (HcsGetComputeSystemProperties) and copies the
 * GUID text (36 characters, braces stripped) to out. Returns 0, or -1 when absent or malformed. */
int hcs_doc_runtime_id(const char *props_json, char out[37]);

/* A GUID in its binary layout (Data1..Data4), without Windows headers. */
typedef struct hcs_guid {
    uint32_t data1;
    uint16_t data2, data3;
    uint8_t data4[8];
} hcs_guid;

/* True when the first n bytes of a file start with the VHDX signature. */
int hcs_is_vhdx_header(const void *head, size_t n);

/* Parses "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" (any case, no braces). Returns 0 or -1. */
int hcs_parse_guid_text(const char *text, hcs_guid *out);

/* Classifies an unrequested exit from the HcsEventSystemExited event data, e.g.
 * {"Status":0,"ExitType":"GracefulExit"} (hcsshim schema2 SystemExitStatus): writes the
 * protocol's exit reason ("poweroff" or "crashed") and a one-sentence message. A crash event
 * seen earlier (crash_seen) makes it "crashed" whatever the data says. */
const char *hcs_exit_reason(const char *event_json, int crash_seen, char *message, size_t cap);

#endif
