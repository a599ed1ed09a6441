/*
 * vv_spec: parses and validates `start` params (a VmSpec, PROTOCOL.md §5.2) against a
 * helper's features. File-system questions go through a small platform interface so the
 * same rules run on Linux and Windows.
 */
#ifndef VV_SPEC_H
#define VV_SPEC_H

#include <stddef.h>
#include <stdint.h>

#include "vv_error.h"
#include "vv_json.h"

#define VV_MAX_SHARES 8
#define VV_MAX_CMDLINE 2048
#define VV_MAX_CHANNEL_PATH 100
#define VV_MIN_MEMORY_MIB 128
#define VV_MAX_DISKS 4
#define VV_MAX_DATA_CHANNELS 4
#define VV_MAX_GUEST_PORT 4294967294u /* data channels: any vsock/hvsocket port but -1 */

typedef enum { VV_PATH_MISSING, VV_PATH_FILE, VV_PATH_DIR, VV_PATH_OTHER, VV_PATH_ERROR } vv_path_kind;

/* What the platform answers about paths. */
typedef struct vv_platform {
    void *ctx;
    /* True when `path` is absolute on this platform. */
    int (*is_absolute)(void *ctx, const char *path);
    /* What exists at `path` (following symlinks); on VV_PATH_ERROR/MISSING sets *err (errno-like). */
    vv_path_kind (*path_kind)(void *ctx, const char *path, int *err);
    /* Optional: validates channelPath fully (e.g. Windows pipe names). NULL: unix socket rules. */
    int (*check_channel_path)(void *ctx, const char *path, vv_error *err);
} vv_platform;

/* The part of `hello` features that bounds a VmSpec. Lists are NULL-terminated, best first. */
typedef struct vv_limits {
    const char *host_arch;
    const char *const *guest_archs;
    const char *const *share_kinds;
    const char *const *channel_kinds;
    unsigned max_cpus;
    uint64_t max_memory_mib;
} vv_limits;

typedef struct vv_share {
    char tag[32];
    char *host_path;
    int read_only;
} vv_share;

/* What a helper offers for `disks` and `dataChannels` (hello features diskFormats,
 * readOnlyDisks, dataChannels). A separate struct so vv_limits initializers stay valid. */
typedef struct vv_device_limits {
    const char *const *disk_formats; /* NULL-terminated, best first; NULL or empty: no disks */
    int read_only_disks;             /* the host side enforces readOnly disks */
    unsigned max_data_channels;      /* 0 … VV_MAX_DATA_CHANNELS */
} vv_device_limits;

/* A block device (PROTOCOL.md §5.2.1); the guest sees disks in array order. */
typedef struct vv_disk {
    char id[21];
    char *host_path;
    int read_only;
    char format[16];
} vv_disk;

/* A byte-stream channel beside the SSH channel (PROTOCOL.md §5.2.2). */
typedef struct vv_data_channel {
    char name[17];
    char *path;
    uint32_t guest_port;
} vv_data_channel;

/* A validated VmSpec. Strings are owned; release with vv_spec_free. */
typedef struct vv_spec {
    char name[65];
    char arch[16];
    char share_kind[16];
    char channel_kind[16];
    char *kernel, *initrd, *cmdline, *channel_path, *console_log;
    unsigned cpus;
    uint64_t memory_mib;
    unsigned guest_port;
    vv_share shares[VV_MAX_SHARES];
    size_t n_shares;
    vv_disk disks[VV_MAX_DISKS];
    size_t n_disks;
    vv_data_channel data_channels[VV_MAX_DATA_CHANNELS];
    size_t n_data_channels;
} vv_spec;

/* Validates `params` into *spec. Returns 0, or -1 with err set (invalidArgument, notFound or
 * unsupported, the message naming the member); *spec is then already freed. `devices` says what
 * the helper offers for disks and data channels; NULL offers none (every entry is still
 * validated first, so malformed ones get the same answer from every helper: §5.2.3). */
int vv_spec_parse_with(const vj_value *params, const vv_limits *limits, const vv_device_limits *devices,
                       const vv_platform *pf, vv_spec *spec, vv_error *err);
/* vv_spec_parse_with offering no disks and no data channels. */
int vv_spec_parse(const vj_value *params, const vv_limits *limits, const vv_platform *pf,
                  vv_spec *spec, vv_error *err);
/* Parses `disks` and `dataChannels` into a spec whose other members are already parsed
 * (vv_spec_parse_with calls it). 0, or -1 with err set; the caller frees the spec. */
int vv_spec_parse_devices(const vj_value *params, const vv_device_limits *devices, const vv_platform *pf,
                          vv_spec *spec, vv_error *err);
/* Frees the strings of a spec (safe on a zeroed or already-freed spec). */
void vv_spec_free(vv_spec *spec);
/* Copies a C string to the heap (portable strdup). NULL when memory ran out. */
char *vv_strdup(const char *s);

#endif
