/* hcs_win: Windows helpers (see hcs_win.h). */
#include "hcs_win.h"

#include <sddl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char *hcs_utf8(const wchar_t *w) {
    if (!w) return NULL;
    int n = WideCharToMultiByte(CP_UTF8, 0, w, -1, NULL, 0, NULL, NULL);
    if (n <= 0) return NULL;
    char *s = malloc((size_t)n);
    if (s && WideCharToMultiByte(CP_UTF8, 0, w, -1, s, n, NULL, NULL) <= 0) { free(s); s = NULL; }
    return s;
}

wchar_t *hcs_wide(const char *s) {
    if (!s) return NULL;
    int n = MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, s, -1, NULL, 0);
    if (n <= 0) return NULL;
    wchar_t *w = malloc((size_t)n * sizeof *w);
    if (w && MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, s, -1, w, n) <= 0) { free(w); w = NULL; }
    return w;
}

int hcs_user_sid(char *out, size_t size) {
    HANDLE token = NULL;
    if (!OpenProcessToken(GetCurrentProcess(), TOKEN_QUERY, &token)) return -1;
    union { TOKEN_USER user; unsigned char bytes[256]; } info;
    DWORD len = 0;
    int rc = -1;
    if (GetTokenInformation(token, TokenUser, &info, sizeof info, &len)) {
        LPSTR text = NULL;
        if (ConvertSidToStringSidA(info.user.User.Sid, &text)) {
            if (strlen(text) < size) { strcpy(out, text); rc = 0; }
            LocalFree(text);
        }
    }
    CloseHandle(token);
    return rc;
}

int hcs_sa_from_sddl(SECURITY_ATTRIBUTES *sa, const char *sddl) {
    PSECURITY_DESCRIPTOR sd = NULL;
    ZeroMemory(sa, sizeof *sa);
    if (!ConvertStringSecurityDescriptorToSecurityDescriptorA(sddl, SDDL_REVISION_1, &sd, NULL))
        return -1;
    sa->nLength = sizeof *sa;
    sa->lpSecurityDescriptor = sd;
    sa->bInheritHandle = FALSE;
    return 0;
}

void hcs_free_sa(SECURITY_ATTRIBUTES *sa) {
    if (sa->lpSecurityDescriptor) LocalFree(sa->lpSecurityDescriptor);
    sa->lpSecurityDescriptor = NULL;
}

unsigned long long hcs_now_ms(void) { return GetTickCount64(); }

/* An impersonation token of this process's user, so HCS's 9p server opens files as the user
 * (WSL passes the user token and sets UseShareRootIdentity). NULL when it cannot be made. */
HANDLE hcs_user_identity(void) {
    HANDLE tok = NULL, imp = NULL;
    if (OpenProcessToken(GetCurrentProcess(), TOKEN_DUPLICATE | TOKEN_QUERY, &tok)) {
        if (!DuplicateTokenEx(tok, TOKEN_ALL_ACCESS, NULL, SecurityImpersonation, TokenImpersonation, &imp))
            imp = NULL;
        CloseHandle(tok);
    }
    return imp;
}
