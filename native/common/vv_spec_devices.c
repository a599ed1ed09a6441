/* vv_spec_devices: the VmSpec members `disks` and `dataChannels` (PROTOCOL.md §5.2.1-5.2.3).
 * Every entry is checked before what the helper offers, so a malformed request gets the same
 * answer from a helper that offers the feature and from one that does not. */
#include <stdio.h>
#include <string.h>

#include "vv_spec.h"
#include "vv_spec_rules.h"

/* `[a-z][a-z0-9-]{0,max-1}` */
static int lower_name(const char *s, size_t max) {
    size_t n = strlen(s);
    return n >= 1 && n <= max && s[0] >= 'a' && s[0] <= 'z' && vv_match_chars(s, "-", 0);
}

/* The member `member` must be an array of at most `max` entries; *out NULL when absent. */
static int get_array(const vj_value *params, const char *member, size_t max, const vj_value **out,
                     vv_error *err) {
    const vj_value *arr = vj_get(params, member);
    *out = NULL;
    if (!arr) return 0;
    if (arr->type != VJ_ARRAY) {
        vv_error_set(err, VV_INVALID_ARGUMENT, "%s must be an array (got %s)", member, vj_type_name(arr));
        return -1;
    }
    if (arr->u.list.count > max) {
        vv_error_set(err, VV_INVALID_ARGUMENT, "%s holds %zu entries; at most %zu are allowed", member,
                     arr->u.list.count, max);
        return -1;
    }
    *out = arr;
    return 0;
}

static int oom(vv_error *err) {
    vv_error_set(err, VV_INTERNAL, "out of memory");
    return -1;
}

static int parse_disk(const vj_value *d, size_t i, const vv_platform *pf, vv_spec *spec, vv_error *err) {
    char label[40];
    const char *id, *host, *format;
    if (d->type != VJ_OBJECT) {
        vv_error_set(err, VV_INVALID_ARGUMENT, "disks[%zu] must be an object (got %s)", i, vj_type_name(d));
        return -1;
    }
    snprintf(label, sizeof label, "disks[%zu].id", i);
    if (vv_get_str(d, "id", label, &id, 1, err) != 0) return -1;
    if (!lower_name(id, 20)) {
        vv_error_set(err, VV_INVALID_ARGUMENT, "%s \"%.40s\" must match [a-z][a-z0-9-]{0,19}", label, id);
        return -1;
    }
    for (size_t j = 0; j < spec->n_disks; j++)
        if (strcmp(spec->disks[j].id, id) == 0) {
            vv_error_set(err, VV_INVALID_ARGUMENT, "%s \"%s\" is used by disks[%zu] already", label, id, j);
            return -1;
        }
    snprintf(label, sizeof label, "disks[%zu].hostPath", i);
    if (vv_get_str(d, "hostPath", label, &host, 1, err) != 0 ||
        vv_check_existing(pf, label, host, VV_PATH_FILE, err) != 0)
        return -1;
    const vj_value *ro = vj_get(d, "readOnly");
    if (!ro || ro->type != VJ_BOOL) {
        vv_error_set(err, VV_INVALID_ARGUMENT, "disks[%zu].readOnly must be a boolean (%s)", i,
                     ro ? "wrong type" : "it is required");
        return -1;
    }
    snprintf(label, sizeof label, "disks[%zu].format", i);
    if (vv_get_str(d, "format", label, &format, 1, err) != 0) return -1;
    vv_disk *disk = &spec->disks[spec->n_disks];
    snprintf(disk->id, sizeof disk->id, "%s", id);
    /* Longer than any format name: unsupported, reported with the other offer checks. */
    snprintf(disk->format, sizeof disk->format, "%.15s", format);
    if (strlen(format) >= sizeof disk->format) disk->format[0] = '?';
    disk->read_only = ro->u.boolean;
    disk->host_path = vv_strdup(host);
    spec->n_disks++;
    return disk->host_path ? 0 : oom(err);
}

static int parse_disks(const vj_value *params, const vv_device_limits *dl, const vv_platform *pf,
                       vv_spec *spec, vv_error *err) {
    const vj_value *arr;
    if (get_array(params, "disks", VV_MAX_DISKS, &arr, err) != 0) return -1;
    if (!arr) return 0;
    size_t i = 0;
    for (const vj_value *d = arr->u.list.first; d; d = d->next, i++)
        if (parse_disk(d, i, pf, spec, err) != 0) return -1;
    for (i = 0; i < spec->n_disks; i++) {
        const vv_disk *d = &spec->disks[i];
        if (!vv_in_list(dl->disk_formats, d->format)) {
            char all[160];
            vv_list_text(dl->disk_formats, all, sizeof all);
            vv_error_set(err, VV_UNSUPPORTED, "disks[%zu].format \"%.40s\" is not offered by this helper (offered: %s)",
                         i, d->format, all[0] ? all : "none; it cannot attach disks");
            return -1;
        }
        if (d->read_only && !dl->read_only_disks) {
            vv_error_set(err, VV_UNSUPPORTED,
                         "disks[%zu].readOnly: this helper cannot enforce read-only disks on the host side", i);
            return -1;
        }
    }
    return 0;
}

static int parse_channel(const vj_value *c, size_t i, const vv_platform *pf, vv_spec *spec, vv_error *err) {
    char label[40];
    const char *name, *path;
    uint64_t port;
    if (c->type != VJ_OBJECT) {
        vv_error_set(err, VV_INVALID_ARGUMENT, "dataChannels[%zu] must be an object (got %s)", i, vj_type_name(c));
        return -1;
    }
    snprintf(label, sizeof label, "dataChannels[%zu].name", i);
    if (vv_get_str(c, "name", label, &name, 1, err) != 0) return -1;
    if (!lower_name(name, 16) || strcmp(name, "ssh") == 0) {
        vv_error_set(err, VV_INVALID_ARGUMENT, "%s \"%.40s\" must match [a-z][a-z0-9-]{0,15} and not be \"ssh\"",
                     label, name);
        return -1;
    }
    for (size_t j = 0; j < spec->n_data_channels; j++)
        if (strcmp(spec->data_channels[j].name, name) == 0) {
            vv_error_set(err, VV_INVALID_ARGUMENT, "%s \"%s\" is used by dataChannels[%zu] already", label, name, j);
            return -1;
        }
    snprintf(label, sizeof label, "dataChannels[%zu].path", i);
    if (vv_get_str(c, "path", label, &path, 1, err) != 0 || vv_check_channel_endpoint(pf, label, path, err) != 0)
        return -1;
    const char *taken = strcmp(path, spec->channel_path) == 0 ? "channelPath"
                        : strcmp(path, spec->console_log) == 0 ? "consoleLog" : NULL;
    for (size_t j = 0; !taken && j < spec->n_data_channels; j++)
        if (strcmp(path, spec->data_channels[j].path) == 0) taken = "another data channel";
    if (taken) {
        vv_error_set(err, VV_INVALID_ARGUMENT, "%s %.300s is already used by %s", label, path, taken);
        return -1;
    }
    const vj_value *pv = vj_get(c, "guestPort");
    if (!vj_as_uint(pv, &port) || port < 1 || port > VV_MAX_GUEST_PORT) {
        vv_error_set(err, VV_INVALID_ARGUMENT, "dataChannels[%zu].guestPort must be an integer in 1..%u", i,
                     VV_MAX_GUEST_PORT);
        return -1;
    }
    if (port == spec->guest_port) {
        vv_error_set(err, VV_INVALID_ARGUMENT, "dataChannels[%zu].guestPort %llu is the SSH channel's guestPort",
                     i, (unsigned long long)port);
        return -1;
    }
    for (size_t j = 0; j < spec->n_data_channels; j++)
        if (spec->data_channels[j].guest_port == port) {
            vv_error_set(err, VV_INVALID_ARGUMENT, "dataChannels[%zu].guestPort %llu is used by dataChannels[%zu] already",
                         i, (unsigned long long)port, j);
            return -1;
        }
    vv_data_channel *dc = &spec->data_channels[spec->n_data_channels];
    snprintf(dc->name, sizeof dc->name, "%s", name);
    dc->guest_port = (uint32_t)port;
    dc->path = vv_strdup(path);
    spec->n_data_channels++;
    return dc->path ? 0 : oom(err);
}

static int parse_channels(const vj_value *params, const vv_device_limits *dl, const vv_platform *pf,
                          vv_spec *spec, vv_error *err) {
    const vj_value *arr;
    if (get_array(params, "dataChannels", VV_MAX_DATA_CHANNELS, &arr, err) != 0) return -1;
    if (!arr) return 0;
    size_t i = 0;
    for (const vj_value *c = arr->u.list.first; c; c = c->next, i++)
        if (parse_channel(c, i, pf, spec, err) != 0) return -1;
    if (spec->n_data_channels > dl->max_data_channels) {
        vv_error_set(err, VV_UNSUPPORTED, "dataChannels holds %zu entries; this helper offers %u", spec->n_data_channels,
                     dl->max_data_channels);
        return -1;
    }
    return 0;
}

int vv_spec_parse_devices(const vj_value *params, const vv_device_limits *devices, const vv_platform *pf,
                          vv_spec *spec, vv_error *err) {
    if (parse_disks(params, devices, pf, spec, err) != 0) return -1;
    return parse_channels(params, devices, pf, spec, err);
}
