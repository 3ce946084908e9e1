/* Small tensor helpers shared by op implementations: sizes, shape strings, broadcasting. */
#include <stdio.h>
#include <string.h>

#include "core/core.h"
#include "engine/op.h"

const char *vb_dtype_to_string(vb_dtype dtype)
{
    switch (dtype) {
    case VB_DTYPE_FLOAT32: return "float32";
    case VB_DTYPE_UINT8: return "uint8";
    case VB_DTYPE_INT8: return "int8";
    case VB_DTYPE_UINT16: return "uint16";
    case VB_DTYPE_INT16: return "int16";
    case VB_DTYPE_INT32: return "int32";
    case VB_DTYPE_INT64: return "int64";
    case VB_DTYPE_STRING: return "string";
    case VB_DTYPE_BOOL: return "bool";
    case VB_DTYPE_FLOAT16: return "float16";
    case VB_DTYPE_FLOAT64: return "float64";
    case VB_DTYPE_UINT32: return "uint32";
    case VB_DTYPE_UINT64: return "uint64";
    case VB_DTYPE_UNDEFINED: break;
    }
    return "undefined";
}

size_t vb_dtype_size(vb_dtype dtype)
{
    switch (dtype) {
    case VB_DTYPE_UINT8:
    case VB_DTYPE_INT8:
    case VB_DTYPE_BOOL: return 1;
    case VB_DTYPE_UINT16:
    case VB_DTYPE_INT16:
    case VB_DTYPE_FLOAT16: return 2;
    case VB_DTYPE_FLOAT32:
    case VB_DTYPE_INT32:
    case VB_DTYPE_UINT32: return 4;
    case VB_DTYPE_INT64:
    case VB_DTYPE_FLOAT64:
    case VB_DTYPE_UINT64: return 8;
    case VB_DTYPE_STRING:
    case VB_DTYPE_UNDEFINED: break;
    }
    return 0;
}

size_t vbTensorCount(const vb_tensor *t)
{
    size_t n = 1;
    for (int i = 0; i < t->rank; i++)
        n *= (size_t)t->dims[i];
    return n;
}

size_t vbTensorBytes(const vb_tensor *t)
{
    return vbTensorCount(t) * vb_dtype_size(t->dtype);
}

const char *vbShapeString(const vb_tensor *t, char *buf, size_t size)
{
    if (size == 0)
        return buf;
    if (t->rank == 0) {
        snprintf(buf, size, "scalar");
        return buf;
    }
    size_t used = 0;
    buf[0] = '\0';
    for (int i = 0; i < t->rank && used < size; i++) {
        int n = snprintf(buf + used, size - used, i ? "x%lld" : "%lld", (long long)t->dims[i]);
        if (n < 0)
            break;
        used += (size_t)n;
    }
    return buf;
}

vb_status vbBroadcastShape(const vb_tensor *a, const vb_tensor *b, vb_tensor *out,
                           vb_error *err)
{
    int rank = a->rank > b->rank ? a->rank : b->rank;
    int64_t dims[VB_MAX_RANK];
    for (int i = 0; i < rank; i++) {
        int ia = i - (rank - a->rank), ib = i - (rank - b->rank);
        int64_t da = ia >= 0 ? a->dims[ia] : 1;
        int64_t db = ib >= 0 ? b->dims[ib] : 1;
        if (da == db || db == 1) {
            dims[i] = da;
        } else if (da == 1) {
            dims[i] = db;
        } else {
            char sa[96], sb[96];
            return vbErrorSet(err, VB_ERR_SHAPE, "shapes %s and %s cannot be broadcast together",
                              vbShapeString(a, sa, sizeof sa), vbShapeString(b, sb, sizeof sb));
        }
    }
    out->rank = rank;
    memcpy(out->dims, dims, sizeof(int64_t) * (size_t)rank);
    return VB_OK;
}

int64_t vbTensorGetInt(const vb_tensor *t, size_t i)
{
    if (t->dtype == VB_DTYPE_INT32)
        return ((const int32_t *)t->data)[i];
    return ((const int64_t *)t->data)[i];
}
