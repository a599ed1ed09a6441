/*
 * vsh: the guest's SSH channel server and Hyper-V share mounter (static, no libraries).
 *
 *   vsh serial <port-name|device> <cmd> [args...]  serve <cmd> (dropbear -i) on a virtio-serial port
 *   vsh vsock  <port> <cmd> [args...]          serve <cmd> per connection on AF_VSOCK <port>
 *   vsh serial-exec <port-name|device> <cmd> [args...]
 *                                              exec <cmd> with the port as its stdin/stdout (vrelay)
 *   vsh vsock-connect <cid> <port>             stdin/stdout <-> vsock stream (diagnostics, tests)
 *   vsh hv9p-mount <host-port> <aname> <dir> <ro:0|1>
 *                                              dial vsock CID 2:<host-port>, mount 9p trans=fd
 *
 * dropbear -i needs a socket on stdin that getnameinfo understands: a virtio-serial port is not
 * a socket (ENOTSOCK) and AF_VSOCK fails its numeric lookup (BACKENDS 4.4). So each session runs
 * dropbear on one end of an AF_UNIX socketpair and vsh relays bytes between the other end and
 * the channel, without blocking either direction (non-blocking fds, one buffer per direction).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <dirent.h>
#include <linux/vm_sockets.h>

#define BUF_SIZE 65536

/* Tracing to stderr (the console) when VSH_DEBUG is set (init sets it for vivarium.debug=1). */
static int debug_on;
#define TRACE(...) do { if (debug_on) fprintf(stderr, "vsh: " __VA_ARGS__); } while (0)

static void die(const char *what) {
    fprintf(stderr, "vsh: %s: %s\n", what, strerror(errno));
    exit(1);
}

static void set_nonblock(int fd) {
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) die("fcntl O_NONBLOCK");
}

/* Starts argv with its stdin/stdout on one end of a new socketpair; returns the other end. */
static int spawn_on_socketpair(char **argv, pid_t *pid_out) {
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) die("socketpair");
    pid_t pid = fork();
    if (pid < 0) die("fork");
    if (pid == 0) {
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        signal(SIGCHLD, SIG_DFL);
        signal(SIGPIPE, SIG_DFL);
        if (dup2(sv[1], 0) < 0 || dup2(sv[1], 1) < 0) _exit(127);
        int devnull = open("/dev/null", O_WRONLY);
        if (devnull >= 0) dup2(devnull, 2); /* dropbear -i logs to syslog; keep stray stderr off the channel */
        execv(argv[0], argv);
        _exit(127);
    }
    close(sv[1]);
    *pid_out = pid;
    return sv[0];
}

struct pipe_buf { char data[BUF_SIZE]; size_t len, off; };

/* Moves bytes from `from` into b (when empty) and from b to `to`. Returns 0 on EOF or error. */
static int pump_in(int from, struct pipe_buf *b) {
    ssize_t n = read(from, b->data, sizeof b->data);
    if (n > 0) { b->len = (size_t)n; b->off = 0; return 1; }
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return 1;
    return 0;
}
static int pump_out(int to, struct pipe_buf *b) {
    ssize_t n = write(to, b->data + b->off, b->len - b->off);
    if (n > 0) { b->off += (size_t)n; if (b->off == b->len) b->len = b->off = 0; return 1; }
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return 1;
    return 0;
}

/*
 * Relays between the channel fd `ch` and the session socket `s` until either side ends.
 * `pending`: channel bytes already read that belong to this session (its first bytes).
 * Serial channels (`next` != NULL): QEMU can close one client and accept the next between two
 * polls, so the port never shows POLLHUP; the new client then shows up as an SSH identification
 * ("SSH-2.0-") in the byte stream. From there on the bytes are copied to `next` (*next_len set)
 * and the relay ends, so the old session never sees them and the next session starts with them.
 */
static void relay(int ch, int s, const char *pending, size_t pending_len, char *next, size_t *next_len) {
    static struct pipe_buf up, down; /* up: channel -> session; down: session -> channel */
    up.len = up.off = down.len = down.off = 0;
    if (next_len) *next_len = 0;
    if (pending_len) { memcpy(up.data, pending, pending_len); up.len = pending_len; }
    for (;;) {
        struct pollfd p[2] = {{ch, 0, 0}, {s, 0, 0}};
        if (up.len == 0) p[0].events |= POLLIN; else p[1].events |= POLLOUT;
        if (down.len == 0) p[1].events |= POLLIN; else p[0].events |= POLLOUT;
        if (poll(p, 2, -1) < 0) { if (errno == EINTR) continue; die("poll"); }
        TRACE("relay rev=%x/%x up=%zu down=%zu\n", p[0].revents, p[1].revents, up.len, down.len);
        if (p[0].revents & POLLIN) {
            if (!pump_in(ch, &up)) return;
            char *id = next ? memmem(up.data, up.len, "SSH-2.0-", 8) : NULL;
            if (id) {
                *next_len = up.len - (size_t)(id - up.data);
                memcpy(next, id, *next_len);
                TRACE("new client while a session runs: %zu bytes carried over\n", *next_len);
                return; /* what precedes it is the old client's goodbye: dropped with the session */
            }
        }
        if ((p[1].revents & POLLIN) && !pump_in(s, &down)) {
            /* The session ended: flush what it wrote last, then stop. */
            while (down.len) { struct pollfd w = {ch, POLLOUT, 0}; if (poll(&w, 1, 2000) <= 0 || !pump_out(ch, &down)) break; }
            return;
        }
        if ((p[1].revents & POLLOUT) && !pump_out(s, &up)) return;
        if ((p[0].revents & POLLOUT) && !pump_out(ch, &down)) return;
        if ((p[1].revents & (POLLHUP | POLLERR)) && !(p[1].revents & POLLIN)) return;
        /* A serial port polls POLLHUP once the host side disconnected (and reads 0 once drained). */
        if ((p[0].revents & (POLLHUP | POLLERR)) && !(p[0].revents & POLLIN)) return;
    }
}

static void end_session(int s, pid_t pid) {
    close(s);
    kill(pid, SIGTERM);
    while (waitpid(pid, NULL, 0) < 0 && errno == EINTR) {}
}

/*
 * Opens a virtio-serial port given as a device path or as its name (the QEMU `name=`). Ports
 * appear asynchronously after virtio_console loads (control messages), and devtmpfs nodes a
 * moment after sysfs, so this waits for both, up to 10 s, re-checking every 5 ms.
 */
static int open_port(const char *dev) {
    char path[300];
    for (int tries = 0; tries < 2000; tries++) {
        if (dev[0] == '/') {
            snprintf(path, sizeof path, "%s", dev);
        } else {
            path[0] = '\0';
            DIR *d = opendir("/sys/class/virtio-ports");
            struct dirent *e;
            while (d && (e = readdir(d)) != NULL) {
                if (e->d_name[0] == '.') continue;
                char np[300], name[128] = "";
                snprintf(np, sizeof np, "/sys/class/virtio-ports/%s/name", e->d_name);
                FILE *f = fopen(np, "r");
                if (!f) continue;
                if (fgets(name, sizeof name, f)) name[strcspn(name, "\n")] = '\0';
                fclose(f);
                if (strcmp(name, dev) == 0) { snprintf(path, sizeof path, "/dev/%s", e->d_name); break; }
            }
            if (d) closedir(d);
        }
        if (path[0]) {
            int fd = open(path, O_RDWR | O_NOCTTY | O_CLOEXEC);
            if (fd >= 0) return fd;
            if (errno != ENOENT) die(path);
        }
        usleep(5000);
    }
    fprintf(stderr, "vsh: virtio-serial port %s did not appear\n", dev);
    exit(1);
}

/*
 * virtio-serial: one host client at a time (QEMU's socket chardev). A session starts only when
 * the host sends an SSH identification line ("SSH-", the client speaks first in ssh2 and
 * OpenSSH): bytes that are not the start of a new client (late data of a closed session) are
 * dropped, and no dropbear talks to a host that went away, whose output QEMU could hand to
 * the next client. While no client is connected the port polls POLLHUP; vsh then sleeps on
 * SIGIO, which virtio_console raises when the host side opens or closes (fallback: a timed wait).
 */
__attribute__((noreturn)) static void serve_serial(const char *dev, char **argv) {
    int fd = open_port(dev); /* a port opens only once: keep it open for good */
    set_nonblock(fd);
    sigset_t sigio;
    sigemptyset(&sigio);
    sigaddset(&sigio, SIGIO);
    sigprocmask(SIG_BLOCK, &sigio, NULL);
    if (fcntl(fd, F_SETOWN, getpid()) < 0 || fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_ASYNC) < 0) die("O_ASYNC");
    static char first[BUF_SIZE];
    size_t carried = 0; /* bytes of a new client found at the end of the previous session */
    for (;;) {
        if (carried) {
            pid_t pid;
            int s = spawn_on_socketpair(argv, &pid);
            set_nonblock(s);
            static char again[BUF_SIZE];
            memcpy(again, first, carried);
            relay(fd, s, again, carried, first, &carried);
            end_session(s, pid);
            continue;
        }
        struct pollfd p = {fd, POLLIN, 0};
        if (poll(&p, 1, 1000) < 0 && errno != EINTR) die("poll");
        TRACE("idle rev=%x\n", p.revents);
        if (p.revents & POLLHUP) {
            struct timespec ts = {0, 200 * 1000 * 1000};
            sigtimedwait(&sigio, NULL, &ts);
            continue;
        }
        if (!(p.revents & POLLIN)) continue;
        ssize_t n = read(fd, first, sizeof first);
        TRACE("idle read %zd\n", n);
        if (n <= 0) continue;
        char *ident = memmem(first, (size_t)n, "SSH-", 4);
        if (!ident) continue; /* not a new client: stale bytes */
        pid_t pid;
        int s = spawn_on_socketpair(argv, &pid);
        set_nonblock(s);
        static char start[BUF_SIZE];
        size_t start_len = (size_t)(first + n - ident);
        memcpy(start, ident, start_len);
        relay(fd, s, start, start_len, first, &carried);
        end_session(s, pid);
    }
}

/*
 * virtio-serial handed over whole: the port becomes <cmd>'s stdin and stdout and <cmd> notices
 * host reconnects itself (vrelay: a hang-up, or a HELLO after zero padding; vrelay/RELAY.md). No
 * in-band session detection, which binary payloads could fool, and no extra copy.
 */
__attribute__((noreturn)) static void exec_on_port(const char *dev, char **argv) {
    int fd = open_port(dev);
    if (dup2(fd, 0) < 0 || dup2(fd, 1) < 0) die("dup2");
    if (fd > 1) close(fd);
    execv(argv[0], argv);
    die(argv[0]);
    exit(127); /* not reached: die exits */
}

/* vsock: fork per connection; each child relays one session. Children are auto-reaped. */
__attribute__((noreturn)) static void serve_vsock(unsigned port, char **argv) {
    int l = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (l < 0) die("socket(AF_VSOCK)");
    struct sockaddr_vm a = {.svm_family = AF_VSOCK, .svm_cid = VMADDR_CID_ANY, .svm_port = port};
    if (bind(l, (struct sockaddr *)&a, sizeof a) < 0) die("bind vsock");
    if (listen(l, 8) < 0) die("listen vsock");
    struct sigaction sa = {.sa_handler = SIG_IGN, .sa_flags = SA_NOCLDWAIT};
    sigaction(SIGCHLD, &sa, NULL);
    for (;;) {
        int c = accept4(l, NULL, NULL, SOCK_CLOEXEC);
        if (c < 0) { if (errno == EINTR || errno == ECONNABORTED) continue; die("accept vsock"); }
        pid_t child = fork();
        if (child == 0) {
            close(l);
            signal(SIGCHLD, SIG_DFL);
            pid_t pid;
            int s = spawn_on_socketpair(argv, &pid);
            set_nonblock(s);
            set_nonblock(c);
            relay(c, s, NULL, 0, NULL, NULL);
            end_session(s, pid);
            _exit(0);
        }
        close(c);
    }
}

/* Client side of a vsock stream on stdin/stdout (diagnostics and tests of the vsock server,
 * e.g. through vsock_loopback: `vsh vsock-connect 1 22` as an SSH transport). */
static int vsock_connect_stdio(unsigned cid, unsigned port) {
    int c = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (c < 0) die("socket(AF_VSOCK)");
    struct sockaddr_vm a = {.svm_family = AF_VSOCK, .svm_cid = cid, .svm_port = port};
    if (connect(c, (struct sockaddr *)&a, sizeof a) < 0) die("connect vsock");
    struct pipe_buf *in = calloc(1, sizeof *in), *out = calloc(1, sizeof *out);
    if (!in || !out) die("calloc");
    set_nonblock(0);
    set_nonblock(1);
    set_nonblock(c);
    int in_open = 1;
    for (;;) {
        struct pollfd p[3] = {{0, 0, 0}, {1, 0, 0}, {c, 0, 0}};
        if (in_open && in->len == 0) p[0].events = POLLIN; else if (in->len) p[2].events |= POLLOUT;
        if (out->len == 0) p[2].events |= POLLIN; else p[1].events = POLLOUT;
        if (poll(p, 3, -1) < 0) { if (errno == EINTR) continue; die("poll"); }
        if (p[0].revents & (POLLIN | POLLHUP)) {
            if (!pump_in(0, in)) { in_open = 0; shutdown(c, SHUT_WR); }
        }
        if ((p[2].revents & (POLLIN | POLLHUP)) && out->len == 0 && !pump_in(c, out)) return 0;
        if ((p[2].revents & POLLOUT) && !pump_out(c, in)) return 1;
        if ((p[1].revents & POLLOUT) && !pump_out(1, out)) return 1;
        if (p[1].revents & (POLLERR | POLLHUP)) return 1;
    }
}

/* Hyper-V Plan 9: the host's 9p server listens on a vsock port; Linux has no trans=vsock, so
 * connect here and hand the socket to the kernel with trans=fd (BACKENDS 2.5). */
static int hv9p_mount(unsigned port, const char *aname, const char *dir, int ro) {
    int s = -1;
    for (int attempt = 0; attempt < 20; attempt++) {
        s = socket(AF_VSOCK, SOCK_STREAM, 0);
        if (s < 0) die("socket(AF_VSOCK)");
        struct sockaddr_vm a = {.svm_family = AF_VSOCK, .svm_cid = VMADDR_CID_HOST, .svm_port = port};
        if (connect(s, (struct sockaddr *)&a, sizeof a) == 0) break;
        int e = errno;
        close(s);
        s = -1;
        if (e != ETIMEDOUT && e != ECONNRESET && e != ECONNREFUSED && e != EINTR) { errno = e; die("connect vsock host"); }
        usleep(100 * 1000);
    }
    if (s < 0) die("connect vsock host (retries exhausted)");
    char opts[256];
    snprintf(opts, sizeof opts, "trans=fd,rfdno=%d,wfdno=%d,msize=65536,version=9p2000.L,cache=mmap,aname=%s", s, s, aname);
    if (mount(aname, dir, "9p", MS_NOSUID | MS_NODEV | (ro ? MS_RDONLY : 0), opts) < 0) die("mount 9p trans=fd");
    close(s); /* the kernel holds its own reference */
    return 0;
}

static unsigned parse_port(const char *s) {
    char *end;
    unsigned long v = strtoul(s, &end, 10);
    if (*s == '\0' || *end != '\0' || v == 0 || v > 0xffffffffUL) { fprintf(stderr, "vsh: bad port '%s'\n", s); exit(2); }
    return (unsigned)v;
}

int main(int argc, char **argv) {
    signal(SIGPIPE, SIG_IGN);
    debug_on = getenv("VSH_DEBUG") != NULL;
    if (argc >= 4 && strcmp(argv[1], "serial") == 0) serve_serial(argv[2], argv + 3);
    if (argc >= 4 && strcmp(argv[1], "vsock") == 0) serve_vsock(parse_port(argv[2]), argv + 3);
    if (argc >= 4 && strcmp(argv[1], "serial-exec") == 0) exec_on_port(argv[2], argv + 3);
    if (argc == 4 && strcmp(argv[1], "vsock-connect") == 0) return vsock_connect_stdio(parse_port(argv[2]), parse_port(argv[3]));
    if (argc == 6 && strcmp(argv[1], "hv9p-mount") == 0)
        return hv9p_mount(parse_port(argv[2]), argv[3], argv[4], strcmp(argv[5], "1") == 0);
    fprintf(stderr, "usage: vsh serial NAME|DEV CMD... | vsh serial-exec NAME|DEV CMD... | vsh vsock PORT CMD... | vsh vsock-connect CID PORT\n"
                    "       vsh hv9p-mount PORT ANAME DIR RO\n");
    return 2;
}
