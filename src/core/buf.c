/* A growable byte buffer with a hard size cap. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"

void vbBufInit(VbBuf *buf, size_t max)
{
    buf->data = NULL;
    buf->len = 0;
    buf->cap = 0;
    buf->max = max;
}

/* Grows buf so that it has room for at least need bytes plus a NUL. */
static vb_status bufReserve(VbBuf *buf, size_t need, vb_error *err)
{
    if (need > buf->max)
        return vbErrorSet(err, VB_ERR_LIMIT, "buffer would exceed its limit of %zu bytes", buf->max);
    if (need + 1 <= buf->cap)
        return VB_OK;

    size_t cap = buf->cap ? buf->cap : 256;
    while (cap < need + 1)
        cap = cap > SIZE_MAX / 2 ? need + 1 : cap * 2;
    char *p = realloc(buf->data, cap);
    if (p == NULL)
        return vbErrorSet(err, VB_ERR_NO_MEMORY, "out of memory growing a buffer to %zu bytes", cap);
    buf->data = p;
    buf->cap = cap;
    return VB_OK;
}

vb_status vbBufAppend(VbBuf *buf, const void *bytes, size_t n, vb_error *err)
{
    size_t need;
    if (vbAddSize(buf->len, n, &need))
        return vbErrorSet(err, VB_ERR_LIMIT, "buffer size overflows");
    vb_status st = bufReserve(buf, need, err);
    if (st != VB_OK)
        return st;
    if (n > 0)
        memcpy(buf->data + buf->len, bytes, n);
    buf->len = need;
    buf->data[buf->len] = '\0';
    return VB_OK;
}

vb_status vbBufPrintf(VbBuf *buf, vb_error *err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return vbErrorSet(err, VB_ERR_INTERNAL, "invalid format string");

    size_t need;
    if (vbAddSize(buf->len, (size_t)n, &need))
        return vbErrorSet(err, VB_ERR_LIMIT, "buffer size overflows");
    vb_status st = bufReserve(buf, need, err);
    if (st != VB_OK)
        return st;

    va_start(ap, fmt);
    vsnprintf(buf->data + buf->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    buf->len = need;
    return VB_OK;
}

char *vbBufDetach(VbBuf *buf, size_t *len)
{
    char *p = buf->data;
    if (len != NULL)
        *len = buf->len;
    buf->data = NULL;
    buf->len = 0;
    buf->cap = 0;
    return p;
}

void vbBufFree(VbBuf *buf)
{
    if (buf == NULL)
        return;
    free(buf->data);
    buf->data = NULL;
    buf->len = 0;
    buf->cap = 0;
}
