/* Winograd F(2x2, 3x3): weight, input and output transforms around 16 packed GEMMs per block of output tiles. */
#include "kernels/winograd.h"

#include <string.h>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include "kernels/shuffle_avx2.h"
#include "kernels/parallel.h"

/* Transform points per tile: a 4x4 input patch gives a 2x2 output tile. */
#define WG_POINTS 16
/* Bytes the V and O blocks of one task may take together, so that they
 * stay in a core's L2 cache between the transforms and the GEMMs. */
#define WG_BLOCK_BYTES (512u * 1024u)

int vbWinogradSuits(const VbWinogradShape *s)
{
    return s->channels >= 16 && s->out_channels >= 16 && s->out_height >= 4 &&
           s->out_width >= 4;
}

size_t vbWinogradPackedFloats(int out_channels, int channels)
{
    return WG_POINTS * vbSgemmPackedASize(out_channels, channels);
}

void vbWinogradPackWeights(int out_channels, int channels, const float *w, float *scratch,
                           float *packed)
{
    size_t per_point = vbSgemmPackedASize(out_channels, channels);
    size_t plane = (size_t)out_channels * (size_t)channels;
    for (int point = 0; point < WG_POINTS; point++) {
        int row = point / 4, col = point % 4;

        /* scratch [M][C]: element (row, col) of G g G^T for every filter */
        for (size_t f = 0; f < plane; f++) {
            const float *g = w + f * 9;
            float t[3];  /* row `row` of G g, one value per column of g */
            for (int j = 0; j < 3; j++) {
                float g0 = g[j], g1 = g[3 + j], g2 = g[6 + j];
                t[j] = row == 0   ? g0
                     : row == 1   ? 0.5f * (g0 + g1 + g2)
                     : row == 2   ? 0.5f * (g0 - g1 + g2)
                                  : g2;
            }
            scratch[f] = col == 0   ? t[0]
                       : col == 1   ? 0.5f * (t[0] + t[1] + t[2])
                       : col == 2   ? 0.5f * (t[0] - t[1] + t[2])
                                    : t[2];
        }
        vbSgemmPackA(out_channels, channels, scratch, (size_t)channels, 1, packed + (size_t)point * per_point);
    }
}

/* Returns the most tiles per block for s: a multiple of 32 whose V [16][C][TB]
 * and O [16][M][TB] blocks fit WG_BLOCK_BYTES, between 32 and 256. It
 * depends on the shape only, never on the thread count. */
static int blockTiles(const VbWinogradShape *s)
{
    size_t per_tile = (size_t)WG_POINTS * ((size_t)s->channels + (size_t)s->out_channels) * sizeof(float);
    size_t tiles = WG_BLOCK_BYTES / per_tile / 32 * 32;
    if (tiles < 32)
        tiles = 32;
    if (tiles > 256)
        tiles = 256;
    return (int)tiles;
}

static size_t align64(size_t n)
{
    return (n + 63) & ~(size_t)63;
}

/* Float counts of the parts of one thread's scratch. */
typedef struct WgScratch {
    size_t v, o, rows, out, gemm_bytes;
} WgScratch;

static WgScratch scratchParts(const VbWinogradShape *s)
{
    WgScratch part;
    size_t tb = (size_t)blockTiles(s);
    size_t tiles_w = ((size_t)s->out_width + 1) / 2;
    part.v = WG_POINTS * (size_t)s->channels * tb;
    part.o = WG_POINTS * (size_t)s->out_channels * tb + 16;  /* slack for outputTransform16 */
    part.rows = 4 * (2 * tiles_w + 2) + 32;                    /* slack for inputTransform16 */
    part.out = 2 * 2 * tb;
    part.gemm_bytes = vbSgemmThreadWorkspace((int)tb, s->channels);
    return part;
}

size_t vbWinogradThreadWorkspace(const VbWinogradShape *s)
{
    WgScratch part = scratchParts(s);
    return align64(part.v * sizeof(float)) + align64(part.o * sizeof(float)) +
           align64(part.rows * sizeof(float)) + align64(part.out * sizeof(float)) +
           align64(part.gemm_bytes);
}

/* Arguments of one vbWinogradConv call for blockTask. */
typedef struct WgJob {
    const VbWinogradShape *s;
    const float *packed, *x;
    float *y;
    const VbSgemmEpilogue *ep;
    VbKernelIsa isa;
    int disable_simd, block_tiles, tiles_w, tiles;
    size_t per_thread;
    char *workspace;
} WgJob;

/* Copies input rows 2*ty - pad_top + i (i < 4), columns 2*tx0 - pad_left
 * onwards, into rows [4][width] with zeros outside the image. */
static void fillRows(const WgJob *job, int channel, int ty, int tx0, int width, float *rows)
{
    const VbWinogradShape *s = job->s;
    const float *plane = job->x + (size_t)channel * (size_t)s->height * (size_t)s->width;
    int x0 = 2 * tx0 - s->pad_left;
    int lo = x0 < 0 ? -x0 : 0;
    int hi = s->width - x0 < width ? s->width - x0 : width;
    if (lo > width)
        lo = width;
    for (int i = 0; i < 4; i++) {
        float *row = rows + (size_t)i * (size_t)width;
        int iy = 2 * ty - s->pad_top + i;
        if (iy < 0 || iy >= s->height || hi <= lo) {
            memset(row, 0, sizeof(float) * (size_t)width);
            continue;
        }
        memset(row, 0, sizeof(float) * (size_t)lo);
        memcpy(row + lo, plane + (size_t)iy * (size_t)s->width + x0 + lo, sizeof(float) * (size_t)(hi - lo));
        if (hi < width)
            memset(row + hi, 0, sizeof(float) * (size_t)(width - hi));
    }
}

#if defined(__x86_64__)
/* The AVX-512 form of inputTransform for tiles j .. j + 15 (those below
 * count): columns 2j + k of each row are split into even and odd lanes with
 * two permutes per pair of loads. The loads may read up to 32 floats past
 * row 3's end, so rows needs that much slack. */
__attribute__((target("avx512f"))) static void inputTransform16(const float *rows, int width,
                                                                int j, int count, float *v,
                                                                size_t point_stride)
{
    int n = count - j < 16 ? count - j : 16;
    __mmask16 m = (__mmask16)((1u << n) - 1u);
    __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    __m512i odd = _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
    __m512 d[4][4];  /* d[r][k]: column 2j + k of row r for 16 tiles */
    for (int r = 0; r < 4; r++) {
        const float *row = rows + (size_t)r * (size_t)width + 2 * j;
        __m512 lo = _mm512_loadu_ps(row), hi = _mm512_loadu_ps(row + 16);
        __m512 lo2 = _mm512_loadu_ps(row + 2), hi2 = _mm512_loadu_ps(row + 18);
        d[r][0] = _mm512_permutex2var_ps(lo, even, hi);
        d[r][1] = _mm512_permutex2var_ps(lo, odd, hi);
        d[r][2] = _mm512_permutex2var_ps(lo2, even, hi2);
        d[r][3] = _mm512_permutex2var_ps(lo2, odd, hi2);
    }
    for (int i = 0; i < 4; i++) {
        /* row i of B^T d, then its columns combined the same way */
        __m512 t[4];
        for (int k = 0; k < 4; k++) {
            t[k] = i == 0   ? _mm512_sub_ps(d[0][k], d[2][k])
                 : i == 1   ? _mm512_add_ps(d[1][k], d[2][k])
                 : i == 2   ? _mm512_sub_ps(d[2][k], d[1][k])
                            : _mm512_sub_ps(d[1][k], d[3][k]);
        }
        float *out = v + (size_t)(4 * i) * point_stride + j;
        _mm512_mask_storeu_ps(out, m, _mm512_sub_ps(t[0], t[2]));
        _mm512_mask_storeu_ps(out + point_stride, m, _mm512_add_ps(t[1], t[2]));
        _mm512_mask_storeu_ps(out + 2 * point_stride, m, _mm512_sub_ps(t[2], t[1]));
        _mm512_mask_storeu_ps(out + 3 * point_stride, m, _mm512_sub_ps(t[1], t[3]));
    }
}

/* The AVX-512 form of outputTransform for tiles j .. j + 15 (those below
 * count). The loads may read up to 15 floats past the last point's row, so
 * o needs that much slack. */
__attribute__((target("avx512f"))) static void outputTransform16(const float *o,
                                                                 size_t point_stride, int j,
                                                                 int count, float *out0,
                                                                 float *out1)
{
    int n = count - j < 16 ? count - j : 16;
    __mmask16 first = n >= 8 ? (__mmask16)0xFFFF : (__mmask16)((1u << (2 * n)) - 1u);
    __mmask16 second = n >= 16 ? (__mmask16)0xFFFF
                     : n > 8   ? (__mmask16)((1u << (2 * (n - 8))) - 1u)
                               : (__mmask16)0;
    __m512 s0[4], s1[4];
    for (int k = 0; k < 4; k++) {
        __m512 m0 = _mm512_loadu_ps(o + (size_t)k * point_stride + j);
        __m512 m1 = _mm512_loadu_ps(o + (size_t)(4 + k) * point_stride + j);
        __m512 m2 = _mm512_loadu_ps(o + (size_t)(8 + k) * point_stride + j);
        __m512 m3 = _mm512_loadu_ps(o + (size_t)(12 + k) * point_stride + j);
        s0[k] = _mm512_add_ps(_mm512_add_ps(m0, m1), m2);
        s1[k] = _mm512_sub_ps(_mm512_sub_ps(m1, m2), m3);
    }
    __m512 y00 = _mm512_add_ps(_mm512_add_ps(s0[0], s0[1]), s0[2]);
    __m512 y01 = _mm512_sub_ps(_mm512_sub_ps(s0[1], s0[2]), s0[3]);
    __m512 y10 = _mm512_add_ps(_mm512_add_ps(s1[0], s1[1]), s1[2]);
    __m512 y11 = _mm512_sub_ps(_mm512_sub_ps(s1[1], s1[2]), s1[3]);

    /* interleave: output columns 2i and 2i + 1 of tile i */
    __m512i lo = _mm512_setr_epi32(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
    __m512i hi = _mm512_setr_epi32(8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
    _mm512_mask_storeu_ps(out0 + 2 * j, first, _mm512_permutex2var_ps(y00, lo, y01));
    _mm512_mask_storeu_ps(out0 + 2 * j + 16, second, _mm512_permutex2var_ps(y00, hi, y01));
    _mm512_mask_storeu_ps(out1 + 2 * j, first, _mm512_permutex2var_ps(y10, lo, y11));
    _mm512_mask_storeu_ps(out1 + 2 * j + 16, second, _mm512_permutex2var_ps(y10, hi, y11));
}

/* Returns the mask of the first n lanes (n clamped to [0, 8]), for
 * _mm256_maskstore_ps. */
__attribute__((target("avx2"))) static __m256i firstLanes(int n)
{
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

/* Stores the lanes of v that mask selects at to: all 8 with a plain store
 * when full is set, because masked stores cost more on AMD Zen 3. */
__attribute__((target("avx2"))) static inline void storeLanes(float *to, __m256i mask, int full,
                                                              __m256 v)
{
    if (full)
        _mm256_storeu_ps(to, v);
    else
        _mm256_maskstore_ps(to, mask, v);
}

/* The AVX2 form of inputTransform for tiles j .. j + 7 (those below count).
 * The loads may read up to 18 floats past row 3's end, so rows needs that
 * much slack. */
__attribute__((target("avx2"))) static void inputTransform8(const float *rows, int width, int j,
                                                            int count, float *v,
                                                            size_t point_stride)
{
    __m256i m = firstLanes(count - j);
    int full = count - j >= 8;
    __m256 d[4][4];  /* d[r][k]: column 2j + k of row r for 8 tiles */
    for (int r = 0; r < 4; r++) {
        const float *row = rows + (size_t)r * (size_t)width + 2 * j;
        vbSplitPairsAvx2(row, &d[r][0], &d[r][1]);
        vbSplitPairsAvx2(row + 2, &d[r][2], &d[r][3]);
    }
    for (int i = 0; i < 4; i++) {
        /* row i of B^T d, then its columns combined the same way */
        __m256 t[4];
        for (int k = 0; k < 4; k++) {
            t[k] = i == 0   ? _mm256_sub_ps(d[0][k], d[2][k])
                 : i == 1   ? _mm256_add_ps(d[1][k], d[2][k])
                 : i == 2   ? _mm256_sub_ps(d[2][k], d[1][k])
                            : _mm256_sub_ps(d[1][k], d[3][k]);
        }
        float *out = v + (size_t)(4 * i) * point_stride + j;
        storeLanes(out, m, full, _mm256_sub_ps(t[0], t[2]));
        storeLanes(out + point_stride, m, full, _mm256_add_ps(t[1], t[2]));
        storeLanes(out + 2 * point_stride, m, full, _mm256_sub_ps(t[2], t[1]));
        storeLanes(out + 3 * point_stride, m, full, _mm256_sub_ps(t[1], t[3]));
    }
}

/* The AVX2 form of outputTransform for tiles j .. j + 7 (those below
 * count). The loads may read up to 7 floats past the last point's row,
 * which the slack of o covers. */
__attribute__((target("avx2"))) static void outputTransform8(const float *o, size_t point_stride,
                                                             int j, int count, float *out0,
                                                             float *out1)
{
    int n = count - j < 8 ? count - j : 8;
    __m256i first = firstLanes(2 * n), second = firstLanes(2 * n - 8);
    __m256 s0[4], s1[4];
    for (int k = 0; k < 4; k++) {
        __m256 m0 = _mm256_loadu_ps(o + (size_t)k * point_stride + j);
        __m256 m1 = _mm256_loadu_ps(o + (size_t)(4 + k) * point_stride + j);
        __m256 m2 = _mm256_loadu_ps(o + (size_t)(8 + k) * point_stride + j);
        __m256 m3 = _mm256_loadu_ps(o + (size_t)(12 + k) * point_stride + j);
        s0[k] = _mm256_add_ps(_mm256_add_ps(m0, m1), m2);
        s1[k] = _mm256_sub_ps(_mm256_sub_ps(m1, m2), m3);
    }
    __m256 y00 = _mm256_add_ps(_mm256_add_ps(s0[0], s0[1]), s0[2]);
    __m256 y01 = _mm256_sub_ps(_mm256_sub_ps(s0[1], s0[2]), s0[3]);
    __m256 y10 = _mm256_add_ps(_mm256_add_ps(s1[0], s1[1]), s1[2]);
    __m256 y11 = _mm256_sub_ps(_mm256_sub_ps(s1[1], s1[2]), s1[3]);

    /* interleave: unpack pairs within 128-bit halves, then join the halves */
    __m256 a = _mm256_unpacklo_ps(y00, y01), b = _mm256_unpackhi_ps(y00, y01);
    __m256 c = _mm256_unpacklo_ps(y10, y11), d = _mm256_unpackhi_ps(y10, y11);
    storeLanes(out0 + 2 * j, first, n >= 4, _mm256_permute2f128_ps(a, b, 0x20));
    storeLanes(out0 + 2 * j + 8, second, n == 8, _mm256_permute2f128_ps(a, b, 0x31));
    storeLanes(out1 + 2 * j, first, n >= 4, _mm256_permute2f128_ps(c, d, 0x20));
    storeLanes(out1 + 2 * j + 8, second, n == 8, _mm256_permute2f128_ps(c, d, 0x31));
}
#endif

/* Writes V = B^T d B for `count` neighbouring tiles whose 4x4 patches d
 * start at columns 0, 2, 4, ... of rows [4][width]. Point p of tile j goes
 * to v[p * point_stride + j]. */
static void inputTransform(const float *rows, int width, int count, float *v, size_t point_stride,
                           VbKernelIsa isa)
{
    const float *r0 = rows, *r1 = rows + width, *r2 = rows + 2 * width, *r3 = rows + 3 * width;
    int j = 0;
#if defined(__x86_64__)
    if (isa == VB_KERNEL_ISA_AVX512) {
        for (; j < count; j += 16)
            inputTransform16(rows, width, j, count, v, point_stride);
    } else if (isa == VB_KERNEL_ISA_AVX2) {
        for (; j < count; j += 8)
            inputTransform8(rows, width, j, count, v, point_stride);
    }
#else
    (void)isa;
#endif
    for (; j < count; j++) {
        const float *a = r0 + 2 * j, *b = r1 + 2 * j, *c = r2 + 2 * j, *d = r3 + 2 * j;

        /* B^T d: rows d0 - d2, d1 + d2, d2 - d1, d1 - d3 */
        float t0[4], t1[4], t2[4], t3[4];
        for (int k = 0; k < 4; k++) {
            t0[k] = a[k] - c[k];
            t1[k] = b[k] + c[k];
            t2[k] = c[k] - b[k];
            t3[k] = b[k] - d[k];
        }

        /* (B^T d) B: the same combination of the columns */
        const float *t[4] = {t0, t1, t2, t3};
        for (int i = 0; i < 4; i++) {
            float *out = v + (size_t)(4 * i) * point_stride + j;
            out[0] = t[i][0] - t[i][2];
            out[point_stride] = t[i][1] + t[i][2];
            out[2 * point_stride] = t[i][2] - t[i][1];
            out[3 * point_stride] = t[i][1] - t[i][3];
        }
    }
}


/* Writes the 2x2 output tiles Y = A^T O A of `count` neighbouring tiles as
 * two output rows out0 and out1 of 2 * count floats. Point p of tile j is
 * o[p * point_stride + j]. */
static void outputTransform(const float *o, size_t point_stride, int count, float *out0, float *out1,
                            VbKernelIsa isa)
{
    int j = 0;
#if defined(__x86_64__)
    if (isa == VB_KERNEL_ISA_AVX512) {
        for (; j < count; j += 16)
            outputTransform16(o, point_stride, j, count, out0, out1);
    } else if (isa == VB_KERNEL_ISA_AVX2) {
        for (; j < count; j += 8)
            outputTransform8(o, point_stride, j, count, out0, out1);
    }
#else
    (void)isa;
#endif
    for (; j < count; j++) {
        float m[WG_POINTS];
        for (int p = 0; p < WG_POINTS; p++)
            m[p] = o[(size_t)p * point_stride + j];

        /* A^T O: rows m0 + m1 + m2 and m1 - m2 - m3 */
        float s0[4], s1[4];
        for (int k = 0; k < 4; k++) {
            s0[k] = m[k] + m[4 + k] + m[8 + k];
            s1[k] = m[4 + k] - m[8 + k] - m[12 + k];
        }

        /* (A^T O) A: the same combination of the columns */
        out0[2 * j] = s0[0] + s0[1] + s0[2];
        out0[2 * j + 1] = s0[1] - s0[2] - s0[3];
        out1[2 * j] = s1[0] + s1[1] + s1[2];
        out1[2 * j + 1] = s1[1] - s1[2] - s1[3];
    }
}

/* Computes the output tiles of block b: input transform into V, one GEMM
 * per point into O, output transform with bias and activation into y. */
static void blockTask(void *arg, int64_t b, int worker)
{
    const WgJob *job = arg;
    const VbWinogradShape *s = job->s;
    const VbSgemmEpilogue *ep = job->ep;
    int tb = job->block_tiles, tiles_w = job->tiles_w;
    int t0 = (int)b * tb;
    int count = job->tiles - t0 < tb ? job->tiles - t0 : tb;
    WgScratch part = scratchParts(s);
    char *cursor = job->workspace + job->per_thread * (size_t)worker;
    float *v = (float *)cursor;
    cursor += align64(part.v * sizeof(float));
    float *o = (float *)cursor;
    cursor += align64(part.o * sizeof(float));
    float *rows = (float *)cursor;
    cursor += align64(part.rows * sizeof(float));
    float *out = (float *)cursor;
    cursor += align64(part.out * sizeof(float));
    void *gemm_ws = cursor;
    size_t v_stride = (size_t)s->channels * (size_t)tb;      /* floats between points of V */
    size_t o_stride = (size_t)s->out_channels * (size_t)tb;  /* floats between points of O */

    /* V [16][C][tb]: the block's tiles, one tile-row segment at a time. */
    for (int t = t0; t < t0 + count;) {
        int ty = t / tiles_w, tx0 = t % tiles_w;
        int len = tiles_w - tx0 < t0 + count - t ? tiles_w - tx0 : t0 + count - t;
        int width = 2 * len + 2;
        for (int c = 0; c < s->channels; c++) {
            fillRows(job, c, ty, tx0, width, rows);
            inputTransform(rows, width, len, v + (size_t)c * (size_t)tb + (size_t)(t - t0), v_stride,
                           job->isa);
        }
        t += len;
    }

    /* O[p] (M x count) = U[p] (M x C) * V[p] (C x count) for each point p. */
    VbOpRunContext serial = {1, job->disable_simd, NULL, 0};
    size_t per_point = vbSgemmPackedASize(s->out_channels, s->channels);
    for (int p = 0; p < WG_POINTS; p++) {
        VbSgemmMatrix src = {v + (size_t)p * v_stride, (size_t)tb, 1, NULL};
        vbSgemm(s->out_channels, count, s->channels, job->packed + (size_t)p * per_point,
                vbSgemmPackMatrix, &src, o + (size_t)p * o_stride, (size_t)tb, NULL, &serial, gemm_ws,
                part.gemm_bytes);
    }

    /* Y: two output rows per tile-row segment, activated, then clipped to OH x OW. */
    int epilogue = ep && (ep->bias || ep->act != VB_ACT_NONE);
    size_t out_plane = (size_t)s->out_height * (size_t)s->out_width;
    for (int t = t0; t < t0 + count;) {
        int ty = t / tiles_w, tx0 = t % tiles_w;
        int len = tiles_w - tx0 < t0 + count - t ? tiles_w - tx0 : t0 + count - t;
        int oy = 2 * ty, ox = 2 * tx0;
        int cols = s->out_width - ox < 2 * len ? s->out_width - ox : 2 * len;
        int out_rows = s->out_height - oy < 2 ? s->out_height - oy : 2;
        float *out0 = out, *out1 = out + 2 * tb;
        for (int m = 0; m < s->out_channels; m++) {
            outputTransform(o + (size_t)m * (size_t)tb + (size_t)(t - t0), o_stride, len, out0, out1,
                            job->isa);
            float *dst = job->y + (size_t)m * out_plane + (size_t)oy * (size_t)s->out_width + ox;
            float *from[2] = {out0, out1};
            if (epilogue) {
                /* both output rows (out1 is 2 * tb floats after out0) in one call */
                float row_bias[2] = {ep->bias ? ep->bias[m] : 0.0f, ep->bias ? ep->bias[m] : 0.0f};
                vbActivationApplyRows(out0, 2 * (size_t)tb, out_rows, (size_t)cols, row_bias,
                                      ep->act, ep->alpha, ep->beta, !job->disable_simd);
            }
            for (int r = 0; r < out_rows; r++)
                memcpy(dst + (size_t)r * (size_t)s->out_width, from[r], sizeof(float) * (size_t)cols);
        }
        t += len;
    }
}

void vbWinogradConv(const VbWinogradShape *s, const float *packed, const float *x, float *y,
                    const VbSgemmEpilogue *ep, const VbOpRunContext *ctx, void *workspace,
                    size_t workspace_bytes)
{
    int tiles_h = (s->out_height + 1) / 2, tiles_w = (s->out_width + 1) / 2;
    int tiles = tiles_h * tiles_w;

    /* Small outputs make few blocks, so they get an even number (two at
     * least, from 32 tiles on) of nearly equal size for two threads to
     * share evenly. Larger ones keep blocks of the largest size, a multiple
     * of the GEMM's 32 columns. The split depends on the shape only. */
    int block_tiles = blockTiles(s);
    int blocks = (tiles + block_tiles - 1) / block_tiles;
    if (blocks < 8) {
        if (tiles >= 32 && blocks % 2 != 0)
            blocks++;
        block_tiles = (tiles + blocks - 1) / blocks;
    }
    WgJob job = {s, packed, x, y, ep, vbKernelIsa(ctx->disable_simd), ctx->disable_simd, block_tiles,
                 tiles_w, tiles, vbWinogradThreadWorkspace(s), workspace};
    blocks = (tiles + job.block_tiles - 1) / job.block_tiles;
    int threads = ctx->threads < 1 ? 1 : ctx->threads;
    if ((size_t)threads > workspace_bytes / job.per_thread)
        threads = workspace_bytes / job.per_thread < 1 ? 1 : (int)(workspace_bytes / job.per_thread);
    vbParallelFor(threads, blocks, blockTask, &job);
}
