/* Helpers shared by the light kernels: axis checks, constant integer inputs and the strided N-D walk. */
#include <stdlib.h>
#include <string.h>

#include "kernels/kernel_util.h"
#include "kernels/parallel.h"

vb_status vbKernelAxis(const char *op, int64_t axis, int rank, int *out, vb_error *err)
{
    if (axis < -(int64_t)rank || axis >= (int64_t)rank)
        return vbErrorSet(err, VB_ERR_SHAPE, "%s: axis %lld is out of range for rank %d (use -%d..%d)",
                          op, (long long)axis, rank, rank, rank - 1);
    *out = (int)(axis < 0 ? axis + rank : axis);
    return VB_OK;
}

vb_status vbKernelReadInts(const char *op, const char *what, const vb_tensor *t, int64_t *vals,
                           int max, int *count, vb_error *err)
{
    if (t->data == NULL)
        return vbErrorSet(err, VB_ERR_UNSUPPORTED,
                          "%s requires a constant '%s' input", op, what);
    if (t->dtype != VB_DTYPE_INT64 && t->dtype != VB_DTYPE_INT32)
        return vbErrorSet(err, VB_ERR_SHAPE, "%s: input '%s' must be int32 or int64, got %s", op, what,
                          vb_dtype_to_string(t->dtype));
    if (t->rank > 1)
        return vbErrorSet(err, VB_ERR_SHAPE, "%s: input '%s' must be 1-D, got rank %d", op, what,
                          t->rank);
    size_t n = vbTensorCount(t);
    if (n > (size_t)max)
        return vbErrorSet(err, VB_ERR_LIMIT, "%s: input '%s' has %zu values, at most %d are supported",
                          op, what, n, max);
    for (size_t i = 0; i < n; i++)
        vals[i] = vbTensorGetInt(t, i);
    *count = (int)n;
    return VB_OK;
}

double vbKernelScalarAsDouble(const vb_tensor *t)
{
    const void *p = t->data;
    switch (t->dtype) {
    case VB_DTYPE_FLOAT32: return *(const float *)p;
    case VB_DTYPE_FLOAT64: return *(const double *)p;
    case VB_DTYPE_INT8: return *(const int8_t *)p;
    case VB_DTYPE_INT16: return *(const int16_t *)p;
    case VB_DTYPE_INT32: return *(const int32_t *)p;
    case VB_DTYPE_INT64: return (double)*(const int64_t *)p;
    case VB_DTYPE_UINT8:
    case VB_DTYPE_BOOL: return *(const uint8_t *)p;
    case VB_DTYPE_UINT16: return *(const uint16_t *)p;
    case VB_DTYPE_UINT32: return *(const uint32_t *)p;
    case VB_DTYPE_UINT64: return (double)*(const uint64_t *)p;
    default: return 0.0;
    }
}

void vbKernelSetShape(vb_tensor *dst, vb_dtype dtype, int rank, const int64_t *dims)
{
    dst->dtype = dtype;
    dst->rank = rank;
    for (int i = 0; i < rank; i++)
        dst->dims[i] = dims[i];
}

vb_status vbKernelCheckSize(const char *op, const vb_tensor *t, vb_error *err)
{
    size_t n = 1;
    for (int i = 0; i < t->rank; i++) {
        if (t->dims[i] < 0 || vbMulSize(n, (size_t)t->dims[i], &n))
            return vbErrorSet(err, VB_ERR_LIMIT, "%s: output dimension %d (%lld) is negative or too large",
                              op, i, (long long)t->dims[i]);
    }
    if (vbMulSize(n, vb_dtype_size(t->dtype) ? vb_dtype_size(t->dtype) : 1, &n))
        return vbErrorSet(err, VB_ERR_LIMIT, "%s: output of %zu elements is too large", op, n);
    return VB_OK;
}

void vbKernelWalkInit(VbKernelWalk *walk, int rank, const int64_t *dims, int operands)
{
    memset(walk, 0, sizeof *walk);
    walk->operands = operands;
    walk->count = 1;
    if (rank == 0) {
        walk->rank = 1;
        walk->dims[0] = 1;
        return;
    }
    walk->rank = rank;
    for (int d = 0; d < rank; d++) {
        walk->dims[d] = dims[d];
        walk->count *= (size_t)dims[d];
    }
}

void vbKernelWalkBroadcast(VbKernelWalk *walk, int k, int rank, const int64_t *dims)
{
    int64_t stride = 1;
    for (int d = walk->rank - 1; d >= 0; d--) {
        int src = d - (walk->rank - rank);
        int64_t extent = src >= 0 ? dims[src] : 1;
        walk->strides[k][d] = extent == 1 ? 0 : stride;
        stride *= extent;
    }
}

void vbKernelWalkCoalesce(VbKernelWalk *walk)
{
    int out = 0;
    for (int d = 0; d < walk->rank; d++) {
        if (walk->dims[d] == 1)
            continue;
        int merge = out > 0;
        for (int k = 0; k < walk->operands && merge; k++)
            merge = walk->strides[k][out - 1] == walk->strides[k][d] * walk->dims[d];
        if (merge) {
            walk->dims[out - 1] *= walk->dims[d];
            for (int k = 0; k < walk->operands; k++)
                walk->strides[k][out - 1] = walk->strides[k][d];
            continue;
        }
        walk->dims[out] = walk->dims[d];
        for (int k = 0; k < walk->operands; k++)
            walk->strides[k][out] = walk->strides[k][d];
        out++;
    }
    if (out == 0) {
        walk->dims[0] = 1;
        for (int k = 0; k < walk->operands; k++)
            walk->strides[k][0] = 0;
        out = 1;
    }
    walk->rank = out;
}

/* Walks the linear index range [start, end) of the walk's index space. */
static void walkRange(const VbKernelWalk *walk, VbKernelRowFn row, const void *user,
                      char *const *base, const size_t *esize, size_t start, size_t end)
{
    int rank = walk->rank, last = rank - 1;
    int64_t idx[VB_MAX_RANK];
    size_t rem = start;
    for (int d = last; d >= 0; d--) {
        idx[d] = (int64_t)(rem % (size_t)walk->dims[d]);
        rem /= (size_t)walk->dims[d];
    }
    int64_t step[VB_WALK_MAX_OPERANDS];
    for (int k = 0; k < walk->operands; k++)
        step[k] = walk->strides[k][last];

    while (start < end) {
        /* Locate each operand's row start, then hand the row over. */
        char *ptr[VB_WALK_MAX_OPERANDS];
        for (int k = 0; k < walk->operands; k++) {
            int64_t off = 0;
            for (int d = 0; d < rank; d++)
                off += idx[d] * walk->strides[k][d];
            ptr[k] = base[k] + off * (int64_t)esize[k];
        }
        int64_t n = walk->dims[last] - idx[last];
        if ((size_t)n > end - start)
            n = (int64_t)(end - start);
        row(user, ptr, step, n);
        start += (size_t)n;

        /* Advance the multi-index like an odometer. */
        idx[last] += n;
        for (int d = last; d > 0 && idx[d] == walk->dims[d]; d--) {
            idx[d] = 0;
            idx[d - 1]++;
        }
    }
}

/* Arguments of one vbKernelWalkRun call for walkTask. */
typedef struct WalkJob {
    const VbKernelWalk *walk;
    VbKernelRowFn row;
    const void *user;
    char *const *base;
    const size_t *esize;
} WalkJob;

static void walkTask(void *arg, size_t begin, size_t end)
{
    const WalkJob *job = arg;
    walkRange(job->walk, job->row, job->user, job->base, job->esize, begin, end);
}

void vbKernelWalkRun(const VbKernelWalk *walk, VbKernelRowFn row, const void *user,
                     char *const *base, const size_t *esize, int threads)
{
    size_t total = walk->count;
    if (total == 0)
        return;
    if (threads <= 1 || total < VB_KERNEL_PARALLEL_MIN) {
        walkRange(walk, row, user, base, esize, 0, total);
        return;
    }
    WalkJob job = {walk, row, user, base, esize};
    vbParallelRanges(threads, total, walkTask, &job);
}

void vbKernelCopyRow(const void *user, char *const *ptr, const int64_t *step, int64_t n)
{
    size_t es = *(const size_t *)user;
    char *dst = ptr[0];
    const char *src = ptr[1];
    int64_t s = step[1];
    if (s == 1) {
        memcpy(dst, src, (size_t)n * es);
        return;
    }

    /* Strided or repeated source: typed loops for the common sizes. */
    switch (es) {
    case 1:
        for (int64_t i = 0; i < n; i++)
            ((uint8_t *)dst)[i] = ((const uint8_t *)src)[i * s];
        break;
    case 2:
        for (int64_t i = 0; i < n; i++)
            ((uint16_t *)dst)[i] = ((const uint16_t *)src)[i * s];
        break;
    case 4:
        for (int64_t i = 0; i < n; i++)
            ((uint32_t *)dst)[i] = ((const uint32_t *)src)[i * s];
        break;
    case 8:
        for (int64_t i = 0; i < n; i++)
            ((uint64_t *)dst)[i] = ((const uint64_t *)src)[i * s];
        break;
    default:
        for (int64_t i = 0; i < n; i++)
            memcpy(dst + (size_t)i * es, src + i * s * (int64_t)es, es);
        break;
    }
}

void vbKernelBroadcastCopy(const vb_tensor *src, vb_tensor *dst, int threads)
{
    size_t es = vb_dtype_size(dst->dtype);
    VbKernelWalk walk;
    vbKernelWalkInit(&walk, dst->rank, dst->dims, 2);
    vbKernelWalkBroadcast(&walk, 0, dst->rank, dst->dims);
    vbKernelWalkBroadcast(&walk, 1, src->rank, src->dims);
    vbKernelWalkCoalesce(&walk);
    char *base[2] = {dst->data, src->data};
    size_t esize[2] = {es, es};
    vbKernelWalkRun(&walk, vbKernelCopyRow, &es, base, esize, threads);
}

/* Arguments of one vbKernelCopy call for copyTask. */
typedef struct CopyJob {
    void *dst;
    const void *src;
} CopyJob;

static void copyTask(void *arg, size_t begin, size_t end)
{
    const CopyJob *job = arg;
    memcpy((char *)job->dst + begin, (const char *)job->src + begin, end - begin);
}

void vbKernelCopy(void *dst, const void *src, size_t bytes, int threads)
{
    if (bytes == 0 || dst == src)
        return;
    if (threads <= 1 || bytes < ((size_t)1 << 20)) {
        memcpy(dst, src, bytes);
        return;
    }
    CopyJob job = {dst, src};
    vbParallelRanges(threads, bytes, copyTask, &job);
}

void vbKernelFreeParams(void *params)
{
    free(params);
}
