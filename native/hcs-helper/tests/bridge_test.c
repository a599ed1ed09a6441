/*
 * Wine test of the agent-channel bridge (hcs_bridge.c built with -DHCS_BRIDGE_TEST_TCP, where
 * the "guest" is a 127.0.0.1 TCP server because Wine has no AF_HYPERV). Checks: the pipe exists
 * exactly while the bridge runs, bytes flow both ways through the relay threads in quantity, a guest that
 * closes first still delivers what it sent, a second bridge (a data channel) beside the first
 * reaches its own guest port and stops on its own, and stopping a bridge removes its pipe.
 */
#include "hcs_bridge.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hcs_win.h"

#define PAYLOAD (256 * 1024)

static int failures;
#define CHECK(c)                                                                    \
    do {                                                                            \
        if (!(c)) {                                                                 \
            fprintf(stderr, "bridge_test.c:%d: check failed: %s\n", __LINE__, #c); \
            failures++;                                                             \
        }                                                                           \
    } while (0)

static SOCKET listener;

/* The fake guest. Session 1: echo every byte upper-cased until EOF. Session 2: say "bye" and
 * close at once. */
static DWORD WINAPI guest(LPVOID arg) {
    (void)arg;
    SOCKET c = accept(listener, NULL, NULL);
    char buf[8192];
    int n;
    while ((n = recv(c, buf, sizeof buf, 0)) > 0) {
        for (int i = 0; i < n; i++)
            if (buf[i] >= 'a' && buf[i] <= 'z') buf[i] = (char)(buf[i] - 32);
        for (int off = 0; off < n;) {
            int k = send(c, buf + off, n - off, 0);
            if (k <= 0) break;
            off += k;
        }
    }
    closesocket(c);
    c = accept(listener, NULL, NULL);
    send(c, "bye", 3, 0);
    closesocket(c);
    return 0;
}

/* The data channel's guest: one session that says who it is and closes. */
static DWORD WINAPI data_guest(LPVOID arg) {
    SOCKET l = (SOCKET)(uintptr_t)arg;
    SOCKET c = accept(l, NULL, NULL);
    send(c, "egress-guest", 12, 0);
    closesocket(c);
    return 0;
}

/* A 127.0.0.1 listener on a free port; writes the port. */
static SOCKET listen_local(u_short *port) {
    SOCKET l = socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
    struct sockaddr_in a;
    int alen = sizeof a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    CHECK(bind(l, (struct sockaddr *)&a, sizeof a) == 0);
    CHECK(listen(l, 2) == 0);
    CHECK(getsockname(l, (struct sockaddr *)&a, &alen) == 0);
    *port = ntohs(a.sin_port);
    return l;
}

static const char *pipe_name;

static HANDLE open_client(void) {
    wchar_t *w = hcs_wide(pipe_name);
    HANDLE h = INVALID_HANDLE_VALUE;
    for (int i = 0; i < 50 && h == INVALID_HANDLE_VALUE; i++) {
        WaitNamedPipeW(w, 1000);
        h = CreateFileW(w, GENERIC_READ | GENERIC_WRITE, 0, NULL, OPEN_EXISTING, 0, NULL);
    }
    free(w);
    return h;
}

static DWORD WINAPI writer(LPVOID arg) {
    HANDLE h = arg;
    char *data = malloc(PAYLOAD);
    for (int i = 0; i < PAYLOAD; i++) data[i] = (char)('a' + i % 26);
    DWORD n;
    for (int off = 0; off < PAYLOAD; off += (int)n)
        if (!WriteFile(h, data + off, PAYLOAD - off > 65536 ? 65536 : (DWORD)(PAYLOAD - off), &n, NULL)) break;
    free(data);
    return 0;
}

int main(void) {
    WSADATA wsa;
    WSAStartup(MAKEWORD(2, 2), &wsa);
    listener = socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
    struct sockaddr_in a;
    int alen = sizeof a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    CHECK(bind(listener, (struct sockaddr *)&a, sizeof a) == 0);
    CHECK(listen(listener, 2) == 0);
    CHECK(getsockname(listener, (struct sockaddr *)&a, &alen) == 0);
    HANDLE g = CreateThread(NULL, 0, guest, NULL, 0, NULL);

    char name[96], sid[192];
    snprintf(name, sizeof name, "\\\\.\\pipe\\viv-bridge-test-%lu", GetCurrentProcessId());
    pipe_name = name;
    CHECK(hcs_user_sid(sid, sizeof sid) == 0);
    GUID vm;
    CHECK(hcs_parse_guid("8a2b1c3d-0000-4e5f-9a8b-0123456789ab", &vm) == 0);
    CHECK(vm.Data1 == 0x8a2b1c3du && vm.Data4[7] == 0xab);

    hcs_bridge b;
    const char *call = NULL;
    DWORD err = 0;
    wchar_t *wn = hcs_wide(name);
    CHECK(!WaitNamedPipeW(wn, 1) && GetLastError() == ERROR_FILE_NOT_FOUND);
    CHECK(hcs_bridge_start(&b, name, sid, &vm, ntohs(a.sin_port), &call, &err) == 0);
    /* While the bridge runs the name exists: this is what the helper's channelPath check sees.
     * (Windows also refuses a second server through FILE_FLAG_FIRST_PIPE_INSTANCE; Wine 8
     * ignores that flag, so it cannot be shown here.) */
    CHECK(WaitNamedPipeW(wn, 1) || GetLastError() != ERROR_FILE_NOT_FOUND);

    /* Session 1: 256 KiB through the relay and back, written and read concurrently. */
    HANDLE c = open_client();
    CHECK(c != INVALID_HANDLE_VALUE);
    HANDLE w = CreateThread(NULL, 0, writer, c, 0, NULL);
    char *got = malloc(PAYLOAD);
    DWORD n;
    int total = 0;
    while (total < PAYLOAD && ReadFile(c, got + total, PAYLOAD - total, &n, NULL) && n > 0) total += (int)n;
    CHECK(total == PAYLOAD);
    int same = 1;
    for (int i = 0; i < total && same; i++) same = got[i] == (char)('A' + i % 26);
    CHECK(same);
    WaitForSingleObject(w, 10000);
    CloseHandle(w);
    CloseHandle(c);

    /* Session 2: the guest closes first; its last bytes still arrive, then EOF. */
    c = open_client();
    CHECK(c != INVALID_HANDLE_VALUE);
    char bye[8] = {0};
    total = 0;
    Sleep(500); /* let the session end before reading: closing must not discard unread bytes */
    while (total < 3 && ReadFile(c, bye + total, sizeof bye - 1 - total, &n, NULL) && n > 0) total += (int)n;
    CHECK(total == 3 && strcmp(bye, "bye") == 0);
    CHECK(!ReadFile(c, bye, sizeof bye, &n, NULL) || n == 0);
    CloseHandle(c);

    /* A data channel: a second bridge in the same process, its own pipe and guest port. */
    u_short data_port = 0;
    SOCKET data_listener = listen_local(&data_port);
    HANDLE dg = CreateThread(NULL, 0, data_guest, (LPVOID)(uintptr_t)data_listener, 0, NULL);
    char data_name[110];
    snprintf(data_name, sizeof data_name, "%s-data", name);
    wchar_t *wdn = hcs_wide(data_name);
    hcs_bridge d;
    CHECK(hcs_bridge_start(&d, data_name, sid, &vm, data_port, &call, &err) == 0);
    pipe_name = data_name;
    c = open_client();
    CHECK(c != INVALID_HANDLE_VALUE);
    char hello[16] = {0};
    total = 0;
    while (total < 12 && ReadFile(c, hello + total, sizeof hello - 1 - total, &n, NULL) && n > 0) total += (int)n;
    CHECK(total == 12 && strcmp(hello, "egress-guest") == 0);
    CloseHandle(c);
    hcs_bridge_stop(&d);
    CHECK(!WaitNamedPipeW(wdn, 1) && GetLastError() == ERROR_FILE_NOT_FOUND);
    CHECK(WaitNamedPipeW(wn, 1) || GetLastError() != ERROR_FILE_NOT_FOUND); /* the SSH pipe stays */
    WaitForSingleObject(dg, 5000);
    CloseHandle(dg);
    closesocket(data_listener);
    free(wdn);

    hcs_bridge_stop(&b);
    CHECK(!WaitNamedPipeW(wn, 1) && GetLastError() == ERROR_FILE_NOT_FOUND);
    free(wn);
    free(got);
    WaitForSingleObject(g, 5000);
    closesocket(listener);
    if (failures) {
        fprintf(stderr, "bridge_test: %d check(s) failed\n", failures);
        return 1;
    }
    printf("bridge_test: ok\n");
    return 0;
}
