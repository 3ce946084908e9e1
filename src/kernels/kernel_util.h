/* Helpers shared by the elementwise, shape, softmax and reduction kernels: axes, constant inputs, strided walks. */
#ifndef VB_KERNEL_UTIL_H
#define VB_KERNEL_UTIL_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "core/core.h"
#include "engine/op.h"

/* Element counts at or above this run on ctx->threads threads. Smaller
 * tensors stay on one thread, because starting a thread team would cost
 * about as much as the work (an estimate, not tuned per machine). */
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

/* Marks a hot loop function for compilation for AVX-512F, AVX2 and the
 * baseline, chosen at load time by the dynamic linker (GCC target_clones,
 * x86-64 Linux only). The clones compute bitwise the same results: ISO C
 * mode turns off FMA contraction and nothing is reassociated. */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
#define VB_KERNEL_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define VB_KERNEL_CLONES
#endif

/* exp(x) for float in plain C that compilers vectorize: x = n*ln2 + r with
 * |r| <= ln2/2 (Cody-Waite split of ln2), e^r from its Taylor series to r^7
 * (truncation error below 1e-8 relative), scaled by 2^n in two steps so that
 * n = 128 and n = -126 stay representable. Within 2 ulp of expf on
 * [-87.33, 88.72]; smaller x gives 0 (expf returns subnormals there),
 * larger x infinity, and NaN stays NaN. The special cases are blended with
 * integer masks, not selects: GCC 12 sinks the arithmetic of a select arm
 * into a branch and then, without -fno-trapping-math, does not vectorize. */
static inline float vbKernelExpf(float x)
{
    /* n = round(x / ln2): adding 1.5 * 2^23 leaves n in the low mantissa bits. */
    float t = x * 1.44269504088896341f + 12582912.0f;
    float n = t - 12582912.0f;
    float r = x - n * 0.693359375f;
    r = r - n * -2.12194440054690583e-4f;

    float p = 1.0f / 5040.0f;
    p = p * r + 1.0f / 720.0f;
    p = p * r + 1.0f / 120.0f;
    p = p * r + 1.0f / 24.0f;
    p = p * r + 1.0f / 6.0f;
    p = p * r + 0.5f;
    p = p * r + 1.0f;
    p = p * r + 1.0f;

    /* 2^n = 2^e * factor with e = n - 1 (factor 2) or n + 1 (factor 1/2). */
    int32_t t_bits;
    memcpy(&t_bits, &t, sizeof t_bits);
    int32_t ni = t_bits - 0x4B400000;
    ni = ni < -126 ? -126 : ni;
    ni = ni > 128 ? 128 : ni;
    int32_t e = ni > 0 ? ni - 1 : ni + 1;
    float factor = ni > 0 ? 2.0f : 0.5f;
    int32_t bits = (e + 127) << 23;
    float scale;
    memcpy(&scale, &bits, sizeof scale);
    float y = p * scale * factor;

    /* Overflow, underflow and NaN, decided on the bit patterns: positive
     * floats order like their bits as int32, negative ones like their bits
     * as uint32 in reverse. 0x42B17213 is 88.7228f, 0xC2AEAC4A is -87.3365f. */
    uint32_t x_bits, y_bits;
    memcpy(&x_bits, &x, sizeof x_bits);
    memcpy(&y_bits, &y, sizeof y_bits);
    uint32_t overflow = 0u - (uint32_t)((int32_t)x_bits > 0x42B17213);
    uint32_t underflow = 0u - (uint32_t)(x_bits > 0xC2AEAC4Au);
    uint32_t nan = 0u - (uint32_t)((x_bits & 0x7FFFFFFFu) > 0x7F800000u);
    y_bits = (y_bits & ~overflow) | (0x7F800000u & overflow);
    y_bits &= ~underflow;
    y_bits = (y_bits & ~nan) | (x_bits & nan);
    memcpy(&y, &y_bits, sizeof y);
    return y;
}

/* Converts a double to int64 by truncation toward zero. NaN gives 0 and
 * values outside int64 saturate, where a C cast would be undefined. */
static inline int64_t vbKernelToInt64(double v)
{
    if (v != v)
        return 0;
    if (v >= 9223372036854775807.0)
        return INT64_MAX;
    if (v <= -9223372036854775808.0)
        return INT64_MIN;
    return (int64_t)v;
}

/* Returns v limited to [lo, hi]. */
static inline int64_t vbKernelClamp(int64_t v, int64_t lo, int64_t hi)
{
    if (v < lo)
        return lo;
    if (v > hi)
        return hi;
    return v;
}

/* memcpy that splits copies of 1 MiB and more across threads. Empty copies
 * and copies onto the source do nothing, so dst and src may be NULL then. */
void vbKernelCopy(void *dst, const void *src, size_t bytes, int threads);

/* Releases params allocated with malloc (the release hook of most ops). */
void vbKernelFreeParams(void *params);

#endif /* VB_KERNEL_UTIL_H */
