/* SHA-256 fingerprints of model files and datasets (OpenSSL libcrypto). */
#ifndef VB_MEASURE_DIGEST_H
#define VB_MEASURE_DIGEST_H

#include <stddef.h>
#include <stdint.h>

#include "visionbench/status.h"

/* An incremental SHA-256. Opaque state from libcrypto. */
typedef struct VbSha256 {
    void *ctx;   /* EVP_MD_CTX */
} VbSha256;

/* Starts a digest. Errors: VB_ERR_NO_MEMORY, VB_ERR_INTERNAL when libcrypto
 * fails. */
vb_status vbMeasureSha256Init(VbSha256 *sha, vb_error *err);

/* Adds n bytes (n may be 0). */
vb_status vbMeasureSha256Update(VbSha256 *sha, const void *data, size_t n, vb_error *err);

/* Writes the digest as 64 lower-case hex digits and a NUL into hex and
 * frees the state. */
vb_status vbMeasureSha256Final(VbSha256 *sha, char hex[65], vb_error *err);

/* Frees the state of an unfinished digest. Accepts a finished or zeroed one. */
void vbMeasureSha256Free(VbSha256 *sha);

/* Hashes the whole file at path, reading it in chunks, and stores the hex
 * digest in hex and the file size in *size (may be NULL). Errors:
 * VB_ERR_NOT_FOUND, VB_ERR_IO naming path. */
vb_status vbMeasureSha256File(const char *path, char hex[65], uint64_t *size, vb_error *err);

#endif /* VB_MEASURE_DIGEST_H */
