/* Pooling ops: MaxPool, AveragePool, GlobalAveragePool and GlobalMaxPool on 1-D and 2-D NCHW float32. */
#include <float.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "engine/op.h"
#include "kernels/parallel.h"
#include "kernels/window.h"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

typedef struct PoolParams {
    VbWindow window;
    int is_max;
    int count_include_pad;
    int global;
} PoolParams;

static vb_status poolPrepareCommon(const VbOnnxNode *node, int is_max, int global, void **params,
                                   vb_error *err)
{
    PoolParams *p = calloc(1, sizeof *p);
    if (p == NULL)
        return vbErrorSet(err, VB_ERR_NO_MEMORY, "%s node '%s': out of memory", node->op_type,
                          node->name);
    p->is_max = is_max;
    p->global = global;
    vb_status st = VB_OK;
    if (!global) {
        st = vbWindowRead(node, 1, &p->window, err);
        if (st != VB_OK)
            goto done;
    } else {
        snprintf(p->window.node, sizeof p->window.node, "%s", node->name ? node->name : "");
        snprintf(p->window.op, sizeof p->window.op, "%s", node->op_type);
    }

    /* MaxPool: the optional Indices output and storage_order are not implemented. */
    int bad = 0;
    if (is_max && !global) {
        if (node->output_count > 1 && node->outputs[1] != NULL && node->outputs[1][0] != '\0') {
            st = vbErrorSet(err, VB_ERR_UNSUPPORTED,
                            "MaxPool node '%s': the Indices output is not supported; remove the second output",
                            node->name);
            goto done;
        }
        if (vbOnnxAttrInt(node, "storage_order", 0, &bad) != 0 || bad) {
            st = vbErrorSet(err, VB_ERR_UNSUPPORTED,
                            "MaxPool node '%s': storage_order other than 0 is not supported", node->name);
            goto done;
        }
    }
    if (!is_max && !global) {
        int64_t include = vbOnnxAttrInt(node, "count_include_pad", 0, &bad);
        if (bad || (include != 0 && include != 1)) {
            st = vbErrorSet(err, VB_ERR_INVALID_ARGUMENT,
                            "AveragePool node '%s': count_include_pad must be 0 or 1", node->name);
            goto done;
        }
        p->count_include_pad = (int)include;
    }
    *params = p;
    p = NULL;
done:
    free(p);
    return st;
}

static vb_status maxPoolPrepare(const VbOnnxNode *node, int opset, void **params, vb_error *err)
{
    return poolPrepareCommon(node, 1, 0, params, err);
}

static vb_status avgPoolPrepare(const VbOnnxNode *node, int opset, void **params, vb_error *err)
{
    return poolPrepareCommon(node, 0, 0, params, err);
}

static vb_status globalMaxPrepare(const VbOnnxNode *node, int opset, void **params, vb_error *err)
{
    return poolPrepareCommon(node, 1, 1, params, err);
}

static vb_status globalAvgPrepare(const VbOnnxNode *node, int opset, void **params, vb_error *err)
{
    return poolPrepareCommon(node, 0, 1, params, err);
}

static void poolRelease(void *params)
{
    free(params);
}

/* Checks X and resolves the window (not for the global ops). */
static vb_status poolShape(const PoolParams *p, const vb_tensor *const *in, int n_in,
                           VbWindowGeometry *g, vb_error *err)
{
    const VbWindow *w = &p->window;
    if (n_in < 1 || in[0] == NULL)
        return vbErrorSet(err, VB_ERR_SHAPE, "%s node '%s': input X is required", w->op, w->node);
    const vb_tensor *x = in[0];
    if (x->dtype != VB_DTYPE_FLOAT32)
        return vbErrorSet(err, VB_ERR_UNSUPPORTED, "%s node '%s': input type %s is not supported; only float32 is",
                          w->op, w->node, vb_dtype_to_string(x->dtype));
    if (x->rank < 3)
        return vbErrorSet(err, VB_ERR_SHAPE, "%s node '%s': input rank %d is below 3 (N, C, spatial dims)",
                          w->op, w->node, x->rank);
    if (p->global)
        return VB_OK;
    if (x->rank > 4)
        return vbErrorSet(err, VB_ERR_UNSUPPORTED,
                          "%s node '%s': input rank %d is not supported; only 1-D (rank 3) and 2-D (rank 4) pooling is",
                          w->op, w->node, x->rank);
    return vbWindowResolve(w, x->rank - 2, x->dims + 2, NULL, g, err);
}

/* Bytes of the table of valid output ranges per kernel column. */
static size_t rangeBytes(const VbWindowGeometry *g)
{
    return 2 * (size_t)g->kernel[1] * sizeof(int64_t);
}

static vb_status poolInfer(const void *params, const vb_tensor *const *in, int n_in,
                           vb_tensor *const *out, int n_out, VbOpInferInfo *info, vb_error *err)
{
    const PoolParams *p = params;
    VbWindowGeometry g;
    vb_status st = poolShape(p, in, n_in, &g, err);
    if (st != VB_OK)
        return st;
    const vb_tensor *x = in[0];
    vb_tensor *y = out[0];
    y->dtype = VB_DTYPE_FLOAT32;
    y->rank = x->rank;
    y->dims[0] = x->dims[0];
    y->dims[1] = x->dims[1];
    uint64_t window = 1;
    if (p->global) {
        for (int i = 2; i < x->rank; i++) {
            y->dims[i] = 1;
            window *= (uint64_t)x->dims[i];
        }
    } else if (x->rank == 4) {
        y->dims[2] = g.out[0];
        y->dims[3] = g.out[1];
        window = (uint64_t)(g.kernel[0] * g.kernel[1]);
    } else {
        y->dims[2] = g.out[1];
        window = (uint64_t)g.kernel[1];
    }
    info->workspace_bytes = p->global ? 0 : rangeBytes(&g);
    info->flops = (uint64_t)vbTensorCount(y) * window;
    return VB_OK;
}

/* Returns how many taps k in [0, kernel) put base + k * dilation inside
 * [lo, hi). */
static int64_t tapsInside(int64_t base, int64_t kernel, int64_t dilation, int64_t lo, int64_t hi)
{
    int64_t first = base >= lo ? 0 : (lo - base + dilation - 1) / dilation;
    int64_t last = base + (kernel - 1) * dilation < hi ? kernel - 1 : (hi - 1 - base) / dilation;
    if (hi - 1 - base < 0)
        return 0;
    return last >= first ? last - first + 1 : 0;
}

#if defined(__x86_64__)
/* Returns src[0], src[sx], ... src[(n - 1) * sx] for sx 1 or 2 in the first
 * n (1 to 16) lanes and zeros after them, reading nothing past the last of
 * them. Stride 2 splits two masked loads into their even lanes. */
__attribute__((target("avx512f"))) static __m512 loadStrided(const float *src, int64_t n,
                                                             int64_t sx)
{
    __mmask16 m = (__mmask16)((1u << n) - 1u);
    if (sx == 1)
        return _mm512_maskz_loadu_ps(m, src);
    __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    int64_t floats = 2 * n - 1;  /* the first 16 in lo */
    __mmask16 lo = floats >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << floats) - 1u);
    __mmask16 hi = floats > 16 ? (__mmask16)((1u << (floats - 16)) - 1u) : (__mmask16)0;
    return _mm512_permutex2var_ps(_mm512_maskz_loadu_ps(lo, src), even,
                                  _mm512_maskz_loadu_ps(hi, src + 16));
}

/* Runs maxRun (is_max) or sumRun with AVX-512 for strides 1 and 2, the
 * last partial vector through masks. Returns how many leading outputs it
 * handled: count, or 0 for other strides. */
__attribute__((target("avx512f"))) static int64_t runAvx512(float *y, const float *src,
                                                            int64_t count, int64_t sx, int is_max)
{
    if (sx != 1 && sx != 2)
        return 0;
    for (int64_t i = 0; i < count; i += 16) {
        int64_t n = count - i < 16 ? count - i : 16;
        __mmask16 m = (__mmask16)((1u << n) - 1u);
        __m512 v = loadStrided(src + i * sx, n, sx);
        __m512 old = _mm512_maskz_loadu_ps(m, y + i);
        /* max(v, old) returns old when either is NaN, as maxRun's v > y test does */
        __m512 r = is_max ? _mm512_max_ps(v, old) : _mm512_add_ps(old, v);
        _mm512_mask_storeu_ps(y + i, m, r);
    }
    return count;
}
#endif

/* Sets y[i] = max(src[i * sx], y[i]) for i in [0, count): a NaN in y stays,
 * a NaN in src does not replace y (the v > y test). use_avx512 runs strides
 * 1 and 2 of 32 or more outputs sixteen at a time with the same result. */
static void maxRun(float *y, const float *src, int64_t count, int64_t sx, int use_avx512)
{
    int64_t i = 0;
#if defined(__x86_64__)
    /* short runs stay in the loop below, which costs less than the call */
    if (use_avx512 && count >= 32)
        i = runAvx512(y, src, count, sx, 1);
#else
    (void)use_avx512;
#endif
    for (; i < count; i++) {
        float v = src[i * sx];
        y[i] = v > y[i] ? v : y[i];
    }
}

/* Sets y[i] += src[i * sx] for i in [0, count). use_avx512 runs strides 1
 * and 2 of 8 or more outputs sixteen at a time with the same result. */
static void sumRun(float *y, const float *src, int64_t count, int64_t sx, int use_avx512)
{
    int64_t i = 0;
#if defined(__x86_64__)
    if (use_avx512 && count >= 8)
        i = runAvx512(y, src, count, sx, 0);
#else
    (void)use_avx512;
#endif
    for (; i < count; i++)
        y[i] += src[i * sx];
}

/* Largest output width whose average divisors poolPlane keeps on the stack. */
#define POOL_MAX_CACHED_WIDTH 1024

/* Pools one plane y[OH][OW] from x[H][W]. Rows accumulate tap by tap over
 * the output positions whose input lies inside the image. */
static void poolPlane(const float *x, float *y, const VbWindowGeometry *g, const int64_t *ranges,
                      int is_max, int include_pad, int use_avx512)
{
    int64_t oh = g->out[0], ow = g->out[1], h = g->in[0], w = g->in[1];
    int64_t sy = g->stride[0], sx = g->stride[1];
    int32_t cols_of[POOL_MAX_CACHED_WIDTH];  /* average: taps counted per output column */
    int cols_ready = 0;
    for (int64_t oy = 0; oy < oh; oy++) {
        float *yrow = y + oy * ow;
        float init = is_max ? -FLT_MAX : 0.0f;
        for (int64_t ox = 0; ox < ow; ox++)
            yrow[ox] = init;

        /* yrow[ox] = max or sum over the taps inside the image */
        int64_t ybase = oy * sy - g->pad_begin[0];
        for (int64_t ky = 0; ky < g->kernel[0]; ky++) {
            int64_t iy = ybase + ky * g->dilation[0];
            if (iy < 0 || iy >= h)
                continue;
            const float *xrow = x + iy * w;
            for (int64_t kx = 0; kx < g->kernel[1]; kx++) {
                int64_t off = kx * g->dilation[1] - g->pad_begin[1];
                int64_t lo = ranges[2 * kx], hi = ranges[2 * kx + 1];
                if (is_max && lo < hi) {
                    /* tap kx of outputs lo .. hi - 1, the first at xrow[lo * sx + off] */
                    maxRun(yrow + lo, xrow + lo * sx + off, hi - lo, sx, use_avx512);
                } else if (!is_max && lo < hi) {
                    sumRun(yrow + lo, xrow + lo * sx + off, hi - lo, sx, use_avx512);
                }
            }
        }
        if (is_max)
            continue;

        /* Average: divide by the taps inside the image, or inside image
         * plus pads with count_include_pad. */
        int64_t ylo = include_pad ? -g->pad_begin[0] : 0, yhi = include_pad ? h + g->pad_end[0] : h;
        int64_t xlo = include_pad ? -g->pad_begin[1] : 0, xhi = include_pad ? w + g->pad_end[1] : w;
        int64_t rows = tapsInside(ybase, g->kernel[0], g->dilation[0], ylo, yhi);
        if (ow <= POOL_MAX_CACHED_WIDTH) {
            /* the column counts are the same for every row */
            if (!cols_ready) {
                for (int64_t ox = 0; ox < ow; ox++)
                    cols_of[ox] = (int32_t)tapsInside(ox * sx - g->pad_begin[1], g->kernel[1],
                                                      g->dilation[1], xlo, xhi);
                cols_ready = 1;
            }
            for (int64_t ox = 0; ox < ow; ox++) {
                int64_t count = rows * cols_of[ox];
                yrow[ox] = count > 0 ? yrow[ox] / (float)count : 0.0f;
            }
            continue;
        }
        for (int64_t ox = 0; ox < ow; ox++) {
            int64_t cols = tapsInside(ox * sx - g->pad_begin[1], g->kernel[1], g->dilation[1], xlo, xhi);
            int64_t count = rows * cols;
            yrow[ox] = count > 0 ? yrow[ox] / (float)count : 0.0f;
        }
    }
}

/* Lanes of the partial results in vbGlobalPoolPlane: four AVX2 vectors,
 * so four chains of adds overlap. */
#define GLOBAL_POOL_LANES 32

/* Adds (or takes the max of) x[0..n), n < GLOBAL_POOL_LANES, into lanes
 * 0..n of acc, then folds the lanes in halves. Returns the max, or the sum
 * divided by total, the plane's value count. */
static float globalPoolFinish(float *acc, const float *x, size_t n, size_t total, int is_max)
{
    for (size_t l = 0; l < n; l++) {
        if (!is_max)
            acc[l] += x[l];
        else if (x[l] > acc[l])
            acc[l] = x[l];
    }
    for (int width = GLOBAL_POOL_LANES / 2; width > 0; width /= 2) {
        for (int l = 0; l < width; l++)
            acc[l] = is_max ? (acc[l + width] > acc[l] ? acc[l + width] : acc[l])
                            : acc[l] + acc[l + width];
    }
    return is_max || total == 0 ? acc[0] : acc[0] / (float)total;
}

#if defined(__x86_64__)
/* Returns hi > lo ? hi : lo lane by lane (is_max), or lo + hi: one step of
 * globalPoolFinish's folds on 8 lanes. */
__attribute__((target("avx2"), always_inline)) static inline __m256 foldAvx2(__m256 lo, __m256 hi,
                                                                           int is_max)
{
    return is_max ? _mm256_max_ps(hi, lo) : _mm256_add_ps(lo, hi);
}

/* Returns foldAvx2's result for 4 lanes. */
__attribute__((target("avx2"), always_inline)) static inline __m128 fold128(__m128 lo, __m128 hi,
                                                                           int is_max)
{
    return is_max ? _mm_max_ps(hi, lo) : _mm_add_ps(lo, hi);
}

/* vbGlobalPoolPlane with AVX2: the same lanes, tail and folds in
 * registers, so the same bits. _mm256_max_ps(v, acc) is v > acc ? v : acc,
 * as in the portable loop. A masked-off lane of the tail adds +0, which
 * leaves a sum unchanged: a sum that starts at +0 never becomes -0. */
__attribute__((target("avx2"))) static float globalPoolPlaneAvx2(const float *x, size_t n,
                                                                 int is_max)
{
    __m256 a[4];
    for (int k = 0; k < 4; k++)
        a[k] = _mm256_set1_ps(is_max ? -FLT_MAX : 0.0f);
    size_t j = 0;
    if (is_max) {
        for (; j + GLOBAL_POOL_LANES <= n; j += GLOBAL_POOL_LANES) {
            a[0] = _mm256_max_ps(_mm256_loadu_ps(x + j), a[0]);
            a[1] = _mm256_max_ps(_mm256_loadu_ps(x + j + 8), a[1]);
            a[2] = _mm256_max_ps(_mm256_loadu_ps(x + j + 16), a[2]);
            a[3] = _mm256_max_ps(_mm256_loadu_ps(x + j + 24), a[3]);
        }
    } else {
        for (; j + GLOBAL_POOL_LANES <= n; j += GLOBAL_POOL_LANES) {
            a[0] = _mm256_add_ps(_mm256_loadu_ps(x + j), a[0]);
            a[1] = _mm256_add_ps(_mm256_loadu_ps(x + j + 8), a[1]);
            a[2] = _mm256_add_ps(_mm256_loadu_ps(x + j + 16), a[2]);
            a[3] = _mm256_add_ps(_mm256_loadu_ps(x + j + 24), a[3]);
        }
    }

    /* the tail: lane l of the 32 takes x[j + l] while j + l < n */
    __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    for (int k = 0; k < 4 && j + (size_t)k * 8 < n; k++) {
        int left = (int)(n - j) - k * 8;
        __m256i mask = _mm256_cmpgt_epi32(_mm256_set1_epi32(left), lane);
        __m256 v = _mm256_maskload_ps(x + j + (size_t)k * 8, mask);
        if (is_max)
            a[k] = _mm256_blendv_ps(a[k], _mm256_max_ps(v, a[k]), _mm256_castsi256_ps(mask));
        else
            a[k] = _mm256_add_ps(v, a[k]);
    }

    /* fold 32 lanes to 1: halves of 16, 8, 4, 2 and 1 lanes */
    __m256 r = foldAvx2(foldAvx2(a[0], a[2], is_max), foldAvx2(a[1], a[3], is_max), is_max);
    __m128 q = fold128(_mm256_castps256_ps128(r), _mm256_extractf128_ps(r, 1), is_max);
    q = fold128(q, _mm_movehl_ps(q, q), is_max);
    q = fold128(q, _mm_shuffle_ps(q, q, 1), is_max);
    float result = _mm_cvtss_f32(q);
    return is_max || n == 0 ? result : result / (float)n;
}
#endif

/* The lanes combine in a fixed order, so the result does not depend on
 * threads. */
float vbGlobalPoolPlane(const float *x, size_t n, int is_max, int use_simd)
{
#if defined(__x86_64__)
    if (use_simd && __builtin_cpu_supports("avx2"))
        return globalPoolPlaneAvx2(x, n, is_max);
#endif
    (void)use_simd;
    float acc[GLOBAL_POOL_LANES];
    for (int l = 0; l < GLOBAL_POOL_LANES; l++)
        acc[l] = is_max ? -FLT_MAX : 0.0f;
    size_t j = 0;
    for (; j + GLOBAL_POOL_LANES <= n; j += GLOBAL_POOL_LANES) {
        if (is_max) {
            for (int l = 0; l < GLOBAL_POOL_LANES; l++)
                acc[l] = x[j + l] > acc[l] ? x[j + l] : acc[l];
        } else {
            for (int l = 0; l < GLOBAL_POOL_LANES; l++)
                acc[l] += x[j + l];
        }
    }
    return globalPoolFinish(acc, x + j, n - j, n, is_max);
}

/* Arguments of one poolRun call for poolTask and globalPoolTask. */
typedef struct PoolJob {
    const PoolParams *p;
    const VbWindowGeometry *g;
    const float *x;
    float *y;
    size_t in_plane, out_plane;
    const int64_t *ranges;
    int use_avx512;
    int use_simd;  /* global pools: vbGlobalPoolPlane may use AVX2 */
} PoolJob;

/* Pools planes [begin, end) to one value each. */
static void globalPoolTask(void *arg, size_t begin, size_t end)
{
    const PoolJob *job = arg;
    for (size_t i = begin; i < end; i++)
        job->y[i] = vbGlobalPoolPlane(job->x + i * job->in_plane, job->in_plane, job->p->is_max,
                                      job->use_simd);
}

/* Maximum number of row-maximum floats maxPlaneSeparable keeps on the stack. */
#define SEPARABLE_MAX_FLOATS 8192

/* Max-pools one plane y[OH][OW] from x[H][W] in two passes: each input row's
 * max over the kx taps, rowmax[H][OW], then each output's max over the ky
 * rows. This takes kh + kw comparisons per output instead of kh * kw and
 * reads the same taps, so the result is identical to poolPlane's. Needs
 * H * OW <= SEPARABLE_MAX_FLOATS. */
static void maxPlaneSeparable(const float *x, float *y, const VbWindowGeometry *g,
                              const int64_t *ranges, int use_avx512)
{
    float rowmax[SEPARABLE_MAX_FLOATS];
    int64_t oh = g->out[0], ow = g->out[1], h = g->in[0], w = g->in[1];
    int64_t sx = g->stride[1];

    /* rowmax[iy][ox] = max over the kx taps of row iy inside the image */
    for (int64_t iy = 0; iy < h; iy++) {
        float *r = rowmax + iy * ow;
        const float *xrow = x + iy * w;
        for (int64_t ox = 0; ox < ow; ox++)
            r[ox] = -FLT_MAX;
        for (int64_t kx = 0; kx < g->kernel[1]; kx++) {
            int64_t off = kx * g->dilation[1] - g->pad_begin[1];
            int64_t lo = ranges[2 * kx], hi = ranges[2 * kx + 1];
            if (lo < hi)
                maxRun(r + lo, xrow + lo * sx + off, hi - lo, sx, use_avx512);
        }
    }

    /* y[oy][ox] = max over the ky rows inside the image */
    for (int64_t oy = 0; oy < oh; oy++) {
        float *yrow = y + oy * ow;
        for (int64_t ox = 0; ox < ow; ox++)
            yrow[ox] = -FLT_MAX;
        int64_t ybase = oy * g->stride[0] - g->pad_begin[0];
        for (int64_t ky = 0; ky < g->kernel[0]; ky++) {
            int64_t iy = ybase + ky * g->dilation[0];
            if (iy < 0 || iy >= h)
                continue;
            maxRun(yrow, rowmax + iy * ow, ow, 1, use_avx512);
        }
    }
}

/* Pools planes [begin, end) through the window. */
static void poolTask(void *arg, size_t begin, size_t end)
{
    const PoolJob *job = arg;
    const VbWindowGeometry *g = job->g;
    int separable = job->p->is_max && g->kernel[0] > 1 && g->kernel[1] > 1 &&
                    g->in[0] * g->out[1] <= SEPARABLE_MAX_FLOATS;
    for (size_t i = begin; i < end; i++) {
        if (separable)
            maxPlaneSeparable(job->x + i * job->in_plane, job->y + i * job->out_plane, g,
                              job->ranges, job->use_avx512);
        else
            poolPlane(job->x + i * job->in_plane, job->y + i * job->out_plane, g, job->ranges,
                      job->p->is_max, job->p->count_include_pad, job->use_avx512);
    }
}

static vb_status poolRun(const void *params, const vb_tensor *const *in, int n_in,
                         vb_tensor *const *out, int n_out, const VbOpRunContext *ctx, vb_error *err)
{
    const PoolParams *p = params;
    VbWindowGeometry g;
    vb_status st = poolShape(p, in, n_in, &g, err);
    if (st != VB_OK)
        return st;
    const vb_tensor *x = in[0];
    const float *xd = x->data;
    float *yd = out[0]->data;
    int64_t planes = x->dims[0] * x->dims[1];
    int threads = ctx->threads < 1 ? 1 : ctx->threads;

    if (p->global) {
        size_t plane = 1;
        for (int i = 2; i < x->rank; i++)
            plane *= (size_t)x->dims[i];
        PoolJob job = {p, &g, xd, yd, plane, 0, NULL, 0, !ctx->disable_simd};
        vbParallelRanges(threads, (size_t)planes, globalPoolTask, &job);
        return VB_OK;
    }

    /* ranges[2*kx], ranges[2*kx+1]: the outputs whose tap kx lies inside a row */
    if (ctx->workspace == NULL || ctx->workspace_bytes < rangeBytes(&g))
        return vbErrorSet(err, VB_ERR_INTERNAL, "%s node '%s': workspace of %zu bytes is below the %zu bytes needed",
                          p->window.op, p->window.node, ctx->workspace_bytes, rangeBytes(&g));
    int64_t *ranges = ctx->workspace;
    for (int64_t kx = 0; kx < g.kernel[1]; kx++)
        vbWindowValidRange(g.out[1], g.in[1], g.stride[1], kx * g.dilation[1] - g.pad_begin[1],
                           &ranges[2 * kx], &ranges[2 * kx + 1]);

    size_t in_plane = (size_t)(g.in[0] * g.in[1]), out_plane = (size_t)(g.out[0] * g.out[1]);
    PoolJob job = {p, &g, xd, yd, in_plane, out_plane, ranges, 0, !ctx->disable_simd};
#if defined(__x86_64__)
    job.use_avx512 = !ctx->disable_simd && __builtin_cpu_supports("avx512f");
#endif
    vbParallelRanges(threads, (size_t)planes, poolTask, &job);
    return VB_OK;
}

static const VbOpDef maxPoolOp = {
    .op_type = "MaxPool", .min_opset = 1, .prepare = maxPoolPrepare, .infer = poolInfer,
    .run = poolRun, .release = poolRelease,
};

static const VbOpDef averagePoolOp = {
    .op_type = "AveragePool", .min_opset = 1, .prepare = avgPoolPrepare, .infer = poolInfer,
    .run = poolRun, .release = poolRelease,
};

static const VbOpDef globalMaxPoolOp = {
    .op_type = "GlobalMaxPool", .min_opset = 1, .prepare = globalMaxPrepare, .infer = poolInfer,
    .run = poolRun, .release = poolRelease,
};

static const VbOpDef globalAveragePoolOp = {
    .op_type = "GlobalAveragePool", .min_opset = 1, .prepare = globalAvgPrepare,
    .infer = poolInfer, .run = poolRun, .release = poolRelease,
};

const VbOpDef *const vbOpsPool[] = {&maxPoolOp, &averagePoolOp, &globalMaxPoolOp,
                                    &globalAveragePoolOp, NULL};
