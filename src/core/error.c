/* Status names and error message formatting. */
#include <stdio.h>
#include <string.h>

#include "core/core.h"

const char *vb_status_to_string(vb_status status)
{
    switch (status) {
    case VB_OK: return "ok";
    case VB_ERR_INVALID_ARGUMENT: return "invalid argument";
    case VB_ERR_IO: return "I/O error";
    case VB_ERR_PARSE: return "parse error";
    case VB_ERR_UNSUPPORTED: return "unsupported";
    case VB_ERR_NO_MEMORY: return "out of memory";
    case VB_ERR_SHAPE: return "shape error";
    case VB_ERR_LIMIT: return "limit exceeded";
    case VB_ERR_NOT_FOUND: return "not found";
    case VB_ERR_TIMEOUT: return "timed out";
    case VB_ERR_CANCELLED: return "cancelled";
    case VB_ERR_INTERNAL: return "internal error";
    case VB_STATUS_COUNT: break;
    }
    return "unknown status";
}

vb_status vbErrorSet(vb_error *err, vb_status status, const char *fmt, ...)
{
    if (err == NULL)
        return status;
    err->status = status;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof err->message, fmt, ap);
    va_end(ap);
    return status;
}

vb_status vbErrorPrefix(vb_error *err, const char *fmt, ...)
{
    if (err == NULL)
        return VB_ERR_INTERNAL;

    char prefix[VB_ERROR_MESSAGE_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);

    /* Join by hand: the message is cut at the buffer's end, never overrun. */
    char joined[VB_ERROR_MESSAGE_MAX];
    size_t plen = strlen(prefix);
    size_t mlen = strnlen(err->message, sizeof err->message - 1);
    if (mlen > sizeof joined - 1 - plen)
        mlen = sizeof joined - 1 - plen;
    memcpy(joined, prefix, plen);
    memcpy(joined + plen, err->message, mlen);
    joined[plen + mlen] = '\0';
    memcpy(err->message, joined, sizeof joined);
    return err->status;
}

int vbMulSize(size_t a, size_t b, size_t *out)
{
    size_t r;
    if (__builtin_mul_overflow(a, b, &r))
        return 1;
    *out = r;
    return 0;
}

int vbAddSize(size_t a, size_t b, size_t *out)
{
    size_t r;
    if (__builtin_add_overflow(a, b, &r))
        return 1;
    *out = r;
    return 0;
}

int vbMulI64(int64_t a, int64_t b, int64_t *out)
{
    int64_t r;
    if (__builtin_mul_overflow(a, b, &r))
        return 1;
    *out = r;
    return 0;
}
