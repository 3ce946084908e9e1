/* File access: read-only mappings, capped whole-file reads, atomic-enough writes, paths, clocks. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/core.h"

static vb_status openError(const char *path, vb_error *err)
{
    if (errno == ENOENT)
        return vbErrorSet(err, VB_ERR_NOT_FOUND, "%s: file not found", path);
    return vbErrorSet(err, VB_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
}

vb_status vbFileMap(const char *path, VbMappedFile *out, vb_error *err)
{
    out->data = NULL;
    out->size = 0;

    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return openError(path, err);

    vb_status st = VB_OK;
    struct stat sb;
    if (fstat(fd, &sb) != 0) {
        st = vbErrorSet(err, VB_ERR_IO, "%s: cannot stat: %s", path, strerror(errno));
        goto done;
    }
    if (!S_ISREG(sb.st_mode)) {
        st = vbErrorSet(err, VB_ERR_IO, "%s: not a regular file", path);
        goto done;
    }
    if (sb.st_size == 0)
        goto done;

    void *p = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (p == MAP_FAILED) {
        st = vbErrorSet(err, VB_ERR_IO, "%s: cannot map: %s", path, strerror(errno));
        goto done;
    }
    out->data = p;
    out->size = (size_t)sb.st_size;

done:
    close(fd);
    return st;
}

void vbFileUnmap(VbMappedFile *file)
{
    if (file == NULL || file->data == NULL)
        return;
    munmap((void *)file->data, file->size);
    file->data = NULL;
    file->size = 0;
}

vb_status vbFileRead(const char *path, size_t max_bytes, char **out, size_t *out_len,
                     vb_error *err)
{
    *out = NULL;
    if (out_len != NULL)
        *out_len = 0;

    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return openError(path, err);

    vb_status st = VB_OK;
    VbBuf buf;
    vbBufInit(&buf, max_bytes);
    char chunk[65536];
    for (;;) {
        ssize_t n = read(fd, chunk, sizeof chunk);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            st = vbErrorSet(err, VB_ERR_IO, "%s: read failed: %s", path, strerror(errno));
            goto done;
        }
        if (n == 0)
            break;
        st = vbBufAppend(&buf, chunk, (size_t)n, err);
        if (st == VB_ERR_LIMIT) {
            st = vbErrorSet(err, VB_ERR_LIMIT, "%s: file is larger than the limit of %zu bytes",
                            path, max_bytes);
            goto done;
        }
        if (st != VB_OK)
            goto done;
    }
    if (buf.data == NULL) {
        st = vbBufAppend(&buf, "", 0, err);
        if (st != VB_OK)
            goto done;
    }
    *out = vbBufDetach(&buf, out_len);

done:
    vbBufFree(&buf);
    close(fd);
    return st;
}

vb_status vbFileWrite(const char *path, const void *data, size_t n, vb_error *err)
{
    FILE *f = fopen(path, "wb");
    if (f == NULL)
        return vbErrorSet(err, VB_ERR_IO, "%s: cannot create: %s", path, strerror(errno));
    size_t written = n > 0 ? fwrite(data, 1, n, f) : 0;
    int close_failed = fclose(f) != 0;
    if (written != n || close_failed)
        return vbErrorSet(err, VB_ERR_IO, "%s: write failed: %s", path, strerror(errno));
    return VB_OK;
}

char *vbPathJoin(const char *dir, const char *name)
{
    if (dir == NULL || dir[0] == '\0')
        return vbStrdup(name);
    size_t dl = strlen(dir), nl = strlen(name);
    int slash = dir[dl - 1] != '/';
    char *p = malloc(dl + (size_t)slash + nl + 1);
    if (p == NULL)
        return NULL;
    memcpy(p, dir, dl);
    if (slash)
        p[dl] = '/';
    memcpy(p + dl + (size_t)slash, name, nl + 1);
    return p;
}

uint64_t vbNowNs(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* The online core count, read once. glibc's sysconf opens and parses a
 * sysfs file on every call, which cost several microseconds per
 * convolution when kernels sized their workspace with it at each run.
 * A fixed value also keeps run-time workspace sizes equal to those
 * planned at load. 0: not read yet. */
static _Atomic int cpuCount;

int vbCpuCount(void)
{
    int n = atomic_load_explicit(&cpuCount, memory_order_relaxed);
    if (n == 0) {
        long online = sysconf(_SC_NPROCESSORS_ONLN);
        if (online > INT_MAX)
            online = INT_MAX;
        n = online < 1 ? 1 : (int)online;
        atomic_store_explicit(&cpuCount, n, memory_order_relaxed);
    }
    return n;
}

char *vbStrdup(const char *s)
{
    if (s == NULL)
        return NULL;
    size_t n = strlen(s) + 1;
    char *p = malloc(n);
    if (p != NULL)
        memcpy(p, s, n);
    return p;
}
