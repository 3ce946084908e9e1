/* SHA-256 through OpenSSL's EVP interface. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>

#include "core/core.h"
#include "measure/digest.h"

vb_status vbMeasureSha256Init(VbSha256 *sha, vb_error *err)
{
    sha->ctx = EVP_MD_CTX_new();
    if (sha->ctx == NULL)
        return vbErrorSet(err, VB_ERR_NO_MEMORY, "out of memory for a SHA-256 state");
    if (EVP_DigestInit_ex(sha->ctx, EVP_sha256(), NULL) != 1) {
        vbMeasureSha256Free(sha);
        return vbErrorSet(err, VB_ERR_INTERNAL, "libcrypto could not start a SHA-256 digest");
    }
    return VB_OK;
}

vb_status vbMeasureSha256Update(VbSha256 *sha, const void *data, size_t n, vb_error *err)
{
    if (n == 0)
        return VB_OK;
    if (EVP_DigestUpdate(sha->ctx, data, n) != 1)
        return vbErrorSet(err, VB_ERR_INTERNAL, "libcrypto SHA-256 update failed");
    return VB_OK;
}

vb_status vbMeasureSha256Final(VbSha256 *sha, char hex[65], vb_error *err)
{
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    int ok = EVP_DigestFinal_ex(sha->ctx, digest, &len) == 1 && len == 32;
    vbMeasureSha256Free(sha);
    if (!ok)
        return vbErrorSet(err, VB_ERR_INTERNAL, "libcrypto SHA-256 final step failed");
    for (unsigned int i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", digest[i]);
    return VB_OK;
}

void vbMeasureSha256Free(VbSha256 *sha)
{
    if (sha == NULL || sha->ctx == NULL)
        return;
    EVP_MD_CTX_free(sha->ctx);
    sha->ctx = NULL;
}

vb_status vbMeasureSha256File(const char *path, char hex[65], uint64_t *size, vb_error *err)
{
    hex[0] = '\0';
    if (size != NULL)
        *size = 0;
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        if (errno == ENOENT)
            return vbErrorSet(err, VB_ERR_NOT_FOUND, "%s: file not found", path);
        return vbErrorSet(err, VB_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    }

    VbSha256 sha = {0};
    vb_status st = vbMeasureSha256Init(&sha, err);
    uint64_t total = 0;
    unsigned char chunk[1 << 16];
    while (st == VB_OK) {
        size_t n = fread(chunk, 1, sizeof chunk, f);
        if (n == 0)
            break;
        total += n;
        st = vbMeasureSha256Update(&sha, chunk, n, err);
    }
    if (st == VB_OK && ferror(f))
        st = vbErrorSet(err, VB_ERR_IO, "%s: read error", path);
    if (st == VB_OK)
        st = vbMeasureSha256Final(&sha, hex, err);
    vbMeasureSha256Free(&sha);
    fclose(f);
    if (st == VB_OK && size != NULL)
        *size = total;
    return st;
}
