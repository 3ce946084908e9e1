/* The Conv op (opsets 1 and 11): 1-D and 2-D NCHW float32, groups, depthwise, fused bias and activation. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "engine/op.h"
#include "kernels/shuffle_avx2.h"
#include "kernels/parallel.h"
#include "kernels/sgemm.h"
#include "kernels/transpose16.h"
#include "kernels/window.h"
#include "kernels/winograd.h"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

typedef struct ConvParams {
    VbWindow window;
    int64_t group;
    VbActivation act;
    float alpha, beta;
    float *packed;              /* weights packed per group by convPack, or NULL */
    int winograd;               /* packed contains Winograd-transformed weights */
    int64_t packed_dims[4];     /* weight dims packed (M, C/group, kh, kw) */
    int input_scale;            /* input 3 is S [1, C, 1, 1]; X is multiplied by it (a fused Mul) */
    int pool_output;            /* output 1 is [N, M, 1, 1], the mean of each output plane
                                   (a fused GlobalAveragePool) */
} ConvParams;

/* Shapes of one Conv call, resolved from the inputs. */
typedef struct ConvShape {
    VbWindowGeometry g;
    int64_t batch, channels, out_channels;
    int64_t group_in, group_out;  /* channels per group in input and output */
    int64_t k;                    /* group_in * kh * kw: GEMM depth */
    int depthwise;                /* one input and one output channel per group */
    int pointwise;                /* 1x1 kernel, stride 1, no padding: B is the input itself */
} ConvShape;

static vb_status convPrepare(const VbOnnxNode *node, int opset, void **params, vb_error *err)
{
    ConvParams *p = calloc(1, sizeof *p);
    if (p == NULL)
        return vbErrorSet(err, VB_ERR_NO_MEMORY, "Conv node '%s': out of memory", node->name);
    vb_status st = vbWindowRead(node, 0, &p->window, err);
    if (st != VB_OK)
        goto done;
    int bad = 0;
    p->group = vbOnnxAttrInt(node, "group", 1, &bad);
    if (bad || p->group < 1) {
        st = vbErrorSet(err, VB_ERR_INVALID_ARGUMENT, "Conv node '%s': group must be an int >= 1",
                        node->name);
        goto done;
    }
    *params = p;
    p = NULL;
done:
    free(p);
    return st;
}

static void convRelease(void *params)
{
    ConvParams *p = params;
    if (p == NULL)
        return;
    free(p->packed);
    free(p);
}

/* Returns nonzero when scale, the input 3 of a fused Mul, fits the Conv of
 * shape s: float32 [1, C, 1, 1] for a 1x1 convolution of one image with one
 * group. */
static int convScaleFits(const ConvParams *p, const ConvShape *s, const vb_tensor *scale)
{
    return scale != NULL && s->pointwise && p->group == 1 && s->batch == 1 &&
           scale->dtype == VB_DTYPE_FLOAT32 && scale->rank == 4 && scale->dims[0] == 1 &&
           scale->dims[1] == s->channels && scale->dims[2] == 1 && scale->dims[3] == 1;
}

/* Validates X [N, C, (H,) W], W [M, C/group, (kh,) kw] and B [M] and fills
 * *s. Errors name the node and the shapes. */
static vb_status convShape(const ConvParams *p, const vb_tensor *const *in, int n_in,
                           ConvShape *s, vb_error *err)
{
    const char *node = p->window.node;
    if (n_in < 2 || in[0] == NULL || in[1] == NULL)
        return vbErrorSet(err, VB_ERR_SHAPE, "Conv node '%s': inputs X and W are required", node);
    const vb_tensor *x = in[0], *w = in[1], *b = n_in > 2 ? in[2] : NULL;
    if (x->dtype != VB_DTYPE_FLOAT32 || w->dtype != VB_DTYPE_FLOAT32 ||
        (b && b->dtype != VB_DTYPE_FLOAT32))
        return vbErrorSet(err, VB_ERR_UNSUPPORTED, "Conv node '%s': input type %s is not supported; only float32 is",
                          node, vb_dtype_to_string(x->dtype != VB_DTYPE_FLOAT32 ? x->dtype : w->dtype));
    if (x->rank < 3 || x->rank > 4)
        return vbErrorSet(err, VB_ERR_UNSUPPORTED,
                          "Conv node '%s': input rank %d is not supported; only 1-D (rank 3) and 2-D (rank 4) convolutions are",
                          node, x->rank);
    char sx[96], sw[96];
    if (w->rank != x->rank)
        return vbErrorSet(err, VB_ERR_SHAPE, "Conv node '%s': weights %s do not match input %s", node,
                          vbShapeString(w, sw, sizeof sw), vbShapeString(x, sx, sizeof sx));

    s->batch = x->dims[0];
    s->channels = x->dims[1];
    s->out_channels = w->dims[0];
    s->group_in = w->dims[1];
    if (s->channels != s->group_in * p->group || s->out_channels % p->group != 0)
        return vbErrorSet(err, VB_ERR_SHAPE,
                          "Conv node '%s': input %s, weights %s and group %lld do not fit (need C = W.dims[1] * group, M divisible by group)",
                          node, vbShapeString(x, sx, sizeof sx), vbShapeString(w, sw, sizeof sw),
                          (long long)p->group);
    s->group_out = s->out_channels / p->group;
    if (b && (b->rank != 1 || b->dims[0] != s->out_channels))
        return vbErrorSet(err, VB_ERR_SHAPE, "Conv node '%s': bias %s must have shape [%lld]", node,
                          vbShapeString(b, sx, sizeof sx), (long long)s->out_channels);

    int spatial = x->rank - 2;
    vb_status st = vbWindowResolve(&p->window, spatial, x->dims + 2, w->dims + 2, &s->g, err);
    if (st != VB_OK)
        return st;
    int64_t k = 0;
    if (vbMulI64(s->group_in, s->g.kernel[0] * s->g.kernel[1], &k) || k > INT32_MAX ||
        s->g.out[0] * s->g.out[1] > INT32_MAX || s->group_out > INT32_MAX)
        return vbErrorSet(err, VB_ERR_LIMIT, "Conv node '%s': weights %s or output are too large",
                          node, vbShapeString(w, sw, sizeof sw));
    s->k = k;

    /* The stride-phase copy of one image group must stay addressable. */
    size_t padded = 0;
    int64_t padded_h = s->g.in[0] + s->g.pad_begin[0] + s->g.pad_end[0];
    int64_t padded_w = s->g.in[1] + s->g.pad_begin[1] + s->g.pad_end[1];
    if (vbMulSize((size_t)(padded_h + s->g.stride[0]), (size_t)(padded_w + s->g.stride[1]), &padded) ||
        vbMulSize(padded, (size_t)s->group_in * sizeof(float), &padded) || padded > SIZE_MAX / 64)
        return vbErrorSet(err, VB_ERR_LIMIT, "Conv node '%s': input %s with its pads is too large", node,
                          vbShapeString(x, sx, sizeof sx));
    s->depthwise = s->group_in == 1 && s->group_out == 1;
    s->pointwise = s->g.kernel[0] == 1 && s->g.kernel[1] == 1 && s->g.stride[0] == 1 &&
                   s->g.stride[1] == 1 && s->g.pad_begin[0] == 0 && s->g.pad_begin[1] == 0 &&
                   s->g.pad_end[0] == 0 && s->g.pad_end[1] == 0;

    /* The scale of a fused Mul: one float per input channel, one image. */
    const vb_tensor *scale = n_in > 3 ? in[3] : NULL;
    if (scale != NULL || p->input_scale) {
        if (!p->input_scale || !convScaleFits(p, s, scale))
            return vbErrorSet(err, VB_ERR_SHAPE,
                              "Conv node '%s': the input scale of a fused Mul must be float32 [1, %lld, 1, 1] for a 1x1 convolution of one image",
                              node, (long long)s->channels);
    }
    return VB_OK;
}

/* Fills *w and returns nonzero when s runs on the Winograd path: a 2-D
 * 3x3 convolution with stride 1, dilation 1 and one group that
 * vbWinogradSuits accepts. */
static int convWinograd(const ConvParams *p, const ConvShape *s, VbWinogradShape *w)
{
    const VbWindowGeometry *g = &s->g;
    if (p->group != 1 || g->kernel[0] != 3 || g->kernel[1] != 3 || g->stride[0] != 1 ||
        g->stride[1] != 1 || g->dilation[0] != 1 || g->dilation[1] != 1 || g->in[0] < 3 ||
        s->channels > INT32_MAX || s->out_channels > INT32_MAX || g->in[0] > INT32_MAX ||
        g->in[1] > INT32_MAX)
        return 0;
    w->channels = (int)s->channels;
    w->out_channels = (int)s->out_channels;
    w->height = (int)g->in[0];
    w->width = (int)g->in[1];
    w->out_height = (int)g->out[0];
    w->out_width = (int)g->out[1];
    w->pad_top = (int)g->pad_begin[0];
    w->pad_left = (int)g->pad_begin[1];
    return vbWinogradSuits(w);
}

/* Bytes of the weights packed for the GEMM path, all groups. */
static size_t convPackedBytes(const ConvParams *p, const ConvShape *s)
{
    return vbSgemmPackedASize((int)s->group_out, (int)s->k) * (size_t)p->group * sizeof(float);
}

static int convIsPacked(const ConvParams *p, const vb_tensor *w)
{
    if (p->packed == NULL)
        return 0;
    for (int i = 0; i < w->rank && i < 4; i++) {
        if (p->packed_dims[i] != w->dims[i])
            return 0;
    }
    return 1;
}

/* How one Conv call runs and how it splits the workspace. Pointwise
 * convolutions are plain GEMMs on the input. The others use the row-offset
 * GEMM on the input, or on a padded copy split into stride phases. There
 * every kernel tap reads a contiguous run along each output row, so no
 * im2col matrix is ever built. */
typedef struct ConvPlan {
    int use_rows;
    int im2col;            /* strided: vbSgemm packing B straight from the input */
    int wide;              /* nonzero: vbSgemmWide over whole input rows */
    size_t thread_bytes;   /* per-thread scratch for every core */
    size_t offsets_bytes;  /* row-pointer path: K offsets into the input */
    size_t padded_bytes;   /* row-pointer path: one image group padded and split into stride phases */
    size_t weights_bytes;  /* weights packed at run time when not packed at load */
} ConvPlan;

static size_t alignUp64(size_t n)
{
    return (n + 63) & ~(size_t)63;
}

/* Returns the height of one stride phase of the padded image: padded row
 * i*sy + py is row i of phase py. */
static int64_t phaseHeight(const ConvShape *s)
{
    int64_t padded = s->g.in[0] + s->g.pad_begin[0] + s->g.pad_end[0];
    return (padded + s->g.stride[0] - 1) / s->g.stride[0];
}

static int64_t phaseWidth(const ConvShape *s)
{
    int64_t padded = s->g.in[1] + s->g.pad_begin[1] + s->g.pad_end[1];
    return (padded + s->g.stride[1] - 1) / s->g.stride[1];
}

static void convPlan(const ConvParams *p, const ConvShape *s, int packed, ConvPlan *plan)
{
    memset(plan, 0, sizeof *plan);
    int stride1 = s->g.stride[0] == 1 && s->g.stride[1] == 1;
    int n = (int)(s->g.out[0] * s->g.out[1]);
    size_t cores = (size_t)vbCpuCount();

    /* Strided convolutions with more than 16 filters pack B from the input
     * itself: a stride-phase copy of a large input costs more memory
     * traffic than the packing. With 16 or fewer filters (stems) each
     * packed tile would serve only two micro-panels, and the copy wins. */
    plan->im2col = !s->pointwise && !stride1 && s->group_out > 16;
    plan->use_rows = !s->pointwise && !plan->im2col;
    if (plan->im2col) {
        plan->thread_bytes = vbSgemmThreadWorkspace(n, (int)s->k) * cores;
    } else if (plan->use_rows) {
        int padded = s->g.pad_begin[0] || s->g.pad_begin[1] || s->g.pad_end[0] || s->g.pad_end[1];
        int64_t row_stride = padded || !stride1 ? phaseWidth(s) : s->g.in[1];

        /* Computing whole input rows wastes row_stride - OW columns per
         * output row, but reads B in place in full tiles. It is faster
         * while the waste stays under an eighth and M is above 32; with
         * fewer rows, copying the staging tile out costs more than it saves. */
        plan->wide = s->group_out > 32 && (row_stride - s->g.out[1]) * 8 <= row_stride;
        size_t per_thread = plan->wide ? vbSgemmWideThreadWorkspace((int)s->group_out)
                                       : vbSgemmRowsThreadWorkspace();
        plan->thread_bytes = alignUp64(per_thread) * cores;
        plan->offsets_bytes = alignUp64((size_t)s->k * sizeof(size_t));
        if (padded || !stride1)
            plan->padded_bytes = alignUp64((size_t)(s->g.stride[0] * s->g.stride[1]) *
                                           (size_t)s->group_in * (size_t)phaseHeight(s) *
                                           (size_t)phaseWidth(s) * sizeof(float));
    } else {
        plan->thread_bytes = vbSgemmThreadWorkspace(n, (int)s->k) * cores;
    }
    if (!packed)
        plan->weights_bytes = alignUp64(convPackedBytes(p, s));
}

static size_t convPlanBytes(const ConvPlan *plan)
{
    return plan->thread_bytes + plan->offsets_bytes + plan->padded_bytes + plan->weights_bytes;
}

static size_t depthwiseWorkspace(const ConvShape *s);

static vb_status convInfer(const void *params, const vb_tensor *const *in, int n_in,
                           vb_tensor *const *out, int n_out, VbOpInferInfo *info, vb_error *err)
{
    const ConvParams *p = params;
    ConvShape s;
    vb_status st = convShape(p, in, n_in, &s, err);
    if (st != VB_OK)
        return st;

    vb_tensor *y = out[0];
    y->dtype = VB_DTYPE_FLOAT32;
    y->rank = in[0]->rank;
    y->dims[0] = s.batch;
    y->dims[1] = s.out_channels;
    if (y->rank == 4) {
        y->dims[2] = s.g.out[0];
        y->dims[3] = s.g.out[1];
    } else {
        y->dims[2] = s.g.out[1];
    }
    if (p->pool_output && n_out > 1) {
        int64_t dims[4] = {s.batch, s.out_channels, 1, 1};
        out[1]->dtype = VB_DTYPE_FLOAT32;
        out[1]->rank = 4;
        memcpy(out[1]->dims, dims, sizeof dims);
    }

    /* Workspace: per-core scratch of the chosen GEMM path, plus packed
     * weights when they were not packed at load. */
    if (s.depthwise) {
        info->workspace_bytes = depthwiseWorkspace(&s);
    } else {
        ConvPlan plan;
        convPlan(p, &s, convIsPacked(p, in[1]), &plan);
        info->workspace_bytes = convPlanBytes(&plan);

        /* Constant weights on the Winograd path are transformed at load. */
        VbWinogradShape wg;
        if (in[1]->data != NULL && convWinograd(p, &s, &wg)) {
            size_t bytes = vbWinogradThreadWorkspace(&wg) * (size_t)vbCpuCount();
            if (bytes > info->workspace_bytes)
                info->workspace_bytes = bytes;
        }
    }
    info->flops = 2ull * (uint64_t)s.batch * (uint64_t)s.out_channels *
                  (uint64_t)(s.g.out[0] * s.g.out[1]) * (uint64_t)s.k;
    return VB_OK;
}

/* Packs the weights of every group into dst (convPackedBytes long). */
static void convPackWeights(const ConvParams *p, const ConvShape *s, const float *w, float *dst)
{
    size_t group_floats = vbSgemmPackedASize((int)s->group_out, (int)s->k);
    for (int64_t g = 0; g < p->group; g++) {
        const float *wg = w + (size_t)g * (size_t)s->group_out * (size_t)s->k;
        vbSgemmPackA((int)s->group_out, (int)s->k, wg, (size_t)s->k, 1, dst + (size_t)g * group_floats);
    }
}

static vb_status convPack(void *params, const vb_tensor *const *in, int n_in, vb_error *err)
{
    ConvParams *p = params;
    if (n_in < 2 || in[1] == NULL || in[1]->data == NULL || in[0] == NULL)
        return VB_OK;
    ConvShape s;
    vb_status st = convShape(p, in, n_in, &s, err);
    if (st != VB_OK || s.depthwise)
        return st;
    VbWinogradShape wg;
    int winograd = convWinograd(p, &s, &wg);
    size_t floats = winograd ? vbWinogradPackedFloats(wg.out_channels, wg.channels)
                             : convPackedBytes(p, &s) / sizeof(float);
    float *packed = malloc(floats * sizeof(float));
    float *scratch = winograd ? malloc(sizeof(float) * (size_t)wg.out_channels * (size_t)wg.channels) : NULL;
    if (packed == NULL || (winograd && scratch == NULL)) {
        free(packed);
        free(scratch);
        return vbErrorSet(err, VB_ERR_NO_MEMORY, "Conv node '%s': out of memory packing weights",
                          p->window.node);
    }
    if (winograd)
        vbWinogradPackWeights(wg.out_channels, wg.channels, in[1]->data, scratch, packed);
    else
        convPackWeights(p, &s, in[1]->data, packed);
    free(scratch);
    free(p->packed);
    p->packed = packed;
    p->winograd = winograd;
    memset(p->packed_dims, 0, sizeof p->packed_dims);
    for (int i = 0; i < in[1]->rank && i < 4; i++)
        p->packed_dims[i] = in[1]->dims[i];
    return VB_OK;
}

static int convFuse(void *params, VbActivation act, float alpha, float beta)
{
    ConvParams *p = params;
    if (p->act != VB_ACT_NONE)
        return 0;
    p->act = act;
    p->alpha = alpha;
    p->beta = beta;
    return 1;
}

/* Accepts a fused Mul by a per-channel scale for a pointwise convolution of
 * one image with one group and more than one output pixel, the shape of
 * the projection after a squeeze-excitation block. Single-pixel outputs
 * keep the Mul: they run as a GEMV on the input as stored. */
int vbConvFuseInputScale(void *params, const vb_tensor *const *in, int n_in)
{
    ConvParams *p = params;
    if (n_in != 4 || in[3] == NULL || p->input_scale)
        return 0;
    ConvShape s;
    vb_error err = {0};
    if (convShape(p, in, 3, &s, &err) != VB_OK || !convScaleFits(p, &s, in[3]) ||
        s.g.out[0] * s.g.out[1] < 2)
        return 0;
    p->input_scale = 1;
    return 1;
}

/* Accepts a fused GlobalAveragePool of the output for a depthwise
 * convolution with a 4-D input: every path computes whole output planes in
 * one task, so each task pools its planes while they are in cache. */
int vbConvFusePool(void *params, const vb_tensor *const *in, int n_in)
{
    ConvParams *p = params;
    if (p->pool_output || n_in < 2 || in[0] == NULL || in[0]->rank != 4)
        return 0;
    ConvShape s;
    vb_error err = {0};
    if (convShape(p, in, n_in < 3 ? n_in : 3, &s, &err) != VB_OK || !s.depthwise)
        return 0;
    p->pool_output = 1;
    return 1;
}

/* B of a pointwise convolution whose input X [C][N] is multiplied by
 * scale[C] on the way: element (k, n) is x[k * row_stride + n] * scale[k],
 * rounded once as the Mul it replaces would round it. */
typedef struct ConvScaledInput {
    const float *x;
    size_t row_stride;
    const float *scale;
} ConvScaledInput;

#if defined(__x86_64__)
/* Packs a ConvScaledInput in vbSgemmPackMatrix's layout with AVX-512:
 * whole vectors of each row, scaled, and a masked vector for the rest of a
 * panel, zeros included. */
__attribute__((target("avx512f"))) static void convPackScaledAvx512(const void *src, int k0,
                                                                    int kc, int n0, int nc,
                                                                    int nr, float *dst)
{
    const ConvScaledInput *b = src;
    size_t panel_floats = (size_t)kc * (size_t)nr;
    for (int p = 0; p < kc; p++) {
        const float *row = b->x + (size_t)(k0 + p) * b->row_stride + (size_t)n0;
        __m512 s = _mm512_set1_ps(b->scale[k0 + p]);
        float *to = dst + (size_t)p * (size_t)nr;
        for (int j0 = 0; j0 < nc; j0 += nr, to += panel_floats) {
            int width = nc - j0 < nr ? nc - j0 : nr;
            for (int j = 0; j < nr; j += 16) {
                int count = width - j;
                __mmask16 m = 0;
                if (count >= 16)
                    m = (__mmask16)0xFFFF;
                else if (count > 0)
                    m = (__mmask16)((1u << count) - 1u);
                __m512 v = _mm512_maskz_loadu_ps(m, row + j0 + j);
                _mm512_storeu_ps(to + j, _mm512_mul_ps(v, s));
            }
        }
    }
}

#endif

/* B of a convolution read straight from one image group x [Cg][H][W]:
 * element (k, n) is tap k = (c*kh + ky)*kw + kx of output n = oy*OW + ox,
 * zero where the tap falls in the padding. */
typedef struct ConvIm2col {
    const float *x;
    const VbWindowGeometry *g;
    VbKernelIsa isa;
} ConvIm2col;

#if defined(__x86_64__)
/* Copies from[0], from[2], ... from[2 * (count - 1)] to to[0 .. count):
 * 16 at a time from two loads and a permute, the rest one by one. Reads
 * nothing past from[2 * (count - 1)]. */
__attribute__((target("avx512f"))) static void copyEvenAvx512(const float *from, float *to,
                                                              int64_t count)
{
    __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    int64_t q = 0;
    /* The second load reads up to from[2q + 31], one past the group's last
     * value, so a group runs vectorized only when another value follows it. */
    for (; q + 17 <= count; q += 16) {
        __m512 lo = _mm512_loadu_ps(from + 2 * q), hi = _mm512_loadu_ps(from + 2 * q + 16);
        _mm512_storeu_ps(to + q, _mm512_permutex2var_ps(lo, even, hi));
    }
    for (; q < count; q++)
        to[q] = from[2 * q];
}

/* The AVX2 form of copyEvenAvx512: 8 values per two loads. Reads nothing
 * past from[2 * (count - 1)]. */
__attribute__((target("avx2"))) static void copyEvenAvx2(const float *from, float *to, int64_t count)
{
    int64_t q = 0;
    /* the second load reads up to from[2q + 15], so a group needs a value after it */
    for (; q + 9 <= count; q += 8) {
        __m256 even, odd;
        vbSplitPairsAvx2(from + 2 * q, &even, &odd);
        _mm256_storeu_ps(to + q, even);
    }
    for (; q < count; q++)
        to[q] = from[2 * q];
}

/* Stores zeros over row[from .. to) in whole vectors starting at from. The
 * last vector may reach 7 floats past to, so the caller must leave room. */
__attribute__((target("avx2"), always_inline)) static inline void zeroVectorsAvx2(float *row,
                                                                                  int64_t from,
                                                                                  int64_t to)
{
    /* zero is hidden from GCC, which would otherwise turn the loop into a
     * memset call: on short rows that call measured slower than the stores */
    __m256 zero = _mm256_setzero_ps();
    __asm__("" : "+x"(zero));
    for (int64_t j = from; j < to; j += 8)
        _mm256_storeu_ps(row + j, zero);
}

/* Writes one padded row of `width` floats, a multiple of 8: zeros, then
 * src[lo .. hi) at row[lo .. hi), then zeros. lo >= hi writes zeros only.
 * Reads only src[lo .. hi). On rows this short, memset and memcpy calls
 * cost more than the copy. */
__attribute__((target("avx2"))) static void padRowAvx2(const float *src, int64_t lo, int64_t hi,
                                                      int64_t width, float *row)
{
    if (hi - lo < 8) {
        /* short or empty: zeros everywhere, then the values through masks */
        zeroVectorsAvx2(row, 0, width);
        if (lo < hi) {
            __m256i m = _mm256_cmpgt_epi32(_mm256_set1_epi32((int)(hi - lo)),
                                           _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
            _mm256_maskstore_ps(row + lo, m, _mm256_maskload_ps(src + lo, m));
        }
        return;
    }

    /* zeros in the whole vectors that hold padding, before the values */
    zeroVectorsAvx2(row, 0, lo);
    zeroVectorsAvx2(row, hi / 8 * 8, width);

    /* the values: the last 8 are stored again rather than through a mask,
     * because masked stores measured slower on AMD Zen 3 */
    int64_t j = lo;
    for (; j + 8 <= hi; j += 8)
        _mm256_storeu_ps(row + j, _mm256_loadu_ps(src + j));
    if (j < hi)
        _mm256_storeu_ps(row + hi - 8, _mm256_loadu_ps(src + hi - 8));
}

/* Copies the even values of from[0 .. 2*count) to to[0 .. count) with the
 * widest vectors isa allows. Reads nothing past from[2 * (count - 1)]. */
static void copyEven(const float *from, float *to, int64_t count, VbKernelIsa isa)
{
    if (isa == VB_KERNEL_ISA_AVX512) {
        copyEvenAvx512(from, to, count);
        return;
    }
    if (isa == VB_KERNEL_ISA_AVX2) {
        copyEvenAvx2(from, to, count);
        return;
    }
    for (int64_t q = 0; q < count; q++)
        to[q] = from[2 * q];
}
#else
static void copyEven(const float *from, float *to, int64_t count, VbKernelIsa isa)
{
    (void)isa;
    for (int64_t q = 0; q < count; q++)
        to[q] = from[2 * q];
}
#endif

/* Fills to [len] with tap (ky, kx) of channel plane [H][W] for outputs
 * (oy, ox .. ox + len - 1), zero in the padding. Divides only for pieces
 * that reach the padding. */
static void im2colPiece(const float *plane, const VbWindowGeometry *g, int64_t oy, int64_t ox,
                        int64_t len, int64_t ky, int64_t kx, VbKernelIsa isa, float *to)
{
    int64_t iy = oy * g->stride[0] - g->pad_begin[0] + ky * g->dilation[0];
    if (iy < 0 || iy >= g->in[0]) {
        memset(to, 0, sizeof(float) * (size_t)len);
        return;
    }

    /* outputs lo .. hi - 1 read columns offset + q * sx inside the row */
    int64_t sx = g->stride[1], w = g->in[1];
    int64_t offset = ox * sx - g->pad_begin[1] + kx * g->dilation[1];
    int64_t lo = 0, hi = len;
    if (offset < 0 || offset + (len - 1) * sx >= w)
        vbWindowValidRange(len, w, sx, offset, &lo, &hi);
    const float *from = plane + (size_t)(iy * w + offset + lo * sx);
    for (int64_t q = 0; q < lo; q++)
        to[q] = 0.0f;
    if (sx == 1) {
        memcpy(to + lo, from, sizeof(float) * (size_t)(hi - lo));
    } else if (sx == 2) {
        copyEven(from, to + lo, hi - lo, isa);
    } else {
        for (int64_t q = 0; q < hi - lo; q++)
            to[lo + q] = from[q * sx];
    }
    for (int64_t q = hi > lo ? hi : lo; q < len; q++)
        to[q] = 0.0f;
}

/* VbSgemmPackB for ConvIm2col sources: each B row is gathered over the
 * tile's columns into a row buffer, then cut into panels of nr. The tile's
 * pieces (one per output row it crosses) are found once for all rows. */
static void convPackIm2col(const void *src, int k0, int kc, int n0, int nc, int nr, float *dst)
{
    const ConvIm2col *im = src;
    const VbWindowGeometry *g = im->g;
    int64_t kh = g->kernel[0], kw = g->kernel[1], ow = g->out[1];
    size_t plane = (size_t)(g->in[0] * g->in[1]), panel_floats = (size_t)kc * (size_t)nr;
    float row[VB_SGEMM_NC];  /* vbSgemm tiles are at most VB_SGEMM_NC columns wide */

    /* pieces: output row, first column and length of each run of the tile */
    int64_t piece_oy[VB_SGEMM_NC], piece_ox[VB_SGEMM_NC], piece_len[VB_SGEMM_NC];
    int pieces = 0;
    for (int64_t j = 0, n = n0; j < nc; pieces++) {
        int64_t oy = n / ow, ox = n % ow, len = ow - ox < nc - j ? ow - ox : nc - j;
        piece_oy[pieces] = oy;
        piece_ox[pieces] = ox;
        piece_len[pieces] = len;
        j += len;
        n += len;
    }

    /* tap (c, ky, kx) of row k0, then stepped along with p */
    int64_t taps = kh * kw, c = k0 / taps, ky = (k0 % taps) / kw, kx = k0 % kw;
    for (int p = 0; p < kc; p++) {
        const float *x = im->x + (size_t)c * plane;

        /* row [nc]: one piece after another */
        float *to = row;
        for (int i = 0; i < pieces; i++) {
            im2colPiece(x, g, piece_oy[i], piece_ox[i], piece_len[i], ky, kx, im->isa, to);
            to += piece_len[i];
        }

        /* panels [kc][nr]: row p of each */
        float *out = dst + (size_t)p * (size_t)nr;
        int jr = 0;
        if (nr == 32) {
            /* full panels: a constant-size copy the compiler inlines */
            for (; jr + 32 <= nc; jr += 32, out += panel_floats)
                memcpy(out, row + jr, sizeof(float) * 32);
        } else if (nr == 16) {
            for (; jr + 16 <= nc; jr += 16, out += panel_floats)
                memcpy(out, row + jr, sizeof(float) * 16);
        }
        for (; jr < nc; jr += nr, out += panel_floats) {
            int width = nc - jr < nr ? nc - jr : nr;
            memcpy(out, row + jr, sizeof(float) * (size_t)width);
            for (int q = width; q < nr; q++)
                out[q] = 0.0f;
        }
        if (++kx == kw) {
            kx = 0;
            if (++ky == kh) {
                ky = 0;
                c++;
            }
        }
    }
}

#if defined(__x86_64__)
/* Splits from[0 .. 2*count) into its even values (to even[0 .. count)) and
 * its odd ones (to odd): 16 pairs per two loads and two permutes, the last
 * partial group through masks. Reads and writes nothing past those ranges.
 * Returns count. */
__attribute__((target("avx512f"))) static int64_t deinterleaveAvx512(const float *from,
                                                                     int64_t count, float *even,
                                                                     float *odd)
{
    __m512i even_index = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    __m512i odd_index = _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
    int64_t q = 0;
    for (; q + 16 <= count; q += 16) {
        __m512 lo = _mm512_loadu_ps(from + 2 * q), hi = _mm512_loadu_ps(from + 2 * q + 16);
        _mm512_storeu_ps(even + q, _mm512_permutex2var_ps(lo, even_index, hi));
        _mm512_storeu_ps(odd + q, _mm512_permutex2var_ps(lo, odd_index, hi));
    }
    if (q < count) {
        /* r < 16 pairs: 2r floats, the first 16 of them in lo */
        int64_t r = count - q;
        __mmask16 lo_mask = r >= 8 ? (__mmask16)0xFFFF : (__mmask16)((1u << (2 * r)) - 1u);
        __mmask16 hi_mask = r > 8 ? (__mmask16)((1u << (2 * r - 16)) - 1u) : (__mmask16)0;
        __mmask16 out_mask = (__mmask16)((1u << r) - 1u);
        __m512 lo = _mm512_maskz_loadu_ps(lo_mask, from + 2 * q);
        __m512 hi = _mm512_maskz_loadu_ps(hi_mask, from + 2 * q + 16);
        _mm512_mask_storeu_ps(even + q, out_mask, _mm512_permutex2var_ps(lo, even_index, hi));
        _mm512_mask_storeu_ps(odd + q, out_mask, _mm512_permutex2var_ps(lo, odd_index, hi));
    }
    return count;
}

/* The AVX2 form of deinterleaveAvx512 for whole groups of 8 pairs only.
 * Returns how many pairs it split, a multiple of 8. */
__attribute__((target("avx2"))) static int64_t deinterleaveAvx2(const float *from, int64_t count,
                                                                float *even, float *odd)
{
    int64_t q = 0;
    for (; q + 8 <= count; q += 8) {
        __m256 e, o;
        vbSplitPairsAvx2(from + 2 * q, &e, &o);
        _mm256_storeu_ps(even + q, e);
        _mm256_storeu_ps(odd + q, o);
    }
    return q;
}

/* Writes rows of the two column phases of one source row srow, or zeros
 * in both where srow is NULL. Phase pe gets srow's even values at columns
 * lo[pe] .. hi[pe], phase 1 - pe its odd ones, and zeros fill the rest up
 * to `width`, a multiple of 8. pairs is the smaller of the two counts,
 * which differ by at most one. */
__attribute__((target("avx2"))) static void splitRowPairAvx2(const float *srow,
                                                            const int64_t lo[2],
                                                            const int64_t hi[2], int pe,
                                                            int64_t pairs, int64_t width,
                                                            float *row[2])
{
    if (srow == NULL) {
        zeroVectorsAvx2(row[0], 0, width);
        zeroVectorsAvx2(row[1], 0, width);
        return;
    }

    /* zeros in the whole vectors that hold padding, before the values */
    for (int px = 0; px < 2; px++) {
        zeroVectorsAvx2(row[px], 0, lo[px]);
        zeroVectorsAvx2(row[px], hi[px] / 8 * 8, width);
    }

    /* groups of 8 pairs. The last group ends at `pairs` even where it
     * overlaps the one before, because masked stores measured slower on
     * AMD Zen 3. */
    float *even = row[pe] + lo[pe], *odd = row[1 - pe] + lo[1 - pe];
    int64_t done = 0;
    if (pairs >= 8) {
        for (int64_t q = 0; q < pairs; q += 8) {
            int64_t at = q + 8 <= pairs ? q : pairs - 8;
            __m256 e, o;
            vbSplitPairsAvx2(srow + 2 * at, &e, &o);
            _mm256_storeu_ps(even + at, e);
            _mm256_storeu_ps(odd + at, o);
        }
        done = pairs;
    }
    for (int64_t e = done; e < hi[pe] - lo[pe]; e++)
        even[e] = srow[2 * e];
    for (int64_t o = done; o < hi[1 - pe] - lo[1 - pe]; o++)
        odd[o] = srow[2 * o + 1];
}
#endif

/* splitPlane for column stride 2: reads each source row once, in order,
 * and fills both column phases from it. Returns 0, having written nothing,
 * when the left padding leaves a phase with no source column, a shape the
 * general loop handles. */
static int splitPlaneStride2(const float *x, const VbWindowGeometry *g, int64_t hph, int64_t wph,
                             int64_t row_stride, size_t phase_stride, VbKernelIsa isa, float *dst)
{
    int64_t h = g->in[0], w = g->in[1], sy = g->stride[0];
    int64_t top = g->pad_begin[0], left = g->pad_begin[1];

    /* source column 2q goes to phase pe, column q + left/2; source column
     * 2q + 1 to phase 1 - pe, column q + (left + 1)/2 */
    int64_t pe = left % 2, first[2], lo[2], hi[2];
    first[pe] = left / 2;
    first[1 - pe] = (left + 1) / 2;
    for (int px = 0; px < 2; px++) {
        vbWindowValidRange(wph, w, 2, px - left, &lo[px], &hi[px]);
        if (lo[px] != first[px] || hi[px] <= lo[px])
            return 0;
    }
    int64_t evens = hi[pe] - lo[pe], odds = hi[1 - pe] - lo[1 - pe];
    int64_t pairs = evens < odds ? evens : odds;

    for (int64_t i = 0; i < hph; i++) {
        for (int64_t py = 0; py < sy; py++) {
            /* rows i of phases (py, 0) and (py, 1) */
            float *row[2];
            for (int px = 0; px < 2; px++)
                row[px] = dst + (size_t)(py * 2 + px) * phase_stride + (size_t)(i * row_stride);
            int64_t iy = i * sy + py - top;
#if defined(__x86_64__)
            if (isa == VB_KERNEL_ISA_AVX2 && row_stride % 8 == 0) {
                splitRowPairAvx2(iy < 0 || iy >= h ? NULL : x + (size_t)(iy * w), lo, hi, pe,
                                 pairs, row_stride, row);
                continue;
            }
#endif
            if (iy < 0 || iy >= h) {
                memset(row[0], 0, sizeof(float) * (size_t)row_stride);
                memset(row[1], 0, sizeof(float) * (size_t)row_stride);
                continue;
            }
            /* zero the padding columns */
            for (int px = 0; px < 2; px++) {
                for (int64_t j = 0; j < lo[px]; j++)
                    row[px][j] = 0.0f;
                for (int64_t j = hi[px]; j < row_stride; j++)
                    row[px][j] = 0.0f;
            }
            const float *srow = x + (size_t)(iy * w);
            float *even = row[pe] + lo[pe], *odd = row[1 - pe] + lo[1 - pe];
            int64_t q = 0;
#if defined(__x86_64__)
            if (isa == VB_KERNEL_ISA_AVX512)
                q = deinterleaveAvx512(srow, pairs, even, odd);
            else if (isa == VB_KERNEL_ISA_AVX2)
                q = deinterleaveAvx2(srow, pairs, even, odd);
#else
            (void)isa;
#endif
            for (int64_t e = q; e < evens; e++)
                even[e] = srow[2 * e];
            for (int64_t o = q; o < odds; o++)
                odd[o] = srow[2 * o + 1];
        }
    }
    return 1;
}

/* Copies one channel plane x [H][W] into its padded image split into
 * stride phases. Phase (py, px) starts at dst + (py*sx + px) * phase_stride,
 * and its row i, which starts i * row_stride floats in, has padded pixel
 * (i*sy + py, j*sx + px) at column j < wph and zeros from wph to
 * row_stride. With stride 1 this is just the padded plane. */
static void splitPlane(const float *x, const VbWindowGeometry *g, int64_t hph, int64_t wph,
                       int64_t row_stride, size_t phase_stride, VbKernelIsa isa, float *dst)
{
    int64_t h = g->in[0], w = g->in[1], sy = g->stride[0], sx = g->stride[1];
    int64_t top = g->pad_begin[0], left = g->pad_begin[1];
    if (sx == 2 && splitPlaneStride2(x, g, hph, wph, row_stride, phase_stride, isa, dst))
        return;
    for (int64_t phase = 0; phase < sy * sx; phase++) {
        int64_t py = phase / sx, px = phase % sx;
        float *plane = dst + (size_t)phase * phase_stride;

        /* phase columns j whose padded column j*sx + px - left is inside the image */
        int64_t jlo, jhi;
        vbWindowValidRange(wph, w, sx, px - left, &jlo, &jhi);
        for (int64_t i = 0; i < hph; i++) {
            float *row = plane + (size_t)(i * row_stride);
            int64_t iy = i * sy + py - top;
#if defined(__x86_64__)
            if (sx == 1 && isa != VB_KERNEL_ISA_PORTABLE && row_stride % 8 == 0) {
                int64_t inside = iy >= 0 && iy < h;
                padRowAvx2(x + (size_t)(inside ? iy * w : 0) + (px - left), jlo,
                           inside ? jhi : jlo, row_stride, row);
                continue;
            }
#endif
            if (iy < 0 || iy >= h || jhi <= jlo) {
                memset(row, 0, sizeof(float) * (size_t)row_stride);
                continue;
            }
            const float *srow = x + (size_t)(iy * w) + (px - left);
            for (int64_t j = 0; j < jlo; j++)
                row[j] = 0.0f;
            if (sx == 1) {
                memcpy(row + jlo, srow + jlo, sizeof(float) * (size_t)(jhi - jlo));
            } else if (sx == 2) {
                copyEven(srow + 2 * jlo, row + jlo, jhi - jlo, isa);
            } else {
                for (int64_t j = jlo; j < jhi; j++)
                    row[j] = srow[j * sx];
            }
            for (int64_t j = jhi; j < row_stride; j++)
                row[j] = 0.0f;
        }
    }
}

/* Fills offsets[k] for every tap k = (c*kh + ky)*kw + kx of `channels`
 * channels: where the tap's input for output (0, 0) lies in the image split
 * by splitPlane, with the channels of one phase stored one after another. */
static void tapOffsets(const VbWindowGeometry *g, int64_t hph, int64_t wph, int64_t channels,
                       size_t *offsets)
{
    int64_t kh = g->kernel[0], kw = g->kernel[1], sy = g->stride[0], sx = g->stride[1];
    for (int64_t k = 0; k < channels * kh * kw; k++) {
        int64_t c = k / (kh * kw), dy = ((k / kw) % kh) * g->dilation[0];
        int64_t dx = (k % kw) * g->dilation[1];
        int64_t phase = (dy % sy) * sx + dx % sx;
        offsets[k] = (size_t)(((phase * channels + c) * hph + dy / sy) * wph + dx / sx);
    }
}

#if defined(__x86_64__)
/* Depthwise convolution of one split plane xp into y [OH][OW], bias
 * included: four output rows at a time, 16 columns per vector, one
 * accumulator per row, taps in order. */
__attribute__((target("avx512f"))) static void depthwisePlaneAvx512(
    const float *xp, int64_t wph, const float *taps, const size_t *offsets, int64_t tap_count,
    float bias, float *y, int64_t oh, int64_t ow)
{
    for (int64_t oy = 0; oy < oh; oy += 4) {
        int64_t rows = oh - oy < 4 ? oh - oy : 4;
        for (int64_t ox = 0; ox < ow; ox += 16) {
            __mmask16 m = ow - ox >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (ow - ox)) - 1u);
            /* rows past the plane reuse row 0, whose results are not stored */
            const float *b0 = xp + oy * wph + ox;
            const float *b1 = rows > 1 ? b0 + wph : b0;
            const float *b2 = rows > 2 ? b0 + 2 * wph : b0;
            const float *b3 = rows > 3 ? b0 + 3 * wph : b0;
            __m512 acc0 = _mm512_set1_ps(bias), acc1 = acc0, acc2 = acc0, acc3 = acc0;
            if (m == (__mmask16)0xFFFF) {
                /* full vectors: plain loads, which are faster than masked ones */
                for (int64_t t = 0; t < tap_count; t++) {
                    __m512 tap = _mm512_set1_ps(taps[t]);
                    size_t off = offsets[t];
                    acc0 = _mm512_fmadd_ps(tap, _mm512_loadu_ps(b0 + off), acc0);
                    acc1 = _mm512_fmadd_ps(tap, _mm512_loadu_ps(b1 + off), acc1);
                    acc2 = _mm512_fmadd_ps(tap, _mm512_loadu_ps(b2 + off), acc2);
                    acc3 = _mm512_fmadd_ps(tap, _mm512_loadu_ps(b3 + off), acc3);
                }
            } else {
                for (int64_t t = 0; t < tap_count; t++) {
                    __m512 tap = _mm512_set1_ps(taps[t]);
                    size_t off = offsets[t];
                    acc0 = _mm512_fmadd_ps(tap, _mm512_maskz_loadu_ps(m, b0 + off), acc0);
                    acc1 = _mm512_fmadd_ps(tap, _mm512_maskz_loadu_ps(m, b1 + off), acc1);
                    acc2 = _mm512_fmadd_ps(tap, _mm512_maskz_loadu_ps(m, b2 + off), acc2);
                    acc3 = _mm512_fmadd_ps(tap, _mm512_maskz_loadu_ps(m, b3 + off), acc3);
                }
            }
            float *yrow = y + oy * ow + ox;
            _mm512_mask_storeu_ps(yrow, m, acc0);
            if (rows > 1)
                _mm512_mask_storeu_ps(yrow + ow, m, acc1);
            if (rows > 2)
                _mm512_mask_storeu_ps(yrow + 2 * ow, m, acc2);
            if (rows > 3)
                _mm512_mask_storeu_ps(yrow + 3 * ow, m, acc3);
        }
    }
}
/* Returns cur's lanes n..15 followed by next's lanes 0..n-1: the vector
 * that starts n columns after cur, for n in 0..4. */
__attribute__((target("avx512f"), always_inline)) static inline __m512 shiftColumns(__m512 cur,
                                                                                   __m512 next,
                                                                                   int n)
{
    __m512i c = _mm512_castps_si512(cur), x = _mm512_castps_si512(next);
    switch (n) {
    case 1: return _mm512_castsi512_ps(_mm512_alignr_epi32(x, c, 1));
    case 2: return _mm512_castsi512_ps(_mm512_alignr_epi32(x, c, 2));
    case 3: return _mm512_castsi512_ps(_mm512_alignr_epi32(x, c, 3));
    case 4: return _mm512_castsi512_ps(_mm512_alignr_epi32(x, c, 4));
    default: return cur;
    }
}

/* Depthwise convolution of one split plane for a K x K window with stride
 * S (1 or 2) and no dilation, computing R output rows by 16 columns per
 * step; K, S and R are compile-time constants in the callers. Phase rows
 * are row_stride floats apart. row_stride is a multiple of 16 with at
 * least 16 readable floats past the last output column. So each phase row
 * is read with two whole-vector loads per step, and the other columns come
 * from lane shifts. Unaligned vector loads, which split across cache
 * lines, are what limits depthwisePlaneAvx512. The taps of each output are
 * added in the same order as there, ky-major, so the results are the same.
 * oh must be a multiple of R. */
__attribute__((target("avx512f"), always_inline)) static inline void depthwiseFixedAvx512(
    const float *xp, int64_t row_stride, size_t phase_stride, const float *taps, float bias,
    float *y, int64_t oh, int64_t ow, const int K, const int S, const int R)
{
    __m512 tap[25];
    #pragma GCC unroll 25
    for (int t = 0; t < K * K; t++)
        tap[t] = _mm512_set1_ps(taps[t]);
    for (int64_t oy = 0; oy < oh; oy += R) {
        for (int64_t ox = 0; ox < ow; ox += 16) {
            __mmask16 m = ow - ox >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (ow - ox)) - 1u);
            __m512 acc[4];
            #pragma GCC unroll 25
            for (int j = 0; j < R; j++)
                acc[j] = _mm512_set1_ps(bias);

            /* padded row r of the step lies in phase row r / S of phase
             * r % S; output row j uses it as tap row ky = r - S*j */
            #pragma GCC unroll 25
            for (int r = 0; r < S * (R - 1) + K; r++) {
                __m512 cur[2], next[2];
                #pragma GCC unroll 25
                for (int px = 0; px < S; px++) {
                    const float *row = xp + (size_t)((r % S) * S + px) * phase_stride +
                                       (oy + r / S) * row_stride + ox;
                    cur[px] = _mm512_loadu_ps(row);
                    next[px] = K > S + px ? _mm512_loadu_ps(row + 16) : cur[px];
                }
                #pragma GCC unroll 25
                for (int kx = 0; kx < K; kx++) {
                    __m512 v = shiftColumns(cur[kx % S], next[kx % S], kx / S);
                    #pragma GCC unroll 25
                    for (int j = 0; j < R; j++) {
                        int ky = r - S * j;
                        if (ky >= 0 && ky < K)
                            acc[j] = _mm512_fmadd_ps(tap[ky * K + kx], v, acc[j]);
                    }
                }
            }
            #pragma GCC unroll 25
            for (int j = 0; j < R; j++)
                _mm512_mask_storeu_ps(y + (oy + j) * ow + ox, m, acc[j]);
        }
    }
}

/* Defines NAME, the fixed-window kernel for a K x K window at stride S
 * with R rows per step, for depthwiseTask to pick. */
#define VB_DEPTHWISE_FIXED(NAME, K, S, R)                                                      \
    __attribute__((target("avx512f"))) static void NAME(                                       \
        const float *xp, int64_t row_stride, size_t phase_stride, const float *taps, float bias, \
        float *y, int64_t oh, int64_t ow)                                                        \
    {                                                                                            \
        depthwiseFixedAvx512(xp, row_stride, phase_stride, taps, bias, y, oh, ow, K, S, R);     \
    }

/* Output rows per step: 3x3 taps, 4 accumulators and the loaded rows fit
 * the 32 vector registers, 5x5 taps leave room for 2 accumulators. */
#define DW_ROWS_3X3 4
#define DW_ROWS_5X5 2

VB_DEPTHWISE_FIXED(depthwise3x3s1Avx512, 3, 1, DW_ROWS_3X3)
VB_DEPTHWISE_FIXED(depthwise3x3s2Avx512, 3, 2, DW_ROWS_3X3)
VB_DEPTHWISE_FIXED(depthwise5x5s1Avx512, 5, 1, DW_ROWS_5X5)
VB_DEPTHWISE_FIXED(depthwise5x5s2Avx512, 5, 2, DW_ROWS_5X5)
#undef VB_DEPTHWISE_FIXED

typedef void (*DepthwiseFixedKernel)(const float *xp, int64_t row_stride, size_t phase_stride,
                                     const float *taps, float bias, float *y, int64_t oh,
                                     int64_t ow);

/* One fixed-window kernel: its window side, stride and rows per step. */
typedef struct DepthwiseFixed {
    int kernel, stride, rows;
    DepthwiseFixedKernel fn;
} DepthwiseFixed;

static const DepthwiseFixed depthwiseFixedKernels[] = {
    {3, 1, DW_ROWS_3X3, depthwise3x3s1Avx512},
    {3, 2, DW_ROWS_3X3, depthwise3x3s2Avx512},
    {5, 1, DW_ROWS_5X5, depthwise5x5s1Avx512},
    {5, 2, DW_ROWS_5X5, depthwise5x5s2Avx512},
};

#endif

#if defined(__x86_64__)
/* The AVX2 form of depthwisePlaneAvx512: four output rows at a time, 8
 * columns per vector, taps in order. Row stride wph leaves at least 8
 * readable floats past the last output column (depthwiseRowStride), so
 * loads are whole vectors and only the stores of a partial vector are
 * masked. */
__attribute__((target("avx2,fma"))) static void depthwisePlaneAvx2(
    const float *xp, int64_t wph, const float *taps, const size_t *offsets, int64_t tap_count,
    float bias, float *y, int64_t oh, int64_t ow)
{
    __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    for (int64_t oy = 0; oy < oh; oy += 4) {
        int64_t rows = oh - oy < 4 ? oh - oy : 4;
        /* rows past the plane reuse row 0, whose results are not stored */
        const float *b0 = xp + oy * wph;
        const float *b1 = rows > 1 ? b0 + wph : b0;
        const float *b2 = rows > 2 ? b0 + 2 * wph : b0;
        const float *b3 = rows > 3 ? b0 + 3 * wph : b0;
        for (int64_t ox = 0; ox < ow; ox += 8) {
            __m256 acc0 = _mm256_set1_ps(bias), acc1 = acc0, acc2 = acc0, acc3 = acc0;
            for (int64_t t = 0; t < tap_count; t++) {
                __m256 tap = _mm256_broadcast_ss(taps + t);
                size_t off = offsets[t] + (size_t)ox;
                acc0 = _mm256_fmadd_ps(tap, _mm256_loadu_ps(b0 + off), acc0);
                acc1 = _mm256_fmadd_ps(tap, _mm256_loadu_ps(b1 + off), acc1);
                acc2 = _mm256_fmadd_ps(tap, _mm256_loadu_ps(b2 + off), acc2);
                acc3 = _mm256_fmadd_ps(tap, _mm256_loadu_ps(b3 + off), acc3);
            }
            float *yrow = y + oy * ow + ox;
            __m256 acc[4] = {acc0, acc1, acc2, acc3};
            if (ow - ox >= 8) {
                for (int64_t r = 0; r < rows; r++)
                    _mm256_storeu_ps(yrow + r * ow, acc[r]);
            } else {
                __m256i m = _mm256_cmpgt_epi32(_mm256_set1_epi32((int)(ow - ox)), lane);
                for (int64_t r = 0; r < rows; r++)
                    _mm256_maskstore_ps(yrow + r * ow, m, acc[r]);
            }
        }
    }
}
#endif

#if defined(__x86_64__)
/* Computes one step of depthwiseFixedAvx2: output rows oy .. oy + R - 1
 * by V vectors of 8 columns from ox, V being 1 or 2. Each output adds its
 * taps in depthwisePlaneAvx2's order. Columns past ow are computed but not
 * stored, and their loads stay inside row_stride (depthwiseRowStride). */
__attribute__((target("avx2,fma"), always_inline)) static inline void depthwiseFixedStepAvx2(
    const float *xp, int64_t row_stride, size_t phase_stride, const float *taps, float bias,
    float *y, int64_t oy, int64_t ox, int64_t ow, const int K, const int S, const int R,
    const int V)
{
    __m256 acc[4][2];
    #pragma GCC unroll 8
    for (int j = 0; j < R; j++) {
        acc[j][0] = _mm256_set1_ps(bias);
        acc[j][1] = acc[j][0];
    }

    /* padded row r of the step lies in phase row r / S of phase r % S;
     * output row j uses it as tap row ky = r - S*j */
    #pragma GCC unroll 16
    for (int r = 0; r < S * (R - 1) + K; r++) {
        #pragma GCC unroll 8
        for (int kx = 0; kx < K; kx++) {
            const float *in = xp + (size_t)((r % S) * S + kx % S) * phase_stride +
                              (oy + r / S) * row_stride + ox + kx / S;
            __m256 v[2];
            #pragma GCC unroll 2
            for (int c = 0; c < V; c++)
                v[c] = _mm256_loadu_ps(in + 8 * c);
            #pragma GCC unroll 8
            for (int j = 0; j < R; j++) {
                int ky = r - S * j;
                if (ky >= 0 && ky < K) {
                    __m256 t = _mm256_broadcast_ss(taps + ky * K + kx);
                    #pragma GCC unroll 2
                    for (int c = 0; c < V; c++)
                        acc[j][c] = _mm256_fmadd_ps(t, v[c], acc[j][c]);
                }
            }
        }
    }

    /* whole vectors store plainly, the row's last columns through masks */
    float *out = y + oy * ow + ox;
    #pragma GCC unroll 2
    for (int c = 0; c < V; c++) {
        int64_t left = ow - ox - 8 * c;
        if (left >= 8) {
            #pragma GCC unroll 8
            for (int j = 0; j < R; j++)
                _mm256_storeu_ps(out + j * ow + 8 * c, acc[j][c]);
        } else {
            __m256i m = _mm256_cmpgt_epi32(_mm256_set1_epi32((int)left),
                                           _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
            #pragma GCC unroll 8
            for (int j = 0; j < R; j++)
                _mm256_maskstore_ps(out + j * ow + 8 * c, m, acc[j][c]);
        }
    }
}

/* The AVX2 form of depthwiseFixedAvx512: R output rows by 16 columns per
 * step, so 2R FMA chains overlap. Each input vector is loaded once per step
 * at its column offset, and taps are broadcast from memory. A row's last 8
 * or fewer columns take a step of one vector. oh must be a multiple of R. */
__attribute__((target("avx2,fma"), always_inline)) static inline void depthwiseFixedAvx2(
    const float *xp, int64_t row_stride, size_t phase_stride, const float *taps, float bias,
    float *y, int64_t oh, int64_t ow, const int K, const int S, const int R)
{
    for (int64_t oy = 0; oy < oh; oy += R) {
        /* A row's last step ends at ow where the row is wide enough, and
         * recomputes a few columns the same way, because masked stores
         * measured slower on AMD Zen 3. */
        for (int64_t ox = 0; ox < ow;) {
            int64_t left = ow - ox;
            if (left > 8) {
                int64_t at = left < 16 && ow >= 16 ? ow - 16 : ox;
                depthwiseFixedStepAvx2(xp, row_stride, phase_stride, taps, bias, y, oy, at, ow, K,
                                       S, R, 2);
                ox += 16;
            } else {
                int64_t at = left < 8 && ow >= 8 ? ow - 8 : ox;
                depthwiseFixedStepAvx2(xp, row_stride, phase_stride, taps, bias, y, oy, at, ow, K,
                                       S, R, 1);
                ox += 8;
            }
        }
    }
}

/* Defines NAME, the AVX2 fixed-window kernel for a K x K window at stride
 * S, for depthwiseTask to pick. */
#define VB_DEPTHWISE_FIXED_AVX2(NAME, K, S)                                                    \
    __attribute__((target("avx2,fma"))) static void NAME(                                      \
        const float *xp, int64_t row_stride, size_t phase_stride, const float *taps, float bias, \
        float *y, int64_t oh, int64_t ow)                                                        \
    {                                                                                            \
        depthwiseFixedAvx2(xp, row_stride, phase_stride, taps, bias, y, oh, ow, K, S,           \
                           DW_ROWS_AVX2);                                                        \
    }

/* Output rows per step of the AVX2 kernels: eight accumulators. */
#define DW_ROWS_AVX2 4

/* Stride 1 only: at stride 2 the kernels measured no faster than
 * depthwisePlaneAvx2 on AMD Zen 3. There the split into phases, which both
 * share, took about 40 percent of the time of a 208x208 layer. */

VB_DEPTHWISE_FIXED_AVX2(depthwise3x3s1Avx2, 3, 1)
VB_DEPTHWISE_FIXED_AVX2(depthwise5x5s1Avx2, 5, 1)
#undef VB_DEPTHWISE_FIXED_AVX2

static const DepthwiseFixed depthwiseFixedKernelsAvx2[] = {
    {3, 1, DW_ROWS_AVX2, depthwise3x3s1Avx2},
    {5, 1, DW_ROWS_AVX2, depthwise5x5s1Avx2},
};

/* Returns the fixed-window kernel of isa for g and sets *rows to the output
 * rows it computes per step. Returns NULL when none fits. AVX-512 has
 * kernels for square 3x3 and 5x5 windows at strides 1 and 2 without
 * dilation, and AVX2 for the stride-1 ones. */
static DepthwiseFixedKernel depthwiseFixedKernel(const VbWindowGeometry *g, VbKernelIsa isa,
                                                 int64_t *rows)
{
    const DepthwiseFixed *table = depthwiseFixedKernels;
    size_t count = sizeof depthwiseFixedKernels / sizeof depthwiseFixedKernels[0];
    if (isa == VB_KERNEL_ISA_AVX2) {
        table = depthwiseFixedKernelsAvx2;
        count = sizeof depthwiseFixedKernelsAvx2 / sizeof depthwiseFixedKernelsAvx2[0];
    } else if (isa != VB_KERNEL_ISA_AVX512) {
        return NULL;
    }
    if (g->kernel[0] != g->kernel[1] || g->stride[0] != g->stride[1] || g->dilation[0] != 1 ||
        g->dilation[1] != 1)
        return NULL;
    for (size_t i = 0; i < count; i++) {
        const DepthwiseFixed *f = &table[i];
        if (f->kernel == g->kernel[0] && f->stride == g->stride[0]) {
            *rows = f->rows;
            return f->fn;
        }
    }
    return NULL;
}
#endif

/* Portable depthwise convolution of one split plane, same summation order. */
static void depthwisePlanePortable(const float *xp, int64_t wph, const float *taps,
                                   const size_t *offsets, int64_t tap_count, float bias, float *y,
                                   int64_t oh, int64_t ow)
{
    for (int64_t oy = 0; oy < oh; oy++) {
        const float *base = xp + oy * wph;
        float *yrow = y + oy * ow;
        for (int64_t ox = 0; ox < ow; ox++)
            yrow[ox] = bias;
        for (int64_t t = 0; t < tap_count; t++) {
            const float *src = base + offsets[t];
            float tap = taps[t];
            for (int64_t ox = 0; ox < ow; ox++)
                yrow[ox] += tap * src[ox];
        }
    }
}

/* A general depthwise kernel for one split plane, as depthwisePlanePortable. */
typedef void (*DepthwisePlaneKernel)(const float *xp, int64_t wph, const float *taps,
                                     const size_t *offsets, int64_t tap_count, float bias,
                                     float *y, int64_t oh, int64_t ow);

/* Returns the row stride of a depthwise plane split into stride phases: a
 * multiple of 16 floats, with room for a whole vector past the last
 * output column, as the fixed-window kernels read. */
static int64_t depthwiseRowStride(const ConvShape *s)
{
    int64_t need = (s->g.out[1] + 15) / 16 * 16 + 16, width = phaseWidth(s);
    if (width < need)
        width = need;
    return (width + 15) / 16 * 16;
}

/* Float count of one channel split into stride phases. */
static size_t depthwisePlaneFloats(const ConvShape *s)
{
    return (size_t)(s->g.stride[0] * s->g.stride[1]) * (size_t)phaseHeight(s) *
           (size_t)depthwiseRowStride(s);
}

/* Channels of one block of the blocked depthwise path: one AVX-512 vector. */
#define DW_BLOCK 16

/* Returns nonzero when the blocked depthwise path suits s: output rows
 * narrower than two vectors, where the per-plane path leaves many lanes
 * idle. */
static int depthwiseBlockedShape(const ConvShape *s)
{
    return s->g.out[1] < 2 * DW_BLOCK;
}

/* Floats of one worker's buffer on the blocked path: the padded input
 * block [Hp][Wp][16], the taps [T][16] and one output row [OW][16]. */
static size_t depthwiseBlockedFloats(const ConvShape *s)
{
    const VbWindowGeometry *g = &s->g;
    size_t hp = (size_t)(g->in[0] + g->pad_begin[0] + g->pad_end[0]);
    size_t wp = (size_t)(g->in[1] + g->pad_begin[1] + g->pad_end[1]);
    size_t taps = (size_t)(g->kernel[0] * g->kernel[1]);
    return (hp * wp + taps + (size_t)g->out[1]) * DW_BLOCK;
}

/* Bytes of the depthwise workspace: tap offsets, then one buffer per core,
 * large enough for whichever path runs. */
static size_t depthwiseWorkspace(const ConvShape *s)
{
    size_t taps = (size_t)(s->g.kernel[0] * s->g.kernel[1]);
    size_t floats = depthwisePlaneFloats(s);
    if (depthwiseBlockedShape(s) && depthwiseBlockedFloats(s) > floats)
        floats = depthwiseBlockedFloats(s);
    return alignUp64(taps * sizeof(size_t)) + alignUp64(floats * sizeof(float)) * (size_t)vbCpuCount();
}

/* Arguments of one depthwise Conv call for depthwiseTask. */
typedef struct DepthwiseJob {
    const ConvParams *p;
    const ConvShape *s;
    const float *x, *w, *b;
    float *y;
    float *pooled;  /* [N][C] means of the output planes, or NULL */
    const size_t *offsets;
    char *buffers;
    size_t buffer_bytes, in_plane, out_plane;
    int64_t hph, wph, row_stride, tap_count;
    VbKernelIsa isa;
    int use_simd;
#if defined(__x86_64__)
    DepthwiseFixedKernel fixed;  /* NULL: every row through the general plane kernel */
    int64_t fixed_rows;          /* output rows per step of fixed */
#endif
} DepthwiseJob;

/* Convolves plane i (image i / C, channel i % C) in worker's buffer. */
static void depthwiseTask(void *arg, int64_t i, int worker)
{
    const DepthwiseJob *job = arg;
    const ConvParams *p = job->p;
    const VbWindowGeometry *g = &job->s->g;
    int64_t c = i % job->s->channels;
    float *buffer = (float *)(job->buffers + job->buffer_bytes * (size_t)worker);
    const float *taps = job->w + (size_t)(c * job->tap_count);
    float *yi = job->y + (size_t)i * job->out_plane;
    float bias = job->b ? job->b[c] : 0.0f;
    size_t phase_stride = (size_t)(job->hph * job->row_stride);
    splitPlane(job->x + (size_t)i * job->in_plane, g, job->hph, job->wph, job->row_stride,
               phase_stride, job->isa, buffer);
    /* whole groups of rows through the fixed-window kernel, the rest
     * through the general one of the isa */
    DepthwisePlaneKernel plane = depthwisePlanePortable;
    int64_t done = 0;
#if defined(__x86_64__)
    if (job->isa == VB_KERNEL_ISA_AVX512)
        plane = depthwisePlaneAvx512;
    else if (job->isa == VB_KERNEL_ISA_AVX2)
        plane = depthwisePlaneAvx2;
    if (job->fixed != NULL) {
        done = g->out[0] - g->out[0] % job->fixed_rows;
        job->fixed(buffer, job->row_stride, phase_stride, taps, bias, yi, done, g->out[1]);
    }
#endif
    if (done < g->out[0])
        plane(buffer + done * job->row_stride, job->row_stride, taps, job->offsets, job->tap_count,
              bias, yi + done * g->out[1], g->out[0] - done, g->out[1]);
    if (p->act != VB_ACT_NONE)
        vbActivationApply(yi, job->out_plane, 0.0f, p->act, p->alpha, p->beta, job->use_simd);
    if (job->pooled != NULL)
        job->pooled[i] = vbGlobalPoolPlane(yi, job->out_plane, 0, job->use_simd);
}

#if defined(__x86_64__)
/* Writes the means of output planes first .. first + count (numbered
 * image * C + channel) to job->pooled, when the Conv pools its output. */
static void depthwisePoolBlock(const DepthwiseJob *job, int64_t first, int count)
{
    if (job->pooled == NULL)
        return;
    for (int c = 0; c < count; c++)
        job->pooled[first + c] = vbGlobalPoolPlane(job->y + (size_t)(first + c) * job->out_plane,
                                                   job->out_plane, 0, job->use_simd);
}
#endif

#if defined(__x86_64__)
/* Zeroes the padding of a blocked depthwise buffer [Hp][Wp][block] for
 * window g: the rows above and below the image and the columns beside it.
 * The image itself is left for the caller to fill. */
static void depthwiseBlockPadding(const VbWindowGeometry *g, int block, float *buffer)
{
    int64_t h = g->in[0], w = g->in[1], top = g->pad_begin[0], left = g->pad_begin[1];
    int64_t hp = h + top + g->pad_end[0], wp = w + left + g->pad_end[1];
    size_t pixel = sizeof(float) * (size_t)block;
    memset(buffer, 0, pixel * (size_t)(top * wp));
    memset(buffer + (size_t)((top + h) * wp) * (size_t)block, 0, pixel * (size_t)((hp - top - h) * wp));
    for (int64_t iy = top; iy < top + h; iy++) {
        float *line = buffer + (size_t)(iy * wp) * (size_t)block;
        memset(line, 0, pixel * (size_t)left);
        memset(line + (size_t)(left + w) * (size_t)block, 0, pixel * (size_t)(wp - left - w));
    }
}

/* Writes the taps of `lanes` channels, whose weights [lanes][taps] start at
 * w, as tap vectors of `block` floats: tap_vectors[t * block + l] is tap t
 * of channel l, zero for l >= lanes. */
static void depthwiseBlockTaps(const float *w, int64_t taps, int lanes, int block,
                               float *tap_vectors)
{
    for (int64_t t = 0; t < taps; t++) {
        for (int l = 0; l < block; l++)
            tap_vectors[t * block + l] = l < lanes ? w[l * taps + t] : 0.0f;
    }
}

/* Convolves block i of a depthwise Conv (image i / blocks, channels from
 * 16 * (i % blocks)) with the channels as vector lanes. The block is
 * transposed into a zero-padded [Hp][Wp][16] buffer and each output pixel
 * sums its taps in the per-plane paths' order. Bias and activation then
 * run on each output row before it is transposed back to NCHW. */
__attribute__((target("avx512f"))) static void depthwiseBlockTask(void *arg, int64_t i,
                                                                  int worker)
{
    const DepthwiseJob *job = arg;
    const ConvParams *p = job->p;
    const ConvShape *s = job->s;
    const VbWindowGeometry *g = &s->g;
    int64_t blocks = (s->channels + DW_BLOCK - 1) / DW_BLOCK;
    int64_t img = i / blocks, c0 = (i % blocks) * DW_BLOCK;
    int lanes = s->channels - c0 < DW_BLOCK ? (int)(s->channels - c0) : DW_BLOCK;
    __mmask16 m = (__mmask16)((1u << lanes) - 1u);
    int64_t h = g->in[0], w = g->in[1], oh = g->out[0], ow = g->out[1];
    int64_t top = g->pad_begin[0], left = g->pad_begin[1];
    int64_t hp = h + top + g->pad_end[0], wp = w + left + g->pad_end[1];
    int64_t kh = g->kernel[0], kw = g->kernel[1], taps = kh * kw;
    int64_t sy = g->stride[0], sx = g->stride[1], dy = g->dilation[0], dx = g->dilation[1];
    float *buffer = (float *)(job->buffers + job->buffer_bytes * (size_t)worker);
    float *tap_vectors = buffer + (size_t)(hp * wp) * DW_BLOCK;
    float *row = tap_vectors + (size_t)taps * DW_BLOCK;
    const float *x = job->x + (size_t)(img * s->channels + c0) * job->in_plane;
    float *y = job->y + (size_t)(img * s->channels + c0) * job->out_plane;

    /* Transpose the block into the padded buffer [hp][wp][16], 16 pixels
     * of a row at a time; channels past the block's lanes load as zero.
     * Only the padding is zeroed first. */
    depthwiseBlockPadding(g, DW_BLOCK, buffer);
    for (int64_t iy = 0; iy < h; iy++) {
        for (int64_t ix = 0; ix < w; ix += DW_BLOCK) {
            int64_t count = w - ix < DW_BLOCK ? w - ix : DW_BLOCK;
            __mmask16 cols = (__mmask16)((1u << count) - 1u);
            __m512 v[DW_BLOCK];
            for (int c = 0; c < DW_BLOCK; c++)
                v[c] = c < lanes ? _mm512_maskz_loadu_ps(cols, x + (size_t)c * job->in_plane +
                                                                   (size_t)(iy * w + ix))
                                 : _mm512_setzero_ps();
            vbTranspose16(v);
            float *dst = buffer + (size_t)((iy + top) * wp + left + ix) * DW_BLOCK;
            for (int64_t k = 0; k < count; k++)
                _mm512_storeu_ps(dst + k * DW_BLOCK, v[k]);
        }
    }

    /* Taps [T][16] and bias of the block; lanes past the channels are zero. */
    depthwiseBlockTaps(job->w + (size_t)(c0 * taps), taps, lanes, DW_BLOCK, tap_vectors);
    __m512 bias = _mm512_setzero_ps();
    if (job->b)
        bias = _mm512_maskz_loadu_ps(m, job->b + c0);

    /* Each output row: sum the taps per pixel, activate, transpose back. */
    size_t step = (size_t)sx * DW_BLOCK;  /* floats between neighbouring output pixels' inputs */
    for (int64_t oy = 0; oy < oh; oy++) {
        /* four pixels at a time, so four FMA chains overlap */
        int64_t ox = 0;
        for (; ox + 4 <= ow; ox += 4) {
            const float *base = buffer + (size_t)((oy * sy) * wp + ox * sx) * DW_BLOCK;
            __m512 acc0 = bias, acc1 = bias, acc2 = bias, acc3 = bias;
            for (int64_t ky = 0; ky < kh; ky++) {
                const float *in = base + (size_t)(ky * dy * wp) * DW_BLOCK;
                const float *tap = tap_vectors + (size_t)(ky * kw) * DW_BLOCK;
                for (int64_t kx = 0; kx < kw; kx++, in += dx * DW_BLOCK, tap += DW_BLOCK) {
                    __m512 t = _mm512_loadu_ps(tap);
                    acc0 = _mm512_fmadd_ps(t, _mm512_loadu_ps(in), acc0);
                    acc1 = _mm512_fmadd_ps(t, _mm512_loadu_ps(in + step), acc1);
                    acc2 = _mm512_fmadd_ps(t, _mm512_loadu_ps(in + 2 * step), acc2);
                    acc3 = _mm512_fmadd_ps(t, _mm512_loadu_ps(in + 3 * step), acc3);
                }
            }
            _mm512_storeu_ps(row + ox * DW_BLOCK, acc0);
            _mm512_storeu_ps(row + (ox + 1) * DW_BLOCK, acc1);
            _mm512_storeu_ps(row + (ox + 2) * DW_BLOCK, acc2);
            _mm512_storeu_ps(row + (ox + 3) * DW_BLOCK, acc3);
        }
        for (; ox < ow; ox++) {
            const float *base = buffer + (size_t)((oy * sy) * wp + ox * sx) * DW_BLOCK;
            __m512 acc = bias;
            for (int64_t ky = 0; ky < kh; ky++) {
                const float *in = base + (size_t)(ky * dy * wp) * DW_BLOCK;
                const float *tap = tap_vectors + (size_t)(ky * kw) * DW_BLOCK;
                for (int64_t kx = 0; kx < kw; kx++, in += dx * DW_BLOCK, tap += DW_BLOCK)
                    acc = _mm512_fmadd_ps(_mm512_loadu_ps(tap), _mm512_loadu_ps(in), acc);
            }
            _mm512_storeu_ps(row + ox * DW_BLOCK, acc);
        }
        if (p->act != VB_ACT_NONE)
            vbActivationApply(row, (size_t)ow * DW_BLOCK, 0.0f, p->act, p->alpha, p->beta, 1);
        for (int64_t px = 0; px < ow; px += DW_BLOCK) {
            int64_t count = ow - px < DW_BLOCK ? ow - px : DW_BLOCK;
            __mmask16 cols = (__mmask16)((1u << count) - 1u);
            __m512 v[DW_BLOCK];
            for (int k = 0; k < DW_BLOCK; k++)
                v[k] = k < count ? _mm512_loadu_ps(row + (px + k) * DW_BLOCK) : _mm512_setzero_ps();
            vbTranspose16(v);
            for (int c = 0; c < lanes; c++)
                _mm512_mask_storeu_ps(y + (size_t)c * job->out_plane + (size_t)(oy * ow + px), cols,
                                      v[c]);
        }
    }
    /* NOTE: no AVX-512 machine has run this pooling call yet. The pool
     * fusion cases of test_engine cover it on one. */
    depthwisePoolBlock(job, img * s->channels + c0, lanes);
}

/* Channels of one block of the AVX2 blocked depthwise path: one vector. */
#define DW_BLOCK_AVX2 8

/* Output pixels per step of the AVX2 blocked path: eight accumulators. */
#define DW_PIXELS_AVX2 8

/* Sums the taps of N neighbouring output pixels of a blocked depthwise row
 * into out [N][8]. Pixel j's input window starts at base + j * step. Its
 * taps lie row_floats apart by row and col_floats apart by column, with
 * weights in tap_vectors [kh * kw][8]. Each pixel starts from bias and adds
 * its taps in order. N is a constant from 1 to 8 in the callers, so the
 * accumulators stay in registers. */
__attribute__((target("avx2,fma"), always_inline)) static inline void depthwisePixelsAvx2(
    const float *base, size_t step, const float *tap_vectors, int64_t kh, int64_t kw,
    size_t row_floats, size_t col_floats, __m256 bias, float *out, const int N)
{
    __m256 acc[DW_PIXELS_AVX2];
    #pragma GCC unroll 8
    for (int j = 0; j < N; j++)
        acc[j] = bias;
    for (int64_t ky = 0; ky < kh; ky++) {
        const float *in = base + (size_t)ky * row_floats;
        const float *tap = tap_vectors + (size_t)(ky * kw) * DW_BLOCK_AVX2;
        for (int64_t kx = 0; kx < kw; kx++, in += col_floats, tap += DW_BLOCK_AVX2) {
            __m256 t = _mm256_loadu_ps(tap);
            #pragma GCC unroll 8
            for (int j = 0; j < N; j++)
                acc[j] = _mm256_fmadd_ps(t, _mm256_loadu_ps(in + (size_t)j * step), acc[j]);
        }
    }
    #pragma GCC unroll 8
    for (int j = 0; j < N; j++)
        _mm256_storeu_ps(out + j * DW_BLOCK_AVX2, acc[j]);
}

/* Runs depthwisePixelsAvx2 for n pixels, 1 <= n <= DW_PIXELS_AVX2. */
__attribute__((target("avx2,fma"))) static void depthwiseBlockPixelsAvx2(
    const float *base, size_t step, const float *tap_vectors, int64_t kh, int64_t kw,
    size_t row_floats, size_t col_floats, __m256 bias, float *out, int n)
{
#define VB_PIXELS(N)                                                                        \
    case N:                                                                                 \
        depthwisePixelsAvx2(base, step, tap_vectors, kh, kw, row_floats, col_floats, bias, out, \
                            N);                                                             \
        break;
    switch (n) {
        VB_PIXELS(1) VB_PIXELS(2) VB_PIXELS(3) VB_PIXELS(4)
        VB_PIXELS(5) VB_PIXELS(6) VB_PIXELS(7) VB_PIXELS(8)
    default: break;
    }
#undef VB_PIXELS
}

/* The AVX2 form of depthwiseBlockTask: blocks of 8 channels, with the
 * same buffer layout but 8 floats per pixel, and the same summation order. */
__attribute__((target("avx2,fma"))) static void depthwiseBlockTaskAvx2(void *arg, int64_t i,
                                                                      int worker)
{
    const DepthwiseJob *job = arg;
    const ConvParams *p = job->p;
    const ConvShape *s = job->s;
    const VbWindowGeometry *g = &s->g;
    const int block = DW_BLOCK_AVX2;
    int64_t blocks = (s->channels + block - 1) / block;
    int64_t img = i / blocks, c0 = (i % blocks) * block;
    int lanes = s->channels - c0 < block ? (int)(s->channels - c0) : block;
    __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    int64_t h = g->in[0], w = g->in[1], oh = g->out[0], ow = g->out[1];
    int64_t top = g->pad_begin[0], left = g->pad_begin[1];
    int64_t hp = h + top + g->pad_end[0], wp = w + left + g->pad_end[1];
    int64_t kh = g->kernel[0], kw = g->kernel[1], taps = kh * kw;
    int64_t sy = g->stride[0], sx = g->stride[1], dy = g->dilation[0], dx = g->dilation[1];
    float *buffer = (float *)(job->buffers + job->buffer_bytes * (size_t)worker);
    float *tap_vectors = buffer + (size_t)(hp * wp) * block;
    float *row = tap_vectors + (size_t)taps * block;
    const float *x = job->x + (size_t)(img * s->channels + c0) * job->in_plane;
    float *y = job->y + (size_t)(img * s->channels + c0) * job->out_plane;

    /* Transpose the block into the padded buffer [hp][wp][8], 8 pixels of a
     * row at a time, after zeroing only the padding around the image. */
    depthwiseBlockPadding(g, block, buffer);
    for (int64_t iy = 0; iy < h; iy++) {
        for (int64_t ix = 0; ix < w; ix += block) {
            int64_t count = w - ix < block ? w - ix : block;
            __m256i cols = _mm256_cmpgt_epi32(_mm256_set1_epi32((int)count), lane);
            __m256 v[DW_BLOCK_AVX2];
            for (int c = 0; c < block; c++) {
                const float *from = x + (size_t)c * job->in_plane + (size_t)(iy * w + ix);
                if (c >= lanes)
                    v[c] = _mm256_setzero_ps();
                else if (count == block)
                    v[c] = _mm256_loadu_ps(from);
                else
                    v[c] = _mm256_maskload_ps(from, cols);
            }
            vbTranspose8(v);
            /* A loop of fixed length with a test per store: GCC turned a
             * loop up to count into a memcpy call through the stack. */
            float *dst = buffer + (size_t)((iy + top) * wp + left + ix) * block;
            #pragma GCC unroll 8
            for (int k = 0; k < DW_BLOCK_AVX2; k++) {
                if (k < count)
                    _mm256_storeu_ps(dst + k * block, v[k]);
            }
        }
    }

    /* Taps [T][8] and bias of the block; lanes past the channels are zero. */
    depthwiseBlockTaps(job->w + (size_t)(c0 * taps), taps, lanes, block, tap_vectors);
    __m256 bias = _mm256_setzero_ps();
    if (job->b)
        bias = _mm256_maskload_ps(job->b + c0, _mm256_cmpgt_epi32(_mm256_set1_epi32(lanes), lane));

    /* Each output row: sum the taps per pixel, activate, transpose back. */
    size_t step = (size_t)sx * block;  /* floats between neighbouring output pixels' inputs */
    for (int64_t oy = 0; oy < oh; oy++) {
        /* up to eight pixels at a time, so eight FMA chains overlap */
        for (int64_t ox = 0; ox < ow; ox += DW_PIXELS_AVX2) {
            const float *base = buffer + (size_t)((oy * sy) * wp + ox * sx) * block;
            int n = ow - ox < DW_PIXELS_AVX2 ? (int)(ow - ox) : DW_PIXELS_AVX2;
            depthwiseBlockPixelsAvx2(base, step, tap_vectors, kh, kw, (size_t)(dy * wp) * block,
                                     (size_t)dx * block, bias, row + ox * block, n);
        }
        if (p->act != VB_ACT_NONE)
            vbActivationApply(row, (size_t)ow * block, 0.0f, p->act, p->alpha, p->beta, 1);
        for (int64_t px = 0; px < ow; px += block) {
            int64_t count = ow - px < block ? ow - px : block;
            __m256i cols = _mm256_cmpgt_epi32(_mm256_set1_epi32((int)count), lane);
            __m256 v[DW_BLOCK_AVX2];
            for (int k = 0; k < block; k++)
                v[k] = k < count ? _mm256_loadu_ps(row + (px + k) * block) : _mm256_setzero_ps();
            vbTranspose8(v);
            for (int c = 0; c < lanes; c++) {
                float *to = y + (size_t)c * job->out_plane + (size_t)(oy * ow + px);
                if (count == block)
                    _mm256_storeu_ps(to, v[c]);
                else
                    _mm256_maskstore_ps(to, cols, v[c]);
            }
        }
    }
    depthwisePoolBlock(job, img * s->channels + c0, lanes);
}
#endif

/* Depthwise convolution: every (image, channel) plane is split into the
 * thread's buffer and convolved on its own, or for narrow outputs, blocks
 * of 16 (AVX-512) or 8 (AVX2) channels are convolved as vectors. pooled,
 * when not NULL, gets the mean of each output plane [N][C]. */
static void convDepthwise(const ConvParams *p, const ConvShape *s, const float *x, const float *w,
                          const float *b, float *y, float *pooled, const VbOpRunContext *ctx)
{
    const VbWindowGeometry *g = &s->g;
    int64_t planes = s->batch * s->channels;
    int64_t tap_count = g->kernel[0] * g->kernel[1];
    DepthwiseJob job = {0};
    job.p = p;
    job.s = s;
    job.x = x;
    job.w = w;
    job.b = b;
    job.y = y;
    job.pooled = pooled;
    job.offsets = ctx->workspace;
    job.tap_count = tap_count;
    job.use_simd = !ctx->disable_simd;
    job.hph = phaseHeight(s);
    job.wph = phaseWidth(s);
    job.row_stride = depthwiseRowStride(s);
    job.in_plane = (size_t)(g->in[0] * g->in[1]);
    job.out_plane = (size_t)(g->out[0] * g->out[1]);
    job.buffers = (char *)ctx->workspace + alignUp64((size_t)tap_count * sizeof(size_t));
    job.buffer_bytes = alignUp64(depthwisePlaneFloats(s) * sizeof(float));
    tapOffsets(g, job.hph, job.row_stride, 1, ctx->workspace);
    job.isa = vbKernelIsa(ctx->disable_simd);
#if defined(__x86_64__)
    job.fixed = depthwiseFixedKernel(g, job.isa, &job.fixed_rows);
#endif
    int threads = ctx->threads < 1 ? 1 : ctx->threads;
    int cores = vbCpuCount();
    if (threads > cores)
        threads = cores;
#if defined(__x86_64__)
    if (job.isa != VB_KERNEL_ISA_PORTABLE && depthwiseBlockedShape(s)) {
        int block = job.isa == VB_KERNEL_ISA_AVX512 ? DW_BLOCK : DW_BLOCK_AVX2;
        int64_t blocks = s->batch * ((s->channels + block - 1) / block);
        job.buffer_bytes = alignUp64(depthwiseBlockedFloats(s) * sizeof(float));
        if (job.buffer_bytes < alignUp64(depthwisePlaneFloats(s) * sizeof(float)))
            job.buffer_bytes = alignUp64(depthwisePlaneFloats(s) * sizeof(float));
        vbParallelFor(threads, blocks,
                      job.isa == VB_KERNEL_ISA_AVX512 ? depthwiseBlockTask : depthwiseBlockTaskAvx2,
                      &job);
        return;
    }
#endif
    vbParallelFor(threads, planes, depthwiseTask, &job);
}

/* Arguments of one convSplitImage call for splitTask. */
typedef struct SplitJob {
    const float *x;
    const ConvShape *s;
    float *dst;
    int64_t hph, wph;
    VbKernelIsa isa;
} SplitJob;

/* Splits channel c of a convSplitImage call. */
static void splitTask(void *arg, int64_t c, int worker)
{
    const SplitJob *job = arg;
    size_t in_plane = (size_t)(job->s->g.in[0] * job->s->g.in[1]);
    size_t out_plane = (size_t)(job->hph * job->wph);
    (void)worker;
    splitPlane(job->x + (size_t)c * in_plane, &job->s->g, job->hph, job->wph, job->wph,
               (size_t)job->s->group_in * out_plane, job->isa, job->dst + (size_t)c * out_plane);
}

/* Copies one image group x [Cg][H][W] into dst [sy*sx][Cg][Hph][Wph] with
 * splitPlane, one channel per iteration. */
static void convSplitImage(const float *x, const ConvShape *s, float *dst, const VbOpRunContext *ctx)
{
    SplitJob job = {x, s, dst, phaseHeight(s), phaseWidth(s), vbKernelIsa(ctx->disable_simd)};
    int threads = ctx->threads < 1 ? 1 : ctx->threads;
    vbParallelFor(threads, s->group_in, splitTask, &job);
}

/* Rows of a one-pixel pointwise Conv per task of convGemv: a multiple of
 * four, the rows vbSgemvRows reads at once. */
#define GEMV_TASK_ROWS 16
/* Multiply-adds below which convGemv runs on the calling thread alone: a
 * second thread costs more to start than it saves. */
#define GEMV_MIN_PARALLEL 16384

/* Arguments of one convGemv call for gemvRowsTask. */
typedef struct GemvRowsJob {
    const ConvParams *p;
    const float *w, *x, *bias;
    float *y;
    int64_t k, rows;
    int use_simd;
} GemvRowsJob;

/* Computes rows GEMV_TASK_ROWS * t onwards of a convGemv call, with bias
 * and activation. */
static void gemvRowsTask(void *arg, int64_t t, int worker)
{
    const GemvRowsJob *job = arg;
    int64_t r0 = t * GEMV_TASK_ROWS;
    int64_t rows = job->rows - r0 < GEMV_TASK_ROWS ? job->rows - r0 : GEMV_TASK_ROWS;
    float *y = job->y + r0;
    (void)worker;
    vbSgemvRows(job->w + (size_t)r0 * (size_t)job->k, (size_t)job->k, job->x, job->k, rows, y,
                job->use_simd);
    if (job->bias != NULL) {
        for (int64_t i = 0; i < rows; i++)
            y[i] += job->bias[r0 + i];
    }
    vbActivationApply(y, (size_t)rows, 0.0f, job->p->act, job->p->alpha, job->p->beta,
                      job->use_simd);
}

/* Computes y[rows] = act(w[rows][k] * x[k] + bias) for a Conv with one
 * output pixel (a squeeze-excitation layer), on the weights as stored.
 * bias may be NULL. Threads take blocks of GEMV_TASK_ROWS rows, and each
 * row is computed the same way on any thread. Small products stay on one
 * thread. */
static void convGemv(const ConvParams *p, const float *w, int64_t k, int64_t rows, const float *x,
                     const float *bias, float *y, const VbOpRunContext *ctx)
{
    GemvRowsJob job = {p, w, x, bias, y, k, rows, !ctx->disable_simd};
    int64_t tasks = (rows + GEMV_TASK_ROWS - 1) / GEMV_TASK_ROWS;
    int threads = ctx->threads < 1 ? 1 : ctx->threads;
    if (rows * k < GEMV_MIN_PARALLEL)
        threads = 1;
    vbParallelFor(threads, tasks, gemvRowsTask, &job);
}

static vb_status convRun(const void *params, const vb_tensor *const *in, int n_in,
                         vb_tensor *const *out, int n_out, const VbOpRunContext *ctx,
                         vb_error *err)
{
    const ConvParams *p = params;
    ConvShape s;
    vb_status st = convShape(p, in, n_in, &s, err);
    if (st != VB_OK)
        return st;
    const float *x = in[0]->data, *w = in[1]->data;
    const float *b = n_in > 2 && in[2] ? in[2]->data : NULL;
    float *y = out[0]->data;
    if (s.batch == 0 || s.out_channels == 0 || s.g.out[0] * s.g.out[1] == 0) {
        /* a fused pool of empty planes gives 0, as vbGlobalPoolPlane does */
        if (p->pool_output && n_out > 1)
            memset(out[1]->data, 0, sizeof(float) * (size_t)(s.batch * s.out_channels));
        return VB_OK;
    }

    if (s.depthwise) {
        if (ctx->workspace == NULL || ctx->workspace_bytes < depthwiseWorkspace(&s))
            return vbErrorSet(err, VB_ERR_INTERNAL,
                              "Conv node '%s': workspace of %zu bytes is smaller than the %zu bytes infer reported",
                              p->window.node, ctx->workspace_bytes, depthwiseWorkspace(&s));
        float *pooled = p->pool_output && n_out > 1 ? out[1]->data : NULL;
        convDepthwise(p, &s, x, w, b, y, pooled, ctx);
        return VB_OK;
    }

    /* Winograd path: weights transformed at load, one call per image. */
    VbWinogradShape wg;
    if (p->winograd && convIsPacked(p, in[1]) && convWinograd(p, &s, &wg)) {
        size_t need = vbWinogradThreadWorkspace(&wg);
        if (ctx->workspace == NULL || ctx->workspace_bytes < need)
            return vbErrorSet(err, VB_ERR_INTERNAL,
                              "Conv node '%s': workspace of %zu bytes is smaller than the %zu bytes infer reported",
                              p->window.node, ctx->workspace_bytes, need);
        VbSgemmEpilogue wep = {b, p->act, p->alpha, p->beta};
        size_t in_image = (size_t)s.channels * (size_t)(s.g.in[0] * s.g.in[1]);
        size_t out_image = (size_t)s.out_channels * (size_t)(s.g.out[0] * s.g.out[1]);
        for (int64_t img = 0; img < s.batch; img++)
            vbWinogradConv(&wg, p->packed, x + (size_t)img * in_image, y + (size_t)img * out_image,
                           &wep, ctx, ctx->workspace, ctx->workspace_bytes);
        return VB_OK;
    }

    /* Carve the workspace: thread scratch, offsets, padded image, weights. */
    int n = (int)(s.g.out[0] * s.g.out[1]);
    ConvPlan plan;
    convPlan(p, &s, convIsPacked(p, in[1]), &plan);
    if (ctx->workspace == NULL || ctx->workspace_bytes < convPlanBytes(&plan))
        return vbErrorSet(err, VB_ERR_INTERNAL,
                          "Conv node '%s': workspace of %zu bytes is smaller than the %zu bytes infer reported",
                          p->window.node, ctx->workspace_bytes, convPlanBytes(&plan));
    char *cursor = (char *)ctx->workspace + plan.thread_bytes;
    size_t *offsets = (size_t *)cursor;
    cursor += plan.offsets_bytes;
    float *padded = plan.padded_bytes ? (float *)cursor : NULL;
    cursor += plan.padded_bytes;
    const float *packed = p->packed;
    if (plan.weights_bytes) {
        convPackWeights(p, &s, w, (float *)cursor);
        packed = (const float *)cursor;
    }

    /* Row-pointer path: tap k (channel c, ky, kx) of output (oy, ox) reads
     * padded pixel (oy*sy + ky*dh, ox*sx + kx*dw). That pixel lies in phase
     * (ky*dh % sy, kx*dw % sx), at row oy + ky*dh / sy and column
     * ox + kx*dw / sx. offsets[k] is its offset from phase 0's (oy, ox). */
    int64_t hph = padded ? phaseHeight(&s) : s.g.in[0], wph = padded ? phaseWidth(&s) : s.g.in[1];
    if (plan.use_rows)
        tapOffsets(&s.g, hph, wph, s.group_in, offsets);

    /* One GEMM per image and group: Y[g] (Mg x OH*OW) = Wg (Mg x K) * B (K x OH*OW). */
    size_t in_plane = (size_t)(s.g.in[0] * s.g.in[1]);
    size_t group_floats = vbSgemmPackedASize((int)s.group_out, (int)s.k);
    VbSgemmEpilogue ep = {NULL, p->act, p->alpha, p->beta};
    for (int64_t img = 0; img < s.batch; img++) {
        for (int64_t grp = 0; grp < p->group; grp++) {
            const float *xg = x + (size_t)(img * s.channels + grp * s.group_in) * in_plane;
            float *yg = y + (size_t)(img * s.out_channels + grp * s.group_out) * (size_t)n;
            ep.bias = b ? b + grp * s.group_out : NULL;
            const float *ag = packed + (size_t)grp * group_floats;
            if (plan.im2col) {
                ConvIm2col src = {xg, &s.g, vbKernelIsa(ctx->disable_simd)};
                vbSgemm((int)s.group_out, n, (int)s.k, ag, convPackIm2col, &src, yg, (size_t)n,
                        &ep, ctx, ctx->workspace, plan.thread_bytes);
            } else if (p->input_scale) {
                /* X times the scale. vbSgemmPackMatrix or the AVX2 kernel
                 * that packs as it reads applies it, and AVX-512 has its own
                 * packer. */
                const float *scale = in[3]->data;
                VbSgemmMatrix matrix = {xg, (size_t)n, 1, scale};
                const void *src = &matrix;
                VbSgemmPackB pack = vbSgemmPackMatrix;
#if defined(__x86_64__)
                ConvScaledInput scaled = {xg, (size_t)n, scale};
                if (vbKernelIsa(ctx->disable_simd) == VB_KERNEL_ISA_AVX512 &&
                    vbSgemmLayout().nr % 16 == 0) {
                    src = &scaled;
                    pack = convPackScaledAvx512;
                }
#endif
                vbSgemm((int)s.group_out, n, (int)s.k, ag, pack, src, yg, (size_t)n, &ep, ctx,
                        ctx->workspace, plan.thread_bytes);
            } else if (s.pointwise && n == 1) {
                /* one output pixel (squeeze-excitation layers): a matrix-vector
                 * product on the weights as stored, then bias and activation */
                const float *rows = w + (size_t)grp * (size_t)s.group_out * (size_t)s.k;
                convGemv(p, rows, s.k, s.group_out, xg, ep.bias, yg, ctx);
            } else if (s.pointwise) {
                VbSgemmMatrix src = {xg, (size_t)n, 1, NULL};
                vbSgemm((int)s.group_out, n, (int)s.k, ag, vbSgemmPackMatrix, &src, yg, (size_t)n,
                        &ep, ctx, ctx->workspace, plan.thread_bytes);
            } else {
                const float *src = xg;
                if (padded) {
                    convSplitImage(xg, &s, padded, ctx);
                    src = padded;
                }
                if (plan.wide)
                    vbSgemmWide((int)s.group_out, (int)s.g.out[0], (int)s.g.out[1], (size_t)wph,
                                (int)s.k, ag, src, offsets, yg, (size_t)n, &ep, ctx, ctx->workspace,
                                plan.thread_bytes);
                else
                    vbSgemmRows((int)s.group_out, (int)s.g.out[0], (int)s.g.out[1], (size_t)wph,
                                (int)s.k, ag, src, offsets, yg, (size_t)n, &ep, ctx,
                                ctx->workspace, plan.thread_bytes);
            }
        }
    }
    return VB_OK;
}

static const VbOpDef convOp = {
    .op_type = "Conv",
    .min_opset = 1,
    .prepare = convPrepare,
    .infer = convInfer,
    .run = convRun,
    .release = convRelease,
    .pack = convPack,
    .fuse_activation = convFuse,
};

const VbOpDef *const vbOpsConv[] = {&convOp, NULL};
