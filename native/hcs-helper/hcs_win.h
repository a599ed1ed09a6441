/*
 * hcs_win: small Windows helpers shared by the helper's Windows files: UTF-8 <-> UTF-16,
 * the current user's SID, security descriptors from SDDL, and a monotonic clock.
 */
#ifndef HCS_WIN_H
#define HCS_WIN_H

#include <windows.h>

/* UTF-16 -> UTF-8 (invalid sequences become U+FFFD). Returns malloc'd text or NULL. */
char *hcs_utf8(const wchar_t *w);
/* UTF-8 -> UTF-16. Returns malloc'd text, or NULL when s is not valid UTF-8. */
wchar_t *hcs_wide(const char *s);

/* The SID of the user this process runs as, e.g. "S-1-5-21-...". Returns 0 or -1. */
int hcs_user_sid(char *out, size_t size);

/* Security attributes from an SDDL string; free with hcs_free_sa. Returns 0 or -1. */
int hcs_sa_from_sddl(SECURITY_ATTRIBUTES *sa, const char *sddl);
/* Releases what hcs_sa_from_sddl allocated. */
void hcs_free_sa(SECURITY_ATTRIBUTES *sa);

/* An impersonation token of this process's user (for HCS's Plan 9 server to open files as the
 * user), or NULL when it cannot be made. Close with CloseHandle. */
HANDLE hcs_user_identity(void);

/* Milliseconds since an arbitrary point; never goes backwards. */
unsigned long long hcs_now_ms(void);

#endif
