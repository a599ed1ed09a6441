/*
 * hcs-helper: the Windows helper. One process drives at most one Host Compute Service VM
 * and speaks the Vivarium helper protocol (native/protocol/PROTOCOL.md) on stdin/stdout;
 * logs go to stderr.
 *
 * Threads: the main thread reads stdin and dispatches; one VM thread per boot runs the HCS
 * start sequence and then waits for the VM's exit and tears it down; a stop thread asks
 * HCS to shut down or terminate; HCS calls its callback on its own pool threads.
 * Concurrency contract: `lock` MUST be held for every vv_proto call and every access to the
 * members marked (L). HCS calls and waits MUST NOT be made while holding it, except
 * HcsCancelOperation, which only requests a cancel.
 */
#ifndef HCS_HELPER_H
#define HCS_HELPER_H

#include "hcs_bridge.h" /* winsock2.h before windows.h */
#include "hcs_api.h"
#include "hcs_console.h"
#include "vv_lines.h"
#include "vv_proto.h"
#include "vv_spec.h"

#define HCS_HELPER_VERSION "0.1.0"
#define HCS_START_DEADLINE_MS 30000
#define HCS_EXIT_GRACE_MS 10000 /* how long a terminated VM may take to report its exit */

typedef enum { HS_STOPPED, HS_STARTING, HS_RUNNING, HS_STOPPING } hs_state;

/* The VM of one boot. Created by the start handler, owned by the VM thread. */
typedef struct hcs_helper hcs_helper;

typedef struct hcs_vm {
    hcs_helper *h;
    vv_spec spec;
    char system_id[96];   /* HCS compute system id: vivarium-<name>-<pid> */
    char console_pipe[128];
    char runtime_id[37];  /* the VmId for AF_HYPERV */
    HCS_SYSTEM sys;       /* (L) set once created */
    HCS_OPERATION op;     /* (L) the boot operation being waited for, or NULL */
    hcs_console console;
    hcs_bridge bridge;    /* the SSH channel */
    hcs_bridge data_bridges[VV_MAX_DATA_CHANNELS]; /* spec.data_channels[i]; zeroed when unused */
    const char *granted[2 + VV_MAX_DISKS]; /* files HcsGrantVmAccess opened to the VM (spec strings) */
    size_t n_granted;
    HANDLE exited;        /* manual-reset: HCS reported the VM gone (or we know it is) */
    HANDLE force_now;     /* manual-reset: stdin EOF; a graceful stop must not wait longer */
    int closing;          /* (L) the VM thread is tearing down: no new stop thread */
    int started;          /* HcsStartComputeSystem succeeded */
    int exit_reported;    /* (L) HCS itself reported the exit (else teardown terminates) */
    int crash_seen;       /* (L) a crash event arrived */
    char exit_data[512];  /* (L) the SystemExited event data */
    unsigned long long started_ms, running_ms;
} hcs_vm;

/* The whole helper. */
struct hcs_helper {
    CRITICAL_SECTION lock;
    vv_proto proto;             /* (L) */
    vv_log log;
    HANDLE out;                 /* stdout */
    /* probed once, on the first hello */
    int probed;
    hcs_api api;
    hcs_probe probe;
    const char *host_arch;
    char user_sid[192];
    unsigned max_cpus;
    unsigned long long max_memory_mib;
    /* (L) state of the one VM */
    hs_state state;
    hcs_vm *vm;                 /* non-NULL while state != HS_STOPPED */
    HANDLE vm_thread, stop_thread;
    int has_start, has_stop;    /* a reply is owed */
    uint64_t start_id, stop_id;
    int cancel_start;           /* stop or stdin EOF arrived while starting */
    int stop_requested, forced; /* a stop (or EOF) ends the VM; force was needed */
    int stop_force;
    unsigned long stop_timeout_ms;
    int quitting;
};

/* Emits a state event and records the state. Caller holds the lock. */
void hcs_set_state(hcs_helper *h, hs_state s);
/* The wire name of a state. */
const char *hcs_state_name(hs_state s);
/* Fills err with the protocol error for a failed HCS call. */
void hcs_set_hresult_error(vv_error *err, const char *call, HRESULT hr, const char *result_doc);

/* Starts the VM thread for h->vm (state STARTING, lock held). Returns 0 or -1 with err set. */
int hcs_vm_launch(hcs_helper *h, vv_error *err);
/* Starts ending the running VM: graceful with a timeout, or forced (lock held). */
int hcs_vm_request_stop(hcs_helper *h, int force, unsigned long timeout_ms, vv_error *err);
/* A stop arrived while starting: flags it and cancels the HCS operation in flight (lock held). */
void hcs_vm_cancel_start(hcs_helper *h);
/* stdin EOF: cancels a start or forces the running VM off (lock held). */
void hcs_vm_force_quit(hcs_helper *h);
/* Writes the members of a status/start result for the current VM (lock held). */
void hcs_vm_write_status(hcs_helper *h, vj_writer *w);

/* ---- hcs_devices.c: disks and data channels of one boot ---- */

/* Validation (before the hypervisor is asked): every disk's file starts with the VHDX
 * signature, so a raw image gets a clear error instead of an HCS failure. 0, or -1 with err. */
int hcs_check_disk_images(const vv_spec *spec, vv_error *err);
/* Grants the VM's account access to every disk, before the compute system is created. A failure
 * is fatal (the VM could not open the disk). Recorded grants are revoked by hcs_revoke_grants. */
int hcs_grant_disks(hcs_helper *h, hcs_vm *vm, vv_error *err);
/* Grants access to the kernel and initrd; failures are logged only. */
void hcs_grant_boot_files(hcs_helper *h, hcs_vm *vm);
/* Removes every grant this boot made (teardown), so ACEs do not pile up on shared files. */
void hcs_revoke_grants(hcs_helper *h, hcs_vm *vm);
/* Creates one user-only pipe per data channel, bridged to its guest port. 0, or -1 with err
 * (bridges already made are left for hcs_data_channels_stop). */
int hcs_data_channels_start(hcs_helper *h, hcs_vm *vm, const GUID *vm_id, vv_error *err);
/* Closes every data-channel pipe and its sessions. Idempotent. */
void hcs_data_channels_stop(hcs_vm *vm);
/* Writes `"dataChannels":[{name,kind,path}...]` into an open object; nothing when there are none. */
void hcs_data_channels_write(const hcs_vm *vm, vj_writer *w);

#endif
