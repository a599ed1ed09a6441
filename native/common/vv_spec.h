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
} vv_spec;

/* Validates `params` into *spec. Returns 0, or -1 with err set (invalidArgument, notFound or
 * unsupported, the message naming the member); *spec is then already freed. */
int vv_spec_parse(const vj_value *params, const vv_limits *limits, const vv_platform *pf,
                  vv_spec *spec, vv_error *err);
/* Frees the strings of a spec (safe on a zeroed or already-freed spec). */
void vv_spec_free(vv_spec *spec);
/* Copies a C string to the heap (portable strdup). NULL when memory ran out. */
char *vv_strdup(const char *s);

#endif
