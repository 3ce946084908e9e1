/* Index-driven ops: GatherElements, GatherND, ScatterElements, ScatterND, OneHot, TopK, plus Trilu, CumSum and EyeLike. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/kernel_util.h"

typedef enum Reduction { RED_NONE, RED_ADD, RED_MUL, RED_MAX, RED_MIN } Reduction;

typedef struct IndexParams {
    char op_type[24];
    int opset;
    int64_t axis;
    int64_t batch_dims;      /* GatherND */
    Reduction reduction;     /* ScatterElements, ScatterND */
    int upper;               /* Trilu */
    int exclusive, reverse;  /* CumSum */
    int largest, sorted;     /* TopK */
    int64_t k;               /* EyeLike */
    vb_dtype dtype;          /* EyeLike; VB_DTYPE_UNDEFINED for the input's type */
} IndexParams;

static vb_status indexPrepare(const VbOnnxNode *node, int opset, void **params, vb_error *err)
{
    IndexParams *p = calloc(1, sizeof *p);
    if (p == NULL)
        return vbErrorSet(err, VB_ERR_NO_MEMORY, "out of memory preparing %s", node->op_type);
    int bad = 0;
    snprintf(p->op_type, sizeof p->op_type, "%s", node->op_type);
    p->opset = opset;
    p->axis = vbOnnxAttrInt(node, "axis", strcmp(node->op_type, "OneHot") == 0 ||
                                                  strcmp(node->op_type, "TopK") == 0 ? -1 : 0,
                            &bad);
    p->batch_dims = vbOnnxAttrInt(node, "batch_dims", 0, &bad);
    p->upper = (int)vbOnnxAttrInt(node, "upper", 1, &bad);
    p->exclusive = (int)vbOnnxAttrInt(node, "exclusive", 0, &bad);
    p->reverse = (int)vbOnnxAttrInt(node, "reverse", 0, &bad);
    p->largest = (int)vbOnnxAttrInt(node, "largest", 1, &bad);
    p->sorted = (int)vbOnnxAttrInt(node, "sorted", 1, &bad);
    p->k = vbOnnxAttrInt(node, "k", 0, &bad);
    p->dtype = (vb_dtype)vbOnnxAttrInt(node, "dtype", VB_DTYPE_UNDEFINED, &bad);

    const char *reduction = vbOnnxAttrString(node, "reduction", "none", &bad);
    static const char *const names[] = {"none", "add", "mul", "max", "min"};
    p->reduction = (Reduction)-1;
    for (int i = 0; i < 5; i++) {
        if (strcmp(reduction, names[i]) == 0)
            p->reduction = (Reduction)i;
    }
    vb_status st = VB_OK;
    if ((int)p->reduction < 0)
        st = vbErrorSet(err, VB_ERR_UNSUPPORTED, "%s '%s': reduction '%s' is not supported (none, "
                        "add, mul, max, min are)", node->op_type, node->name, reduction);
    else if (bad)
        st = vbErrorSet(err, VB_ERR_PARSE, "%s '%s': an attribute has the wrong type",
                        node->op_type, node->name);
    else if (p->dtype != VB_DTYPE_UNDEFINED && vb_dtype_size(p->dtype) == 0)
        st = vbErrorSet(err, VB_ERR_UNSUPPORTED, "EyeLike '%s': dtype %d is not supported",
                        node->name, (int)p->dtype);
    if (st != VB_OK) {
        free(p);
        return st;
    }
    *params = p;
    return VB_OK;
}

static void rowStrides(const vb_tensor *t, int64_t *strides)
{
    int64_t stride = 1;
    for (int d = t->rank - 1; d >= 0; d--) {
        strides[d] = stride;
        stride *= t->dims[d];
    }
}

/* Advances the multi-index idx over dims (odometer); returns 0 after the last. */
static int nextIndex(int64_t *idx, const int64_t *dims, int rank)
{
    for (int d = rank - 1; d >= 0; d--) {
        if (++idx[d] < dims[d])
            return 1;
        idx[d] = 0;
    }
    return 0;
}

/* Applies one scatter update: *dst = reduction(*dst, *src) for element type t. */
#define DEFINE_COMBINE(name, T)                                                                    \
    static void name(Reduction r, char *dst, const char *src)                                      \
    {                                                                                              \
        T a, b;                                                                                    \
        memcpy(&a, dst, sizeof a);                                                                 \
        memcpy(&b, src, sizeof b);                                                                 \
        switch (r) {                                                                               \
        case RED_ADD: a = (T)(a + b); break;                                                       \
        case RED_MUL: a = (T)(a * b); break;                                                       \
        case RED_MAX: a = a > b ? a : b; break;                                                    \
        case RED_MIN: a = a < b ? a : b; break;                                                    \
        default: a = b; break;                                                                     \
        }                                                                                          \
        memcpy(dst, &a, sizeof a);                                                                 \
    }

DEFINE_COMBINE(combineFloat32, float)
DEFINE_COMBINE(combineFloat64, double)
DEFINE_COMBINE(combineInt32, int32_t)
DEFINE_COMBINE(combineInt64, int64_t)
DEFINE_COMBINE(combineUInt8, uint8_t)

static void combine(Reduction r, vb_dtype t, char *dst, const char *src)
{
    if (r == RED_NONE) {
        memcpy(dst, src, vb_dtype_size(t));
        return;
    }
    switch (t) {
    case VB_DTYPE_FLOAT32: combineFloat32(r, dst, src); break;
    case VB_DTYPE_FLOAT64: combineFloat64(r, dst, src); break;
    case VB_DTYPE_INT32: combineInt32(r, dst, src); break;
    case VB_DTYPE_INT64: combineInt64(r, dst, src); break;
    case VB_DTYPE_UINT8: case VB_DTYPE_BOOL: combineUInt8(r, dst, src); break;
    /* TODO: reductions on int8, int16 and the wider unsigned types replace
     * instead of combining. */
    default: memcpy(dst, src, vb_dtype_size(t)); break;
    }
}

/* Reads index value i of idx and makes it non-negative against extent. */
static vb_status readIndex(const char *op, const vb_tensor *idx, size_t i, int64_t extent,
                           int64_t *out, vb_error *err)
{
    int64_t v = vbTensorGetInt(idx, i);
    if (v < -extent || v >= extent)
        return vbErrorSet(err, VB_ERR_INVALID_ARGUMENT, "%s: index %lld is out of range for a "
                          "dimension of size %lld", op, (long long)v, (long long)extent);
    *out = v < 0 ? v + extent : v;
    return VB_OK;
}

/* ---- GatherElements and ScatterElements ------------------------------------- */

/* Walks every element of idx (same rank as data): for element i the data
 * offset is idx[i] on axis and i's own coordinate elsewhere. gather copies
 * data to out[i]; otherwise updates[i] is combined into out at the offset. */
/* GatherElements or ScatterElements without reduction when indices and
 * data have the same extent on every axis but axis: element i of indices
 * then lies in row (outer, inner) of the data, and only its position along
 * axis comes from the index. Returns 0, without touching anything, when
 * the shapes do not fit. */
static int elementsRows(const IndexParams *p, int axis, const vb_tensor *data,
                        const vb_tensor *idx, const vb_tensor *updates, vb_tensor *out,
                        vb_status *status, vb_error *err)
{
    size_t es = vb_dtype_size(data->dtype);
    if (p->reduction != RED_NONE || (es != 4 && es != 8))
        return 0;
    for (int d = 0; d < data->rank; d++) {
        if (d != axis && idx->dims[d] != data->dims[d])
            return 0;
    }
    int64_t inner = 1, outer = 1, extent = data->dims[axis], count = idx->dims[axis];
    for (int d = axis + 1; d < data->rank; d++)
        inner *= data->dims[d];
    for (int d = 0; d < axis; d++)
        outer *= data->dims[d];

    /* [outer, count, inner] indices -> [outer, extent, inner] data. */
    size_t i = 0;
    for (int64_t o = 0; o < outer; o++) {
        for (int64_t a = 0; a < count; a++) {
            for (int64_t r = 0; r < inner; r++, i++) {
                int64_t k = 0;
                *status = readIndex(p->op_type, idx, i, extent, &k, err);
                if (*status != VB_OK)
                    return 1;
                size_t off = (size_t)((o * extent + k) * inner + r);
                const char *src = updates != NULL ? (const char *)updates->data + i * es
                                                  : (const char *)data->data + off * es;
                char *dst = updates != NULL ? (char *)out->data + off * es
                                            : (char *)out->data + i * es;
                if (es == 4)
                    memcpy(dst, src, 4);
                else
                    memcpy(dst, src, 8);
            }
        }
    }
    *status = VB_OK;
    return 1;
}

static vb_status elementsWalk(const IndexParams *p, const vb_tensor *data, const vb_tensor *idx,
                              const vb_tensor *updates, vb_tensor *out, vb_error *err)
{
    int axis = (int)(p->axis < 0 ? p->axis + data->rank : p->axis);
    int64_t strides[VB_MAX_RANK], pos[VB_MAX_RANK] = {0};
    vb_status status;
    if (elementsRows(p, axis, data, idx, updates, out, &status, err))
        return status;
    rowStrides(data, strides);
    size_t es = vb_dtype_size(data->dtype), n = vbTensorCount(idx);
    for (size_t i = 0; i < n; i++) {
        int64_t k = 0, off = 0;
        vb_status st = readIndex(p->op_type, idx, i, data->dims[axis], &k, err);
        if (st != VB_OK)
            return st;
        for (int d = 0; d < data->rank; d++)
            off += (d == axis ? k : pos[d]) * strides[d];
        if (updates == NULL)
            memcpy((char *)out->data + i * es, (const char *)data->data + off * (int64_t)es, es);
        else
            combine(p->reduction, data->dtype, (char *)out->data + off * (int64_t)es,
                    (const char *)updates->data + i * es);
        nextIndex(pos, idx->dims, idx->rank);
    }
    return VB_OK;
}

static vb_status elementsInfer(const IndexParams *p, const vb_tensor *const *in, int n_in,
                               vb_tensor *out, vb_error *err)
{
    int scatter = strcmp(p->op_type, "GatherElements") != 0;
    const vb_tensor *data = in[0], *idx = in[1];
    int axis;
    vb_status st = vbKernelAxis(p->op_type, p->axis, data->rank, &axis, err);
    if (st != VB_OK)
        return st;
    if (idx->rank != data->rank)
        return vbErrorSet(err, VB_ERR_SHAPE, "%s: indices have rank %d, data rank %d", p->op_type,
                          idx->rank, data->rank);
    int same_shape = scatter && n_in > 2 && in[2] != NULL && in[2]->rank == idx->rank;
    for (int d = 0; same_shape && d < idx->rank; d++)
        same_shape = in[2]->dims[d] == idx->dims[d];
    if (scatter && (!same_shape || in[2]->dtype != data->dtype))
        return vbErrorSet(err, VB_ERR_SHAPE, "%s: updates must match the indices' shape and the "
                          "data's type", p->op_type);
    for (int d = 0; d < idx->rank; d++) {
        if (d != axis && idx->dims[d] > data->dims[d])
            return vbErrorSet(err, VB_ERR_SHAPE, "%s: indices dimension %d (%lld) exceeds the "
                              "data's (%lld)", p->op_type, d, (long long)idx->dims[d],
                              (long long)data->dims[d]);
    }
    if (scatter)
        vbKernelSetShape(out, data->dtype, data->rank, data->dims);
    else
        vbKernelSetShape(out, data->dtype, idx->rank, idx->dims);
    return VB_OK;
}

/* ---- GatherND and ScatterND ------------------------------------------------ */

static vb_status ndInfer(const IndexParams *p, const vb_tensor *const *in, int n_in,
                         vb_tensor *out, vb_error *err)
{
    const vb_tensor *data = in[0], *idx = in[1];
    int scatter = strcmp(p->op_type, "ScatterND") == 0;
    int64_t b = scatter ? 0 : p->batch_dims;
    if (idx->rank < 1 || b < 0 || b >= idx->rank || b >= data->rank)
        return vbErrorSet(err, VB_ERR_SHAPE, "%s: invalid indices rank %d or batch_dims %lld",
                          p->op_type, idx->rank, (long long)b);
    int64_t k = idx->dims[idx->rank - 1];
    if (k < 1 || b + k > data->rank)
        return vbErrorSet(err, VB_ERR_SHAPE, "%s: index tuples of length %lld do not fit data of "
                          "rank %d", p->op_type, (long long)k, data->rank);
    if (scatter) {
        if (n_in < 3 || in[2] == NULL || in[2]->dtype != data->dtype)
            return vbErrorSet(err, VB_ERR_SHAPE, "ScatterND: updates must have the data's type");

        /* updates contains one slice of data.dims[k:] per index tuple. */
        size_t tuples = 1, slice = 1;
        for (int d = 0; d < idx->rank - 1; d++)
            tuples *= (size_t)idx->dims[d];
        for (int d = (int)k; d < data->rank; d++)
            slice *= (size_t)data->dims[d];
        if (vbTensorCount(in[2]) != tuples * slice)
            return vbErrorSet(err, VB_ERR_SHAPE, "ScatterND: updates have %zu elements, the "
                              "indices address %zu", vbTensorCount(in[2]), tuples * slice);
        vbKernelSetShape(out, data->dtype, data->rank, data->dims);
        return VB_OK;
    }

    for (int d = 0; d < b; d++) {
        if (idx->dims[d] != data->dims[d])
            return vbErrorSet(err, VB_ERR_SHAPE, "GatherND: batch dimension %d differs between "
                              "data (%lld) and indices (%lld)", d, (long long)data->dims[d],
                              (long long)idx->dims[d]);
    }

    /* data.dims[:b] + indices.dims[b:-1] + data.dims[b+k:] */
    int64_t dims[3 * VB_MAX_RANK];
    int rank = 0;
    for (int d = 0; d < b; d++)
        dims[rank++] = data->dims[d];
    for (int d = (int)b; d < idx->rank - 1; d++)
        dims[rank++] = idx->dims[d];
    for (int d = (int)(b + k); d < data->rank; d++)
        dims[rank++] = data->dims[d];
    if (rank > VB_MAX_RANK)
        return vbErrorSet(err, VB_ERR_UNSUPPORTED, "GatherND: output rank %d exceeds %d", rank,
                          VB_MAX_RANK);
    vbKernelSetShape(out, data->dtype, rank, dims);
    return VB_OK;
}

static vb_status ndRun(const IndexParams *p, const vb_tensor *const *in, vb_tensor *out,
                       vb_error *err)
{
    const vb_tensor *data = in[0], *idx = in[1];
    int scatter = strcmp(p->op_type, "ScatterND") == 0;
    int b = scatter ? 0 : (int)p->batch_dims;
    int64_t k = idx->dims[idx->rank - 1], strides[VB_MAX_RANK];
    rowStrides(data, strides);
    size_t es = vb_dtype_size(data->dtype);
    size_t batches = 1, slice = 1, tuples = 1;
    for (int d = 0; d < b; d++)
        batches *= (size_t)data->dims[d];
    for (int d = b; d < idx->rank - 1; d++)
        tuples *= (size_t)idx->dims[d];
    for (int d = (int)(b + k); d < data->rank; d++)
        slice *= (size_t)data->dims[d];
    size_t batch_stride = b > 0 ? (size_t)strides[b - 1] : 0;

    if (scatter)
        vbKernelCopy(out->data, data->data, vbTensorBytes(data), 1);

    /* For each index tuple: locate its slice of data, then copy or combine. */
    for (size_t bi = 0; bi < batches; bi++) {
        for (size_t t = 0; t < tuples; t++) {
            size_t tuple = bi * tuples + t;
            int64_t off = (int64_t)(bi * batch_stride);
            for (int64_t j = 0; j < k; j++) {
                int64_t v = 0;
                vb_status st = readIndex(p->op_type, idx, tuple * (size_t)k + (size_t)j,
                                         data->dims[b + j], &v, err);
                if (st != VB_OK)
                    return st;
                off += v * strides[b + j];
            }
            const char *src = (const char *)data->data + off * (int64_t)es;
            if (!scatter) {
                memcpy((char *)out->data + tuple * slice * es, src, slice * es);
                continue;
            }
            char *dst = (char *)out->data + off * (int64_t)es;
            const char *upd = (const char *)in[2]->data + tuple * slice * es;
            for (size_t e = 0; e < slice; e++)
                combine(p->reduction, data->dtype, dst + e * es, upd + e * es);
        }
    }
    return VB_OK;
}

/* ---- OneHot, TopK, EyeLike --------------------------------------------------- */

/* Stores the number v into element i of a tensor of type t. Integers go
 * through a saturating int64 conversion and then wrap to the type's width. */
static void storeNumber(vb_dtype t, void *base, size_t i, double v)
{
    int64_t n = vbKernelToInt64(v);
    switch (t) {
    case VB_DTYPE_FLOAT32: ((float *)base)[i] = (float)v; break;
    case VB_DTYPE_FLOAT64: ((double *)base)[i] = v; break;
    case VB_DTYPE_INT8: ((int8_t *)base)[i] = (int8_t)n; break;
    case VB_DTYPE_INT16: ((int16_t *)base)[i] = (int16_t)n; break;
    case VB_DTYPE_INT32: ((int32_t *)base)[i] = (int32_t)n; break;
    case VB_DTYPE_INT64: ((int64_t *)base)[i] = n; break;
    case VB_DTYPE_UINT16: ((uint16_t *)base)[i] = (uint16_t)n; break;
    case VB_DTYPE_UINT32: ((uint32_t *)base)[i] = (uint32_t)n; break;
    case VB_DTYPE_UINT64: ((uint64_t *)base)[i] = (uint64_t)n; break;
    default: ((uint8_t *)base)[i] = (uint8_t)(v != 0); break;
    }
}

static double loadNumber(const vb_tensor *t, size_t i)
{
    size_t es = vb_dtype_size(t->dtype);
    vb_tensor one = {t->dtype, 0, {0}, (char *)t->data + i * es};
    return vbKernelScalarAsDouble(&one);
}

/* Reads element i as an integer, truncating floats; NaN and values beyond
 * +-2^62 (not valid indices or depths) give INT64_MIN. */
static int64_t loadInteger(const vb_tensor *t, size_t i)
{
    if (t->dtype == VB_DTYPE_INT64)
        return ((const int64_t *)t->data)[i];
    double v = loadNumber(t, i);
    if (!(v > -4611686018427387904.0 && v < 4611686018427387904.0))
        return INT64_MIN;
    return (int64_t)v;
}

static vb_status oneHotInfer(const IndexParams *p, const vb_tensor *const *in, int n_in,
                             vb_tensor *out, vb_error *err)
{
    const vb_tensor *idx = in[0];
    if (n_in < 3 || in[1] == NULL || in[2] == NULL || vbTensorCount(in[2]) != 2)
        return vbErrorSet(err, VB_ERR_SHAPE, "OneHot needs depth and two values (off, on)");
    if (in[1]->data == NULL)
        return vbErrorSet(err, VB_ERR_UNSUPPORTED, "OneHot requires a constant 'depth' input");
    int rank = idx->rank + 1, axis;
    vb_status st = vbKernelAxis("OneHot", p->axis, rank, &axis, err);
    if (st != VB_OK)
        return st;
    if (rank > VB_MAX_RANK)
        return vbErrorSet(err, VB_ERR_UNSUPPORTED, "OneHot: output rank %d exceeds %d", rank,
                          VB_MAX_RANK);
    int64_t depth = loadInteger(in[1], 0), dims[VB_MAX_RANK];
    if (depth < 1)
        return vbErrorSet(err, VB_ERR_SHAPE, "OneHot: depth %lld must be positive",
                          (long long)depth);
    for (int d = 0, s = 0; d < rank; d++)
        dims[d] = d == axis ? depth : idx->dims[s++];
    vbKernelSetShape(out, in[2]->dtype, rank, dims);
    return vbKernelCheckSize("OneHot", out, err);
}

static void oneHotRun(const IndexParams *p, const vb_tensor *const *in, vb_tensor *out)
{
    int axis = (int)(p->axis < 0 ? p->axis + out->rank : p->axis);
    int64_t depth = out->dims[axis], inner = 1;
    for (int d = axis + 1; d < out->rank; d++)
        inner *= out->dims[d];
    size_t es = vb_dtype_size(out->dtype), total = vbTensorCount(out), n = vbTensorCount(in[0]);
    const char *off = in[2]->data, *on = (const char *)in[2]->data + es;
    for (size_t i = 0; i < total; i++)
        memcpy((char *)out->data + i * es, off, es);

    /* indices [outer, inner] -> out [outer, depth, inner] */
    for (size_t i = 0; i < n; i++) {
        int64_t v = loadInteger(in[0], i);
        if (v < 0 && v != INT64_MIN)
            v += depth;
        if (v < 0 || v >= depth)
            continue;
        size_t outer = i / (size_t)inner, j = i % (size_t)inner;
        size_t pos = (outer * (size_t)depth + (size_t)v) * (size_t)inner + j;
        memcpy((char *)out->data + pos * es, on, es);
    }
}

static vb_status topKInfer(const IndexParams *p, const vb_tensor *const *in, int n_in,
                           vb_tensor *const *out, int n_out, VbOpInferInfo *info, vb_error *err)
{
    const vb_tensor *x = in[0];
    int64_t k[1];
    int count = 0, axis;
    if (n_in < 2 || in[1] == NULL || n_out < 2)
        return vbErrorSet(err, VB_ERR_SHAPE, "TopK needs the K input and two outputs");
    vb_status st = vbKernelReadInts("TopK", "K", in[1], k, 1, &count, err);
    if (st == VB_OK)
        st = vbKernelAxis("TopK", p->axis, x->rank, &axis, err);
    if (st != VB_OK)
        return st;
    if (count != 1 || k[0] < 0 || k[0] > x->dims[axis])
        return vbErrorSet(err, VB_ERR_SHAPE, "TopK: K must be one value in 0..%lld",
                          (long long)x->dims[axis]);
    if (x->dtype != VB_DTYPE_FLOAT32 && x->dtype != VB_DTYPE_FLOAT64 &&
        x->dtype != VB_DTYPE_INT32 && x->dtype != VB_DTYPE_INT64)
        return vbErrorSet(err, VB_ERR_UNSUPPORTED, "TopK does not support %s",
                          vb_dtype_to_string(x->dtype));
    vbKernelSetShape(out[0], x->dtype, x->rank, x->dims);
    out[0]->dims[axis] = k[0];
    vbKernelSetShape(out[1], VB_DTYPE_INT64, x->rank, x->dims);
    out[1]->dims[axis] = k[0];
    info->workspace_bytes = (size_t)x->dims[axis];
    return VB_OK;
}

/* Picks the k best of each line by repeated selection (O(n*k)). Ties go to
 * the lower index, as the TopK specification requires. */
static void topKRun(const IndexParams *p, const vb_tensor *x, vb_tensor *values,
                    vb_tensor *indices, uint8_t *taken)
{
    int axis = (int)(p->axis < 0 ? p->axis + x->rank : p->axis);
    int64_t outer = 1, n = x->dims[axis], inner = 1, k = values->dims[axis];
    for (int d = 0; d < x->rank; d++) {
        if (d < axis)
            outer *= x->dims[d];
        else if (d > axis)
            inner *= x->dims[d];
    }
    size_t es = vb_dtype_size(x->dtype);
    for (int64_t o = 0; o < outer; o++) {
        for (int64_t j = 0; j < inner; j++) {
            memset(taken, 0, (size_t)n);
            for (int64_t r = 0; r < k; r++) {
                int64_t best = -1;
                double best_v = 0;
                for (int64_t i = 0; i < n; i++) {
                    double v = loadNumber(x, (size_t)((o * n + i) * inner + j));
                    int better = best < 0 || (p->largest ? v > best_v : v < best_v);
                    if (!taken[i] && better) {
                        best = i;
                        best_v = v;
                    }
                }
                taken[best] = 1;
                size_t dst = (size_t)((o * k + r) * inner + j);
                memcpy((char *)values->data + dst * es,
                       (const char *)x->data + (size_t)((o * n + best) * inner + j) * es, es);
                ((int64_t *)indices->data)[dst] = best;
            }
        }
    }
}

/* ---- Trilu and CumSum -------------------------------------------------------- */

static void triluRun(const IndexParams *p, const vb_tensor *const *in, int n_in, vb_tensor *out)
{
    const vb_tensor *x = in[0];
    int64_t k = n_in > 1 && in[1] != NULL ? vbTensorGetInt(in[1], 0) : 0;
    size_t es = vb_dtype_size(x->dtype);
    int64_t rows = x->dims[x->rank - 2], cols = x->dims[x->rank - 1];
    size_t matrices = rows > 0 && cols > 0 ? vbTensorCount(x) / (size_t)(rows * cols) : 0;
    memset(out->data, 0, vbTensorBytes(x));
    for (size_t m = 0; m < matrices; m++) {
        for (int64_t i = 0; i < rows; i++) {
            for (int64_t j = 0; j < cols; j++) {
                int keep = p->upper ? j - i >= k : j - i <= k;
                size_t pos = (m * (size_t)rows + (size_t)i) * (size_t)cols + (size_t)j;
                if (keep)
                    memcpy((char *)out->data + pos * es, (const char *)x->data + pos * es, es);
            }
        }
    }
}

static vb_status cumSumRun(const IndexParams *p, const vb_tensor *const *in, vb_tensor *out,
                           vb_error *err)
{
    const vb_tensor *x = in[0];
    int axis;
    vb_status st = vbKernelAxis("CumSum", vbTensorGetInt(in[1], 0), x->rank, &axis, err);
    if (st != VB_OK)
        return st;
    int64_t outer = 1, n = x->dims[axis], inner = 1;
    for (int d = 0; d < x->rank; d++) {
        if (d < axis)
            outer *= x->dims[d];
        else if (d > axis)
            inner *= x->dims[d];
    }

    /* x [outer, n, inner]: running sums along n, forward or reversed. */
#define CUMSUM(T)                                                                                  \
    do {                                                                                           \
        const T *src = x->data;                                                                    \
        T *dst = out->data;                                                                        \
        for (int64_t o = 0; o < outer; o++) {                                                      \
            for (int64_t j = 0; j < inner; j++) {                                                  \
                T sum = 0;                                                                         \
                for (int64_t s = 0; s < n; s++) {                                                  \
                    int64_t i = p->reverse ? n - 1 - s : s;                                        \
                    size_t pos = (size_t)((o * n + i) * inner + j);                                \
                    if (p->exclusive) {                                                            \
                        dst[pos] = sum;                                                            \
                        sum += src[pos];                                                           \
                    } else {                                                                       \
                        sum += src[pos];                                                           \
                        dst[pos] = sum;                                                            \
                    }                                                                              \
                }                                                                                  \
            }                                                                                      \
        }                                                                                          \
    } while (0)

    switch (x->dtype) {
    case VB_DTYPE_FLOAT32: CUMSUM(float); break;
    case VB_DTYPE_FLOAT64: CUMSUM(double); break;
    case VB_DTYPE_INT32: CUMSUM(int32_t); break;
    case VB_DTYPE_INT64: CUMSUM(int64_t); break;
    default: break;
    }
#undef CUMSUM
    return VB_OK;
}

/* ---- Dispatch ---------------------------------------------------------------- */

static vb_status indexInfer(const void *params, const vb_tensor *const *in, int n_in,
                            vb_tensor *const *out, int n_out, VbOpInferInfo *info, vb_error *err)
{
    const IndexParams *p = params;
    const char *op = p->op_type;
    const vb_tensor *x = in[0];
    if (x == NULL || vb_dtype_size(x->dtype) == 0)
        return vbErrorSet(err, VB_ERR_UNSUPPORTED, "%s: input 0 is missing or of an unsupported "
                          "type", op);
    int uses_indices = strstr(op, "Gather") || strstr(op, "Scatter");
    if (uses_indices && (n_in < 2 || in[1] == NULL ||
                         (in[1]->dtype != VB_DTYPE_INT32 && in[1]->dtype != VB_DTYPE_INT64)))
        return vbErrorSet(err, VB_ERR_SHAPE, "%s needs int32 or int64 indices", op);

    if (strcmp(op, "GatherElements") == 0 || strstr(op, "ScatterElements") ||
        strcmp(op, "Scatter") == 0)
        return elementsInfer(p, in, n_in, out[0], err);
    if (strstr(op, "ND") != NULL)
        return ndInfer(p, in, n_in, out[0], err);
    if (strcmp(op, "OneHot") == 0)
        return oneHotInfer(p, in, n_in, out[0], err);
    if (strcmp(op, "TopK") == 0)
        return topKInfer(p, in, n_in, out, n_out, info, err);
    if (strcmp(op, "EyeLike") == 0) {
        if (x->rank != 2)
            return vbErrorSet(err, VB_ERR_SHAPE, "EyeLike needs a 2-D input, got rank %d", x->rank);
        vbKernelSetShape(out[0], p->dtype ? p->dtype : x->dtype, 2, x->dims);
        return VB_OK;
    }
    if (strcmp(op, "Trilu") == 0 && x->rank < 2)
        return vbErrorSet(err, VB_ERR_SHAPE, "Trilu needs rank 2 or more, got %d", x->rank);
    if ((strcmp(op, "Trilu") == 0 || strcmp(op, "CumSum") == 0) && n_in > 1 && in[1] != NULL &&
        ((in[1]->dtype != VB_DTYPE_INT32 && in[1]->dtype != VB_DTYPE_INT64) ||
         vbTensorCount(in[1]) != 1))
        return vbErrorSet(err, VB_ERR_SHAPE, "%s: input 1 must be an int32 or int64 scalar", op);
    if (strcmp(op, "CumSum") == 0 && x->dtype != VB_DTYPE_FLOAT32 &&
        x->dtype != VB_DTYPE_FLOAT64 && x->dtype != VB_DTYPE_INT32 && x->dtype != VB_DTYPE_INT64)
        return vbErrorSet(err, VB_ERR_UNSUPPORTED, "CumSum does not support %s",
                          vb_dtype_to_string(x->dtype));
    if (strcmp(op, "CumSum") == 0 && (n_in < 2 || in[1] == NULL))
        return vbErrorSet(err, VB_ERR_SHAPE, "CumSum needs the axis input");
    vbKernelSetShape(out[0], x->dtype, x->rank, x->dims);
    return VB_OK;
}

static vb_status indexRun(const void *params, const vb_tensor *const *in, int n_in,
                          vb_tensor *const *out, int n_out, const VbOpRunContext *ctx, vb_error *err)
{
    const IndexParams *p = params;
    const char *op = p->op_type;
    if (strcmp(op, "GatherElements") == 0)
        return elementsWalk(p, in[0], in[1], NULL, out[0], err);
    if (strstr(op, "ScatterElements") || strcmp(op, "Scatter") == 0) {
        vbKernelCopy(out[0]->data, in[0]->data, vbTensorBytes(in[0]), ctx->threads);
        return elementsWalk(p, in[0], in[1], in[2], out[0], err);
    }
    if (strstr(op, "ND") != NULL)
        return ndRun(p, in, out[0], err);
    if (strcmp(op, "OneHot") == 0) {
        oneHotRun(p, in, out[0]);
        return VB_OK;
    }
    if (strcmp(op, "TopK") == 0) {
        topKRun(p, in[0], out[0], out[1], ctx->workspace);
        return VB_OK;
    }
    if (strcmp(op, "EyeLike") == 0) {
        int64_t rows = out[0]->dims[0], cols = out[0]->dims[1];
        memset(out[0]->data, 0, vbTensorBytes(out[0]));
        for (int64_t i = 0; i < rows; i++) {
            if (i + p->k >= 0 && i + p->k < cols)
                storeNumber(out[0]->dtype, out[0]->data, (size_t)(i * cols + i + p->k), 1.0);
        }
        return VB_OK;
    }
    if (strcmp(op, "Trilu") == 0) {
        triluRun(p, in, n_in, out[0]);
        return VB_OK;
    }
    return cumSumRun(p, in, out[0], err);
}

#define INDEX_OP(name, type, opset)                                                                \
    static const VbOpDef name = {type, opset, indexPrepare, indexInfer, indexRun,                  \
                                 vbKernelFreeParams, NULL, NULL}

INDEX_OP(opGatherElements, "GatherElements", 11);
INDEX_OP(opGatherND, "GatherND", 11);
INDEX_OP(opScatterElements, "ScatterElements", 11);
INDEX_OP(opScatter, "Scatter", 9);
INDEX_OP(opScatterND, "ScatterND", 11);
INDEX_OP(opOneHot, "OneHot", 9);
INDEX_OP(opTopK, "TopK", 10);
INDEX_OP(opEyeLike, "EyeLike", 9);
INDEX_OP(opTrilu, "Trilu", 14);
INDEX_OP(opCumSum, "CumSum", 11);

const VbOpDef *const vbOpsIndex[] = {
    &opGatherElements, &opGatherND, &opScatterElements, &opScatter, &opScatterND, &opOneHot,
    &opTopK, &opEyeLike, &opTrilu, &opCumSum, NULL,
};
