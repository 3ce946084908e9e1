/* Packed single-precision GEMM core and epilogues shared by the Conv, Gemm and MatMul kernels. */
#ifndef VB_SGEMM_H
#define VB_SGEMM_H

#include <stddef.h>
#include <stdint.h>

#include "engine/op.h"

/* Rows of a packed A panel and columns of a packed B panel for one
 * micro-kernel. The layout is picked once per process from the CPU: 8x32 for
 * AVX-512F, 6x16 for AVX2+FMA, and 8x32 when neither is present. */
typedef struct VbSgemmLayout {
    int mr;
    int nr;
} VbSgemmLayout;

/* Depth of one K block: packed B panels cover this many rows of B. */
#define VB_SGEMM_KC 128
/* Largest number of columns of C one thread computes per B tile. */
#define VB_SGEMM_NC 512

/* Returns the layout packed operands must use on this CPU. */
VbSgemmLayout vbSgemmLayout(void);

/* Instruction sets the SGEMM and activation kernels may use. */
typedef enum VbSgemmIsa {
    VB_SGEMM_ISA_AUTO = 0,   /* the best the CPU has */
    VB_SGEMM_ISA_AVX2,       /* at most AVX2+FMA */
    VB_SGEMM_ISA_PORTABLE    /* portable C only */
} VbSgemmIsa;

/* Limits the kernels to isa, for tests of the AVX2 and portable layouts.
 * Changes the layout, so call it only while no packed weights exist and no
 * kernel runs. */
void vbSgemmSetIsa(VbSgemmIsa isa);

/* The vector instructions a kernel runs with. */
typedef enum VbKernelIsa {
    VB_KERNEL_ISA_PORTABLE = 0,
    VB_KERNEL_ISA_AVX2,      /* AVX2 and FMA */
    VB_KERNEL_ISA_AVX512     /* AVX-512F */
} VbKernelIsa;

/* Returns the best instruction set of this CPU that vbSgemmSetIsa allows,
 * or VB_KERNEL_ISA_PORTABLE when disable_simd is set. Kernels with AVX2 and
 * AVX-512 forms pick one with it, so tests reach each form. */
VbKernelIsa vbKernelIsa(int disable_simd);

/* Returns the float count of an M x K matrix packed with vbSgemmPackA. */
size_t vbSgemmPackedASize(int m, int k);

/* Packs the M x K matrix whose element (i, j) is a[i * row_stride + j *
 * col_stride] into panels of mr rows: panel p contains rows p*mr..p*mr+mr-1 as
 * K groups of mr floats, rows past M are zero. packed must have room for
 * vbSgemmPackedASize(m, k) floats. */
void vbSgemmPackA(int m, int k, const float *a, size_t row_stride, size_t col_stride,
                  float *packed);

/* Fills dst with rows k0..k0+kc-1 and columns n0..n0+nc-1 of a virtual K x N
 * matrix B, as ceil(nc / nr) panels of kc x nr floats (columns past nc are
 * zero). src is the packer's own description of B. */
typedef void (*VbSgemmPackB)(const void *src, int k0, int kc, int n0, int nc, int nr,
                             float *dst);

/* B stored as a plain matrix: element (k, n) is data[k * row_stride + n * col_stride],
 * times row_scale[k] when row_scale is not NULL (one rounding, as a Mul). */
typedef struct VbSgemmMatrix {
    const float *data;
    size_t row_stride;
    size_t col_stride;
    const float *row_scale;
} VbSgemmMatrix;

/* Packer for VbSgemmMatrix sources. */
void vbSgemmPackMatrix(const void *src, int k0, int kc, int n0, int nc, int nr, float *dst);

/* What to do to each row of C after the product: add bias[row] (when bias is
 * not NULL), then apply act with alpha and beta. */
typedef struct VbSgemmEpilogue {
    const float *bias;
    VbActivation act;
    float alpha;
    float beta;
} VbSgemmEpilogue;

/* Returns the scratch bytes vbSgemm needs per thread for an M x N x K product. */
size_t vbSgemmThreadWorkspace(int n, int k);

/* Computes C = A * B for an M x N x K product, then applies ep (may be NULL)
 * to every row. packed_a comes from vbSgemmPackA; pack_b/b_src produce B
 * tiles; C rows are ldc floats apart. workspace holds workspace_bytes; the
 * function uses as many threads (at most ctx->threads) as there are
 * vbSgemmThreadWorkspace blocks in it, at least one. Every element of C is
 * summed in the same order whatever the thread count. */
void vbSgemm(int m, int n, int k, const float *packed_a, VbSgemmPackB pack_b, const void *b_src,
             float *c, size_t ldc, const VbSgemmEpilogue *ep, const VbOpRunContext *ctx,
             void *workspace, size_t workspace_bytes);

/* Returns the scratch bytes vbSgemmRows needs per thread. */
size_t vbSgemmRowsThreadWorkspace(void);

/* Computes C = A * B like vbSgemm, but finds B in x through offsets instead
 * of a packer: B's columns form `segments` runs of segment_length columns,
 * run s starting at x + s * segment_stride, and row r of B is offset
 * row_offsets[r] floats from there. Columns inside a run must be contiguous
 * in x. C column s * segment_length + j belongs to run s, column j. With few
 * rows of A and long runs, the micro-kernel reads B rows in place; otherwise
 * each tile is copied into a packed panel. Every element of C is summed in
 * the same order whatever the thread count. Convolutions pass one run per
 * output row of a padded, stride-phase-split image. */
void vbSgemmRows(int m, int segments, int segment_length, size_t segment_stride, int k,
                 const float *packed_a, const float *x, const size_t *row_offsets, float *c,
                 size_t ldc, const VbSgemmEpilogue *ep, const VbOpRunContext *ctx,
                 void *workspace, size_t workspace_bytes);

/* Returns the scratch bytes vbSgemmWide needs per thread for m rows of A. */
size_t vbSgemmWideThreadWorkspace(int m);

/* Computes C = A * B like vbSgemmRows for a convolution whose output rows
 * are `rows` runs of row_length columns, run r starting row_stride floats
 * after run r-1 in x (row_stride >= row_length). B is taken over the wide
 * domain of rows * row_stride columns, where wide column n of B row p is
 * x[row_offsets[p] + n], so every tile is contiguous in x. Each tile is
 * computed in a per-thread staging tile. Columns past row_length in each
 * run are dropped there. The others get bias and activation and are
 * stored at c[i * ldc + r * row_length + j]. Nothing past wide column (rows - 1) * row_stride +
 * row_length - 1 is read. Every element of C is summed in the same order
 * whatever the thread count. workspace holds workspace_bytes, one
 * vbSgemmWideThreadWorkspace(m) block per thread. */
void vbSgemmWide(int m, int rows, int row_length, size_t row_stride, int k,
                 const float *packed_a, const float *x, const size_t *row_offsets, float *c,
                 size_t ldc, const VbSgemmEpilogue *ep, const VbOpRunContext *ctx,
                 void *workspace, size_t workspace_bytes);

/* Computes y[i] = dot(w + i * ldw, x) over k floats for rows i < rows.
 * Each sum adds 16 partial sums in a fixed order, so it does not depend on
 * how callers split the rows between threads. With use_simd, the AVX-512
 * loop (four rows at a time) runs when the CPU has it. */
void vbSgemvRows(const float *w, size_t ldw, const float *x, int64_t k, int64_t rows, float *y,
                 int use_simd);

/* Applies act to n floats in place after adding bias to each. SiLU is
 * x / (1 + exp(-x)), HardSwish x * max(0, min(1, x / 6 + 0.5)). use_simd
 * picks the AVX-512 path when the CPU has it. That path computes exp(-x) as
 * a power of two through a degree-5 polynomial, the portable path calls
 * expf. */
void vbActivationApply(float *x, size_t n, float bias, VbActivation act, float alpha, float beta,
                       int use_simd);

/* Applies act to rows rows of n floats, row r starting at c + r * ldc,
 * after adding bias[r] to each (bias may be NULL: no bias). Gives what
 * vbActivationApply gives row by row, with one call's set-up for the whole
 * block. */
void vbActivationApplyRows(float *c, size_t ldc, int rows, size_t n, const float *bias,
                           VbActivation act, float alpha, float beta, int use_simd);

/* Returns the op-type name of an activation ("Relu", ...) for messages. */
const char *vbActivationName(VbActivation act);

#endif /* VB_SGEMM_H */
