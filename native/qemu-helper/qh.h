/*
 * qemu-helper: the Linux helper. One process drives at most one QEMU VM and speaks the
 * Vivarium helper protocol (native/protocol/PROTOCOL.md) on stdin/stdout; logs go to stderr.
 * Single-threaded: one poll loop owns every fd, so protocol output never interleaves.
 */
#ifndef QH_H
#define QH_H

#include <stdint.h>
#include <sys/types.h>

#include "../common/vv_lines.h"
#include "../common/vv_proto.h"
#include "../common/vv_spec.h"

#define QH_VERSION "0.1.0"
#define QH_START_DEADLINE_MS 30000
#define QH_STDERR_TAIL 4096
#define QH_POWERDOWN_REPEAT_MS 2000
#define QH_VIRTIOFSD "/usr/lib/qemu/virtiofsd"

typedef enum { QH_STOPPED, QH_STARTING, QH_RUNNING, QH_STOPPING } qh_state;

/* What this machine offers; probed once, on the first hello. */
typedef struct qh_features {
    int probed;
    const char *host_arch;                 /* "x86_64" or "arm64" */
    char qemu_host[256];                   /* qemu-system binary for host-arch guests, "" if none */
    char qemu_other[256];                  /* the binary for the other arch, "" if none */
    const char *accels[3];                 /* best first, NULL-terminated */
    const char *guest_archs[3];
    const char *share_kinds[3];
    const char *channel_kinds[2];
    char kvm_note[256];                    /* why KVM is not used, for logs */
    char unavailable[256];                 /* why start cannot work; "" when available */
    unsigned max_cpus;
    uint64_t max_memory_mib;
} qh_features;

/* QMP conversation phases after QEMU's greeting. */
typedef enum { QMP_GREETING, QMP_CAPS, QMP_QUERY, QMP_READY } qh_qmp_phase;

/* The one VM this helper drives (valid while state != QH_STOPPED). */
typedef struct qh_vm {
    vv_spec spec;
    pid_t pid;
    int qmp_fd, stderr_fd;
    vv_lines qmp_lines;
    qh_qmp_phase qmp_phase;
    char accel[8];
    char stderr_tail[QH_STDERR_TAIL];
    size_t tail_len;
    int64_t started_ms, running_ms, deadline_ms; /* monotonic; deadline 0 = none */
    int64_t next_press_ms;                       /* graceful stop: next ACPI press, 0 = none */
    int has_start, has_stop;                     /* a reply is owed for start / stop */
    uint64_t start_id, stop_id;
    int forced;                                  /* force was used to end it */
    int stop_requested;                          /* a stop request ended (or ends) it */
    char exit_reason[16];                        /* set from QMP SHUTDOWN when known */
    char exit_message[256];
    int start_timed_out;                         /* the start deadline passed */
    int helper_exiting;                          /* stdin EOF or a signal ended it */
    pid_t vfs_pid[VV_MAX_SHARES];                /* virtiofsd per share (virtiofs only), 0 = none */
    int vfs_fd[VV_MAX_SHARES];                   /* QEMU's end of its vhost-user socket, 0 = none */
} qh_vm;

/* The whole helper. */
typedef struct qh {
    vv_proto proto;
    vv_log log;
    qh_features feat;
    qh_state state;
    qh_vm vm;
    int quitting;
} qh;

/* The helper's ends of a launch's disks and data channels, until QEMU holds them. -1 = none. */
typedef struct qh_device_fds {
    int disk_ro[VV_MAX_DISKS];        /* every disk, O_RDONLY */
    int disk_rw[VV_MAX_DISKS];        /* writable disks, O_RDWR */
    int data[VV_MAX_DATA_CHANNELS];   /* listening sockets at dataChannels[i].path */
} qh_device_fds;

/* Creates a listening unix socket at `path`, mode 0600; errors name `label`. fd, or -1. */
int qh_make_socket(const char *path, const char *label, vv_error *err);
/* Sets every fd to -1. */
void qh_devices_init(qh_device_fds *d);
/* Opens the disks (checking each is a regular file) and creates the data channel sockets.
 * 0, or -1 with err set and nothing left open or created. */
int qh_devices_open(const vv_spec *s, qh_device_fds *d, vv_error *err);
/* Closes the helper's copies (after QEMU got them, or on failure). */
void qh_devices_close(qh_device_fds *d);
/* Removes the data channel endpoints of a spec (the VM ended or its launch failed). */
void qh_devices_unlink(const vv_spec *s);

/* True when virtiofs shares can work here (root and Debian's virtiofsd). */
int qh_virtiofs_usable(void);
/* Starts one virtiofsd per share when the spec asks for virtiofs. 0, or -1 with err set. */
int qh_virtiofs_start(qh *h, vv_error *err);
/* Closes the helper's copies of QEMU's vhost-user fds (after QEMU got them). */
void qh_virtiofs_close_fds(qh *h);
/* Kills and reaps every virtiofsd of the VM. */
void qh_virtiofs_stop(qh *h);

/* Monotonic milliseconds. */
int64_t qh_now_ms(void);
/* Probes binaries, accelerators, shares and channels into h->feat (once). */
void qh_probe(qh *h);
/* Emits a state event and records the state. */
void qh_set_state(qh *h, qh_state s);
/* Name of a state for the wire. */
const char *qh_state_name(qh_state s);

/* Launches QEMU for a validated spec (state must be STARTING). 0, or -1 with err set and
 * everything created removed. */
int qh_vm_launch(qh *h, vv_error *err);
/* In a freshly forked child of the helper (`parent`): MUST run first. The child dies with the
 * helper whatever kills it (PR_SET_PDEATHSIG, and _exit if the helper is already gone), gets a
 * clean signal mask and default SIGPIPE. Returns an fd open on /dev/null (or -1). */
int qh_child_prepare(pid_t parent);
/* Sends one QMP command line. The lines are tiny; if the socket is full (EAGAIN) the command
 * is logged and dropped (the only repeated one, system_powerdown, is retried anyway). */
void qh_qmp_send(qh *h, const char *json);
/* Handles readable QMP / stderr fds. */
void qh_vm_on_qmp(qh *h);
void qh_vm_on_stderr(qh *h);
/* Called after waitpid reaped QEMU: emits exit + stopped, answers owed replies, cleans up. */
void qh_vm_on_exit(qh *h, int status);
/* Asks the guest to power off (ACPI); the deadline forces it. */
void qh_vm_request_powerdown(qh *h, int64_t timeout_ms);
/* Kills QEMU at once (SIGKILL); the exit is processed when it is reaped. */
void qh_vm_kill(qh *h);
/* Called when vm.deadline_ms passed. */
void qh_vm_on_deadline(qh *h);
/* Earliest pending timer (deadline or ACPI re-press), 0 when none. */
int64_t qh_vm_next_timer(const qh *h);
/* Runs the timers that are due. */
void qh_vm_on_timers(qh *h);
/* Writes a start/status result body for the current VM. */
void qh_vm_write_status(qh *h, vj_writer *w);

#endif
