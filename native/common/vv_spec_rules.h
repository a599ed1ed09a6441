/*
 * vv_spec_rules: the member rules vv_spec.c and vv_spec_devices.c share (internal to
 * native/common; helpers use vv_spec.h). Each check returns 0, or -1 with err set naming
 * `label` and the real cause.
 */
#ifndef VV_SPEC_RULES_H
#define VV_SPEC_RULES_H

#include "vv_spec.h"

/* True when `s` is in the NULL-terminated `list`. */
int vv_in_list(const char *const *list, const char *s);
/* Writes the list as "a, b" into out (truncated to cap). */
void vv_list_text(const char *const *list, char *out, size_t cap);
/* True when every char of `s` is [a-z0-9], an upper-case letter (if allowed) or in `allowed_extra`. */
int vv_match_chars(const char *s, const char *allowed_extra, int allow_upper);
/* Reads a string member without NUL bytes; *out is NULL when absent and not required. */
int vv_get_str(const vj_value *params, const char *member, const char *label, const char **out, int required,
               vv_error *err);
/* An absolute path naming an existing thing of `want` kind (VV_PATH_FILE or VV_PATH_DIR). */
int vv_check_existing(const vv_platform *pf, const char *label, const char *path, vv_path_kind want,
                      vv_error *err);
/* A path where the helper creates something: absolute, parent directory exists; with
 * must_not_exist nothing may be there, else only a regular file. */
int vv_check_creatable(const vv_platform *pf, const char *label, const char *path, int must_not_exist,
                       vv_error *err);
/* A channel endpoint path (the `channelPath` rules: the platform's check, or unix socket rules),
 * reported under `label`. */
int vv_check_channel_endpoint(const vv_platform *pf, const char *label, const char *path, vv_error *err);

#endif
