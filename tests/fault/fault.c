/* Fault injection for tests: `ld --wrap` wrappers that fail the Nth allocation or file access (see fault.h). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#include "fault/fault.h"

#if defined(__SANITIZE_ADDRESS__)
#define VB_FAULT_HAVE_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define VB_FAULT_HAVE_ASAN 1
#endif
#endif
#ifdef VB_FAULT_HAVE_ASAN
#include <sanitizer/common_interface_defs.h>
#endif

/* The real functions, as `ld --wrap=NAME` names them. */
void *__real_malloc(size_t size);
void *__real_calloc(size_t count, size_t size);
void *__real_realloc(void *p, size_t size);
void *__real_aligned_alloc(size_t alignment, size_t size);
int __real_posix_memalign(void **out, size_t alignment, size_t size);
char *__real_strdup(const char *s);
char *__real_strndup(const char *s, size_t n);
int __real_open(const char *path, int flags, ...);
FILE *__real_fopen(const char *path, const char *mode);
ssize_t __real_read(int fd, void *buf, size_t n);
ssize_t __real_pread(int fd, void *buf, size_t n, off_t offset);
size_t __real_fread(void *buf, size_t size, size_t n, FILE *f);

static atomic_long allocCalls, ioCalls;
static atomic_long allocTarget, ioTarget;  /* 0: never fail */
static atomic_int fired;
static atomic_int armed;                   /* 0: not yet read from the environment */

/* Appends "fired KIND N pid P" to the file VB_FAULT_LOG names, if any. Uses
 * only calls that are not wrapped and do not allocate. */
static void logFired(const char *kind, long n)
{
    const char *path = getenv("VB_FAULT_LOG");
    if (path == NULL || path[0] == '\0')
        return;
    char line[96];
    int len = snprintf(line, sizeof line, "fired %s %ld pid %ld\n", kind, n, (long)getpid());
    int fd = __real_open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0)
        return;
    if (len > 0 && write(fd, line, (size_t)len) < 0) {
        /* Nothing to do: the log is best effort. */
    }
    close(fd);
}

static long envCount(const char *name)
{
    const char *v = getenv(name);
    return v != NULL ? strtol(v, NULL, 10) : 0;
}

/* Reads VB_FAULT_ALLOC and VB_FAULT_IO once, unless vbFaultArm came first. */
static void armFromEnvironment(void)
{
    int expected = 0;
    if (atomic_load(&armed) != 0 || !atomic_compare_exchange_strong(&armed, &expected, 1))
        return;
    atomic_store(&allocTarget, envCount("VB_FAULT_ALLOC"));
    atomic_store(&ioTarget, envCount("VB_FAULT_IO"));
}

/* Counts one call of the given kind and returns nonzero when it must fail. */
static int countCall(atomic_long *calls, atomic_long *target, const char *kind)
{
    armFromEnvironment();
    long n = atomic_fetch_add(calls, 1) + 1;
    if (n != atomic_load(target))
        return 0;
    atomic_store(&fired, 1);
    logFired(kind, n);
#ifdef VB_FAULT_HAVE_ASAN
    if (getenv("VB_FAULT_STACK") != NULL) {
        fprintf(stderr, "fault: failing %s call %ld here:\n", kind, n);
        __sanitizer_print_stack_trace();
    }
#endif
    return 1;
}

static int allocFails(void)
{
    return countCall(&allocCalls, &allocTarget, "alloc");
}

static int ioFails(void)
{
    return countCall(&ioCalls, &ioTarget, "io");
}

void vbFaultArm(long alloc_n, long io_n)
{
    atomic_store(&armed, 1);
    atomic_store(&allocTarget, 0);
    atomic_store(&ioTarget, 0);
    atomic_store(&allocCalls, 0);
    atomic_store(&ioCalls, 0);
    atomic_store(&fired, 0);
    atomic_store(&allocTarget, alloc_n);
    atomic_store(&ioTarget, io_n);
}

void vbFaultDisarm(void)
{
    atomic_store(&armed, 1);
    atomic_store(&allocTarget, 0);
    atomic_store(&ioTarget, 0);
}

long vbFaultAllocCount(void)
{
    return atomic_load(&allocCalls);
}

long vbFaultIoCount(void)
{
    return atomic_load(&ioCalls);
}

int vbFaultFired(void)
{
    return atomic_load(&fired);
}

/* Allocation wrappers: a failed call returns NULL (or ENOMEM) with errno
 * ENOMEM, as the C library does when memory runs out. */

void *__wrap_malloc(size_t size)
{
    if (allocFails()) {
        errno = ENOMEM;
        return NULL;
    }
    return __real_malloc(size);
}

void *__wrap_calloc(size_t count, size_t size)
{
    if (allocFails()) {
        errno = ENOMEM;
        return NULL;
    }
    return __real_calloc(count, size);
}

void *__wrap_realloc(void *p, size_t size)
{
    if (allocFails()) {
        errno = ENOMEM;
        return NULL;
    }
    return __real_realloc(p, size);
}

void *__wrap_aligned_alloc(size_t alignment, size_t size)
{
    if (allocFails()) {
        errno = ENOMEM;
        return NULL;
    }
    return __real_aligned_alloc(alignment, size);
}

int __wrap_posix_memalign(void **out, size_t alignment, size_t size)
{
    if (allocFails())
        return ENOMEM;
    return __real_posix_memalign(out, alignment, size);
}

char *__wrap_strdup(const char *s)
{
    if (allocFails()) {
        errno = ENOMEM;
        return NULL;
    }
    return __real_strdup(s);
}

char *__wrap_strndup(const char *s, size_t n)
{
    if (allocFails()) {
        errno = ENOMEM;
        return NULL;
    }
    return __real_strndup(s, n);
}

/* File-access wrappers: a failed call reports EIO. */

int __wrap_open(const char *path, int flags, ...)
{
    int mode = 0;
    if ((flags & O_CREAT) != 0 || (flags & O_TMPFILE) == O_TMPFILE) {
        va_list ap;
        va_start(ap, flags);
        mode = va_arg(ap, int);
        va_end(ap);
    }
    if (ioFails()) {
        errno = EIO;
        return -1;
    }
    return __real_open(path, flags, mode);
}

FILE *__wrap_fopen(const char *path, const char *mode)
{
    if (ioFails()) {
        errno = EIO;
        return NULL;
    }
    return __real_fopen(path, mode);
}

ssize_t __wrap_read(int fd, void *buf, size_t n)
{
    if (ioFails()) {
        errno = EIO;
        return -1;
    }
    return __real_read(fd, buf, n);
}

ssize_t __wrap_pread(int fd, void *buf, size_t n, off_t offset)
{
    if (ioFails()) {
        errno = EIO;
        return -1;
    }
    return __real_pread(fd, buf, n, offset);
}

/* A failed fread returns 0 without setting the stream's error flag, so the
 * caller sees an early end of file. */
size_t __wrap_fread(void *buf, size_t size, size_t n, FILE *f)
{
    if (ioFails()) {
        errno = EIO;
        return 0;
    }
    return __real_fread(buf, size, n, f);
}
