/* qh_devices: the host side of a VM's channels and disks. Sockets are created by the helper
 * (mode 0600) and handed to QEMU as listening fds; disk images are opened by the helper and
 * handed over as fds, so what QEMU uses is exactly what was checked. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "qh.h"

int qh_make_socket(const char *path, const char *label, vv_error *err) {
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof a.sun_path) {
        vv_error_set(err, VV_INVALID_ARGUMENT, "%s is too long for a unix socket", label);
        return -1;
    }
    strcpy(a.sun_path, path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) goto fail;
    /* umask 077 (set at startup) makes the socket 0600 from its creation; chmod states it.
     * bind never follows a symlink at the path: it fails with EADDRINUSE instead. */
    if (bind(fd, (struct sockaddr *)&a, sizeof a) != 0) goto fail;
    if (chmod(path, 0600) != 0 || listen(fd, 4) != 0) { unlink(path); goto fail; }
    return fd;
fail:
    vv_error_set(err, VV_INTERNAL, "%s: cannot create the socket %s: %s", label, path, strerror(errno));
    vv_error_cause_int(err, "errno", errno);
    vv_error_cause_str(err, "path", path);
    if (fd >= 0) close(fd);
    return -1;
}

/* Opens a disk image with `flags`; it must (still) be a regular file. */
static int open_disk(const vv_disk *d, size_t i, int flags, vv_error *err) {
    int fd = open(d->host_path, flags | O_CLOEXEC | O_NOCTTY);
    struct stat st;
    if (fd < 0) {
        int e = errno;
        vv_error_set(err, e == ENOENT ? VV_NOT_FOUND : VV_INVALID_ARGUMENT, "disks[%zu].hostPath: cannot open %.300s %s: %s",
                     i, d->host_path, (flags & O_ACCMODE) == O_RDWR ? "for writing" : "for reading", strerror(e));
        vv_error_cause_int(err, "errno", e);
        vv_error_cause_str(err, "path", d->host_path);
        return -1;
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        vv_error_set(err, VV_INVALID_ARGUMENT, "disks[%zu].hostPath: %.300s is not a regular file", i, d->host_path);
        vv_error_cause_str(err, "path", d->host_path);
        close(fd);
        return -1;
    }
    return fd;
}

void qh_devices_init(qh_device_fds *d) {
    for (size_t i = 0; i < VV_MAX_DISKS; i++) d->disk_ro[i] = d->disk_rw[i] = -1;
    for (size_t i = 0; i < VV_MAX_DATA_CHANNELS; i++) d->data[i] = -1;
}

void qh_devices_close(qh_device_fds *d) {
    for (size_t i = 0; i < VV_MAX_DISKS; i++) {
        if (d->disk_ro[i] >= 0) close(d->disk_ro[i]);
        if (d->disk_rw[i] >= 0) close(d->disk_rw[i]);
    }
    for (size_t i = 0; i < VV_MAX_DATA_CHANNELS; i++)
        if (d->data[i] >= 0) close(d->data[i]);
    qh_devices_init(d);
}

void qh_devices_unlink(const vv_spec *s) {
    for (size_t i = 0; i < s->n_data_channels; i++) unlink(s->data_channels[i].path);
}

int qh_devices_open(const vv_spec *s, qh_device_fds *d, vv_error *err) {
    qh_devices_init(d);
    for (size_t i = 0; i < s->n_disks; i++) {
        const vv_disk *disk = &s->disks[i];
        if ((d->disk_ro[i] = open_disk(disk, i, O_RDONLY, err)) < 0) goto fail;
        if (!disk->read_only && (d->disk_rw[i] = open_disk(disk, i, O_RDWR, err)) < 0) goto fail;
    }
    for (size_t i = 0; i < s->n_data_channels; i++) {
        char label[40];
        snprintf(label, sizeof label, "dataChannels[%zu].path", i);
        if ((d->data[i] = qh_make_socket(s->data_channels[i].path, label, err)) < 0) {
            /* Only the endpoints created so far are ours to remove. */
            for (size_t j = 0; j < i; j++) unlink(s->data_channels[j].path);
            goto fail;
        }
    }
    return 0;
fail:
    qh_devices_close(d);
    return -1;
}
