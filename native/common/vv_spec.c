/* vv_spec: VmSpec validation. Every failure names the member and the real cause. */
#include "vv_spec.h"
#include "vv_spec_rules.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char *vv_strdup(const char *s) {
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d) memcpy(d, s, n);
    return d;
}

void vv_spec_free(vv_spec *spec) {
    free(spec->kernel);
    free(spec->initrd);
    free(spec->cmdline);
    free(spec->channel_path);
    free(spec->console_log);
    for (size_t i = 0; i < spec->n_shares; i++) free(spec->shares[i].host_path);
    for (size_t i = 0; i < spec->n_disks; i++) free(spec->disks[i].host_path);
    for (size_t i = 0; i < spec->n_data_channels; i++) free(spec->data_channels[i].path);
    memset(spec, 0, sizeof *spec);
}

int vv_in_list(const char *const *list, const char *s) {
    for (; list && *list; list++)
        if (strcmp(*list, s) == 0) return 1;
    return 0;
}

void vv_list_text(const char *const *list, char *out, size_t cap) {
    out[0] = '\0';
    for (; list && *list; list++) {
        size_t n = strlen(out);
        if (n + strlen(*list) + 3 >= cap) break;
        if (n) strcat(out, ", ");
        strcat(out, *list);
    }
}

int vv_match_chars(const char *s, const char *allowed_extra, int allow_upper) {
    for (; *s; s++) {
        char c = *s;
        int ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                 (allow_upper && c >= 'A' && c <= 'Z') || (c && strchr(allowed_extra, c));
        if (!ok) return 0;
    }
    return 1;
}

/* Reads an optional string member; -1 on a wrong type. *out is NULL when absent. */
int vv_get_str(const vj_value *params, const char *member, const char *label, const char **out,
                   int required, vv_error *err) {
    const vj_value *v = vj_get(params, member);
    *out = NULL;
    if (!v) {
        if (!required) return 0;
        vv_error_set(err, VV_INVALID_ARGUMENT, "%s is required", label);
        return -1;
    }
    if (v->type != VJ_STRING || !vj_is_cstring(v)) {
        vv_error_set(err, VV_INVALID_ARGUMENT, "%s must be a string without NUL bytes (got %s)", label,
                     vj_type_name(v));
        return -1;
    }
    *out = v->u.string.s;
    return 0;
}

static int get_uint(const vj_value *params, const char *member, uint64_t lo, uint64_t hi,
                    uint64_t *out, int required, vv_error *err) {
    const vj_value *v = vj_get(params, member);
    if (!v && !required) return 0;
    if (!vj_as_uint(v, out) || *out < lo || *out > hi) {
        vv_error_set(err, VV_INVALID_ARGUMENT, "%s must be an integer in %llu..%llu", member,
                     (unsigned long long)lo, (unsigned long long)hi);
        return -1;
    }
    return 0;
}

static void cause_path(vv_error *err, const char *path, int e) {
    vv_error_cause_str(err, "path", path);
    if (e) vv_error_cause_int(err, "errno", e);
}

/* An absolute path naming an existing thing of `want` kind (FILE or DIR). */
int vv_check_existing(const vv_platform *pf, const char *label, const char *path,
                          vv_path_kind want, vv_error *err) {
    if (!pf->is_absolute(pf->ctx, path)) {
        vv_error_set(err, VV_INVALID_ARGUMENT, "%s: \"%.300s\" is not an absolute path", label, path);
        return -1;
    }
    int e = 0;
    vv_path_kind k = pf->path_kind(pf->ctx, path, &e);
    if (k == want) return 0;
    if (k == VV_PATH_MISSING)
        vv_error_set(err, VV_NOT_FOUND, "%s: %.300s does not exist", label, path);
    else if (k == VV_PATH_ERROR)
        vv_error_set(err, VV_INVALID_ARGUMENT, "%s: %.300s cannot be examined", label, path);
    else
        vv_error_set(err, VV_INVALID_ARGUMENT, "%s: %.300s is not %s", label, path,
                     want == VV_PATH_DIR ? "a directory" : "a regular file");
    cause_path(err, path, e);
    return -1;
}

/* Copies the directory part of `path` (everything before the last separator). */
static int parent_of(const char *path, char *out, size_t cap) {
    const char *slash = strrchr(path, '/');
    const char *bslash = strrchr(path, '\\');
    if (bslash && (!slash || bslash > slash)) slash = bslash;
    if (!slash) return -1;
    size_t n = (size_t)(slash - path);
    if (n == 0) n = 1; /* "/x" -> "/" */
    if (n >= cap) return -1;
    memcpy(out, path, n);
    out[n] = '\0';
    return 0;
}

/* A path where the helper creates something: absolute, parent directory exists. */
int vv_check_creatable(const vv_platform *pf, const char *label, const char *path, int must_not_exist,
                           vv_error *err) {
    char parent[4096];
    if (!pf->is_absolute(pf->ctx, path) || parent_of(path, parent, sizeof parent) != 0) {
        vv_error_set(err, VV_INVALID_ARGUMENT, "%s: \"%.300s\" is not an absolute path", label, path);
        return -1;
    }
    int e = 0;
    vv_path_kind k = pf->path_kind(pf->ctx, parent, &e);
    if (k != VV_PATH_DIR) {
        vv_error_set(err, k == VV_PATH_MISSING ? VV_NOT_FOUND : VV_INVALID_ARGUMENT,
                     "%s: the directory %.300s %s", label, parent,
                     k == VV_PATH_MISSING ? "does not exist" : "is not a usable directory");
        cause_path(err, parent, e);
        return -1;
    }
    k = pf->path_kind(pf->ctx, path, &e);
    if (must_not_exist && k != VV_PATH_MISSING) {
        vv_error_set(err, VV_INVALID_ARGUMENT, "%s: %.300s already exists", label, path);
        cause_path(err, path, 0);
        return -1;
    }
    if (!must_not_exist && k != VV_PATH_MISSING && k != VV_PATH_FILE) {
        vv_error_set(err, VV_INVALID_ARGUMENT, "%s: %.300s exists and is not a regular file", label, path);
        cause_path(err, path, 0);
        return -1;
    }
    return 0;
}

int vv_check_channel_endpoint(const vv_platform *pf, const char *label, const char *path, vv_error *err) {
    if (pf->check_channel_path) {
        if (pf->check_channel_path(pf->ctx, path, err) == 0) return 0;
        /* The platform's check words its messages for channelPath; name the real member. */
        size_t n = strlen("channelPath");
        if (strcmp(label, "channelPath") != 0 && strncmp(err->message, "channelPath", n) == 0) {
            char msg[sizeof err->message];
            snprintf(msg, sizeof msg, "%s%s", label, err->message + n);
            snprintf(err->message, sizeof err->message, "%s", msg);
        }
        return -1;
    }
    if (strlen(path) > VV_MAX_CHANNEL_PATH) {
        vv_error_set(err, VV_INVALID_ARGUMENT, "%s is %zu bytes; unix sockets allow at most %d", label,
                     strlen(path), VV_MAX_CHANNEL_PATH);
        return -1;
    }
    return vv_check_creatable(pf, label, path, 1, err);
}

static int pick_kind(const vj_value *params, const char *member, const char *const *allowed,
                     char *out, size_t cap, vv_error *err) {
    const char *s;
    char all[160];
    if (vv_get_str(params, member, member, &s, 0, err) != 0) return -1;
    if (!s) s = allowed && allowed[0] ? allowed[0] : "";
    if (!vv_in_list(allowed, s) || strlen(s) >= cap) {
        vv_list_text(allowed, all, sizeof all);
        vv_error_set(err, VV_UNSUPPORTED, "%s \"%.40s\" is not offered by this helper (offered: %s)",
                     member, s, all[0] ? all : "none");
        return -1;
    }
    strcpy(out, s);
    return 0;
}

static int parse_shares(const vj_value *params, const vv_platform *pf, vv_spec *spec, vv_error *err) {
    const vj_value *arr = vj_get(params, "shares");
    if (!arr) return 0;
    if (arr->type != VJ_ARRAY) {
        vv_error_set(err, VV_INVALID_ARGUMENT, "shares must be an array (got %s)", vj_type_name(arr));
        return -1;
    }
    if (arr->u.list.count > VV_MAX_SHARES) {
        vv_error_set(err, VV_INVALID_ARGUMENT, "shares holds %zu entries; at most %d are allowed",
                     arr->u.list.count, VV_MAX_SHARES);
        return -1;
    }
    size_t i = 0;
    for (const vj_value *s = arr->u.list.first; s; s = s->next, i++) {
        char label[48];
        const char *tag, *host;
        if (s->type != VJ_OBJECT) {
            vv_error_set(err, VV_INVALID_ARGUMENT, "shares[%zu] must be an object", i);
            return -1;
        }
        snprintf(label, sizeof label, "shares[%zu].tag", i);
        if (vv_get_str(s, "tag", label, &tag, 1, err) != 0) return -1;
        size_t n = strlen(tag);
        if (n < 1 || n > 31 || !(tag[0] >= 'a' && tag[0] <= 'z') || !vv_match_chars(tag, "_-", 0)) {
            vv_error_set(err, VV_INVALID_ARGUMENT,
                         "%s \"%.40s\" must match [a-z][a-z0-9_-]{0,30}", label, tag);
            return -1;
        }
        for (size_t j = 0; j < spec->n_shares; j++)
            if (strcmp(spec->shares[j].tag, tag) == 0) {
                vv_error_set(err, VV_INVALID_ARGUMENT, "%s \"%s\" is used by shares[%zu] already", label, tag, j);
                return -1;
            }
        snprintf(label, sizeof label, "shares[%zu].hostPath", i);
        if (vv_get_str(s, "hostPath", label, &host, 1, err) != 0) return -1;
        if (vv_check_existing(pf, label, host, VV_PATH_DIR, err) != 0) return -1;
        const vj_value *ro = vj_get(s, "readOnly");
        if (ro && ro->type != VJ_BOOL) {
            vv_error_set(err, VV_INVALID_ARGUMENT, "shares[%zu].readOnly must be a boolean", i);
            return -1;
        }
        vv_share *sh = &spec->shares[spec->n_shares];
        strcpy(sh->tag, tag);
        sh->read_only = ro ? ro->u.boolean : 0;
        sh->host_path = vv_strdup(host);
        spec->n_shares++;
        if (!sh->host_path) { vv_error_set(err, VV_INTERNAL, "out of memory"); return -1; }
    }
    return 0;
}

static int parse_all(const vj_value *params, const vv_limits *lim, const vv_platform *pf, vv_spec *spec,
                     vv_error *err) {
    const char *s;
    uint64_t u;
    if (!params) { vv_error_set(err, VV_INVALID_ARGUMENT, "start needs params (a VmSpec)"); return -1; }
    if (vv_get_str(params, "name", "name", &s, 1, err) != 0) return -1;
    if (strlen(s) < 1 || strlen(s) > 64 || !vv_match_chars(s, "._-", 1)) {
        vv_error_set(err, VV_INVALID_ARGUMENT, "name \"%.80s\" must match [A-Za-z0-9._-]{1,64}", s);
        return -1;
    }
    strcpy(spec->name, s);
    if (vv_get_str(params, "arch", "arch", &s, 0, err) != 0) return -1;
    if (!s) s = lim->host_arch;
    if (!vv_in_list(lim->guest_archs, s) || strlen(s) >= sizeof spec->arch) {
        char all[160];
        vv_list_text(lim->guest_archs, all, sizeof all);
        vv_error_set(err, VV_UNSUPPORTED, "arch \"%.40s\" cannot be booted by this helper here (can: %s)", s,
                     all[0] ? all : "none");
        return -1;
    }
    strcpy(spec->arch, s);
    if (vv_get_str(params, "kernel", "kernel", &s, 1, err) != 0 ||
        vv_check_existing(pf, "kernel", s, VV_PATH_FILE, err) != 0)
        return -1;
    spec->kernel = vv_strdup(s);
    if (vv_get_str(params, "initrd", "initrd", &s, 1, err) != 0 ||
        vv_check_existing(pf, "initrd", s, VV_PATH_FILE, err) != 0)
        return -1;
    spec->initrd = vv_strdup(s);
    if (vv_get_str(params, "cmdline", "cmdline", &s, 0, err) != 0) return -1;
    if (!s) s = "";
    if (strlen(s) > VV_MAX_CMDLINE) {
        vv_error_set(err, VV_INVALID_ARGUMENT, "cmdline is %zu bytes; at most %d are allowed", strlen(s),
                     VV_MAX_CMDLINE);
        return -1;
    }
    for (const char *c = s; *c; c++)
        if ((unsigned char)*c < 0x20 || *c == 0x7f) {
            vv_error_set(err, VV_INVALID_ARGUMENT, "cmdline must not contain control characters");
            return -1;
        }
    spec->cmdline = vv_strdup(s);
    if (get_uint(params, "cpus", 1, lim->max_cpus, &u, 1, err) != 0) return -1;
    spec->cpus = (unsigned)u;
    if (get_uint(params, "memoryMiB", VV_MIN_MEMORY_MIB, lim->max_memory_mib, &u, 1, err) != 0) return -1;
    spec->memory_mib = u;
    if (pick_kind(params, "shareKind", lim->share_kinds, spec->share_kind, sizeof spec->share_kind, err) != 0)
        return -1;
    if (parse_shares(params, pf, spec, err) != 0) return -1;
    if (pick_kind(params, "channelKind", lim->channel_kinds, spec->channel_kind, sizeof spec->channel_kind,
                  err) != 0)
        return -1;
    if (vv_get_str(params, "channelPath", "channelPath", &s, 1, err) != 0 ||
        vv_check_channel_endpoint(pf, "channelPath", s, err) != 0)
        return -1;
    spec->channel_path = vv_strdup(s);
    u = 22;
    if (get_uint(params, "guestPort", 1, 65535, &u, 0, err) != 0) return -1;
    spec->guest_port = (unsigned)u;
    if (vv_get_str(params, "consoleLog", "consoleLog", &s, 1, err) != 0 ||
        vv_check_creatable(pf, "consoleLog", s, 0, err) != 0)
        return -1;
    spec->console_log = vv_strdup(s);
    if (!spec->kernel || !spec->initrd || !spec->cmdline || !spec->channel_path || !spec->console_log) {
        vv_error_set(err, VV_INTERNAL, "out of memory");
        return -1;
    }
    return 0;
}

int vv_spec_parse_with(const vj_value *params, const vv_limits *limits, const vv_device_limits *devices,
                       const vv_platform *pf, vv_spec *spec, vv_error *err) {
    static const vv_device_limits none = {NULL, 0, 0};
    memset(spec, 0, sizeof *spec);
    if (parse_all(params, limits, pf, spec, err) == 0 &&
        vv_spec_parse_devices(params, devices ? devices : &none, pf, spec, err) == 0)
        return 0;
    vv_spec_free(spec);
    return -1;
}

int vv_spec_parse(const vj_value *params, const vv_limits *limits, const vv_platform *pf, vv_spec *spec,
                  vv_error *err) {
    return vv_spec_parse_with(params, limits, NULL, pf, spec, err);
}
