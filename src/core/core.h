/* Internal helpers used by every module: errors, checked arithmetic, capped buffers, files. */
#ifndef VB_CORE_H
#define VB_CORE_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "visionbench/status.h"

#if defined(__GNUC__)
#define VB_PRINTF(fmt_index, first_arg) __attribute__((format(printf, fmt_index, first_arg)))
#else
#define VB_PRINTF(fmt_index, first_arg)
#endif

/* Fills err (when not NULL) with status and a printf-style message and returns
 * status, so a caller can write `return vbErrorSet(err, VB_ERR_PARSE, ...)`. */
vb_status vbErrorSet(vb_error *err, vb_status status, const char *fmt, ...) VB_PRINTF(3, 4);

/* Prefixes err->message with a printf-style context ("model.onnx: ") and
 * returns err->status. Does nothing to a NULL err. */
vb_status vbErrorPrefix(vb_error *err, const char *fmt, ...) VB_PRINTF(2, 3);

/* Checked arithmetic: each stores the result in *out and returns 0, or
 * returns 1 without touching *out when the result does not fit. */
int vbMulSize(size_t a, size_t b, size_t *out);
int vbAddSize(size_t a, size_t b, size_t *out);
int vbMulI64(int64_t a, int64_t b, int64_t *out);

/* A growable byte buffer with a hard cap, for anything grown from input.
 * Zero-initialise with vbBufInit; data is NUL-terminated after every append. */
typedef struct VbBuf {
    char *data;
    size_t len;
    size_t cap;
    size_t max;  /* appends that would pass this many bytes fail with VB_ERR_LIMIT */
} VbBuf;

void vbBufInit(VbBuf *buf, size_t max);
vb_status vbBufAppend(VbBuf *buf, const void *bytes, size_t n, vb_error *err);
vb_status vbBufPrintf(VbBuf *buf, vb_error *err, const char *fmt, ...) VB_PRINTF(3, 4);
/* Takes the data out of buf (the caller frees it) and resets buf. */
char *vbBufDetach(VbBuf *buf, size_t *len);
void vbBufFree(VbBuf *buf);

/* A read-only memory mapping of a whole file. An empty file maps to data ==
 * NULL with size 0. */
typedef struct VbMappedFile {
    const uint8_t *data;
    size_t size;
} VbMappedFile;

/* Maps path read-only. Errors: VB_ERR_NOT_FOUND, VB_ERR_IO (names path). */
vb_status vbFileMap(const char *path, VbMappedFile *out, vb_error *err);
/* Unmaps a file mapped with vbFileMap. Accepts a zeroed struct or NULL. */
void vbFileUnmap(VbMappedFile *file);

/* Reads a whole file into a new NUL-terminated buffer of at most max_bytes.
 * The caller frees *out. Errors: VB_ERR_NOT_FOUND, VB_ERR_IO, VB_ERR_LIMIT. */
vb_status vbFileRead(const char *path, size_t max_bytes, char **out, size_t *out_len,
                     vb_error *err);

/* Writes n bytes to path, replacing it. */
vb_status vbFileWrite(const char *path, const void *data, size_t n, vb_error *err);

/* Returns a new string (caller frees) that joins dir and name with one '/',
 * or NULL when out of memory. A NULL or empty dir returns a copy of name. */
char *vbPathJoin(const char *dir, const char *name);

/* Returns monotonic time in nanoseconds (CLOCK_MONOTONIC). */
uint64_t vbNowNs(void);

/* Returns the number of online CPU cores, at least 1, as read at the first
 * call: later calls return the same value. */
int vbCpuCount(void);

/* Duplicates a string; NULL in, NULL out. */
char *vbStrdup(const char *s);

#endif /* VB_CORE_H */
