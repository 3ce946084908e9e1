/* Helpers shared by the elementwise, shape, softmax and reduction kernels: axes, constant inputs, strided walks. */
#ifndef VB_KERNEL_UTIL_H
#define VB_KERNEL_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include "core/core.h"
#include "engine/op.h"

/* Element counts at or above this run on ctx->threads threads; smaller
 * tensors stay on one thread because starting a team costs more. */
#define VB_KERNEL_PARALLEL_MIN 32768

/* Normalises axis (negative values count from the end) for a tensor of
 * rank dims. Fails with VB_ERR_SHAPE naming op, the axis and the rank. */
vb_status vbKernelAxis(const char *op, int64_t axis, int rank, int *out, vb_error *err);

/* Reads the 1-D (or scalar) integer tensor t, an input called what of op,
 * into vals (at most max values) and sets *count. Fails with
 * VB_ERR_UNSUPPORTED when t->data is NULL (the value is not a constant),
 * VB_ERR_SHAPE for a non-integer dtype, VB_ERR_LIMIT above max values. */
vb_status vbKernelReadInts(const char *op, const char *what, const vb_tensor *t, int64_t *vals,
                           int max, int *count, vb_error *err);

/* Reads element 0 of a numeric tensor as a double (any of float32, float64,
 * int8..int64, uint8..uint64, bool). */
double vbKernelScalarAsDouble(const vb_tensor *t);

/* Sets dst's dtype, rank and dims (not its data pointer). */
void vbKernelSetShape(vb_tensor *dst, vb_dtype dtype, int rank, const int64_t *dims);

/* Checks that every dim of t is non-negative and the element count and byte
 * size fit in size_t. Fails with VB_ERR_LIMIT naming op. */
vb_status vbKernelCheckSize(const char *op, const vb_tensor *t, vb_error *err);

/* A walk over an N-D index space with up to VB_WALK_MAX_OPERANDS strided
 * operands. Kernels describe each operand by element strides (0 on a
 * broadcast dimension, negative for reversed slices), coalesce, and get one
 * callback per run of the innermost dimension. */
#define VB_WALK_MAX_OPERANDS 4

typedef struct VbKernelWalk {
    int rank;                                           /* >= 1 after init */
    int operands;
    int64_t dims[VB_MAX_RANK];
    int64_t strides[VB_WALK_MAX_OPERANDS][VB_MAX_RANK]; /* in elements */
    size_t count;                                       /* product of dims */
} VbKernelWalk;

/* Row callback: ptr[k] is operand k's first element in the row, step[k] its
 * stride in elements, n the row length (>= 1). */
typedef void (*VbKernelRowFn)(const void *user, char *const *ptr, const int64_t *step, int64_t n);

/* Starts a walk over dims (rank 0 walks a single element) with every
 * operand stride set to 0. */
void vbKernelWalkInit(VbKernelWalk *walk, int rank, const int64_t *dims, int operands);

/* Sets operand k's strides for tensor shape (rank, dims) broadcast to the
 * walk shape by numpy rules (right-aligned; a dim of 1 gets stride 0). */
void vbKernelWalkBroadcast(VbKernelWalk *walk, int k, int rank, const int64_t *dims);

/* Merges neighbouring dims that every operand steps through contiguously
 * and drops dims of extent 1, so that rows get as long as possible. */
void vbKernelWalkCoalesce(VbKernelWalk *walk);

/* Calls row for every row of the walk. base[k] is operand k's element at
 * index 0 and esize[k] its element size. With threads > 1 and at least
 * VB_KERNEL_PARALLEL_MIN elements, the index space is cut into threads
 * contiguous ranges; the caller must only pass threads > 1 when no two
 * elements of the walk write to the same output element. */
void vbKernelWalkRun(const VbKernelWalk *walk, VbKernelRowFn row, const void *user,
                     char *const *base, const size_t *esize, int threads);

/* Row callback that copies operand 1 into operand 0 (contiguous); user
 * points to the element size as a size_t. A source step of 1 is one memcpy,
 * other steps (0 for broadcast, negative for reversed slices) copy element
 * by element. */
void vbKernelCopyRow(const void *user, char *const *ptr, const int64_t *step, int64_t n);

/* Copies src broadcast to dst's shape (numpy rules, element size from
 * dtype). Used by Expand, Where-like copies and variadic ops. */
void vbKernelBroadcastCopy(const vb_tensor *src, vb_tensor *dst, int threads);

/* Releases params allocated with malloc (the release hook of most ops). */
void vbKernelFreeParams(void *params);

#endif /* VB_KERNEL_UTIL_H */
