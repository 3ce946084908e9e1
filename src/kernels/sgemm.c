/* Packed SGEMM: operand packing, AVX-512F / AVX2+FMA / portable micro-kernels, the threaded driver and activation epilogues. */
#include "kernels/parallel.h"
#include "kernels/sgemm.h"

#include <math.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define VB_X86 1
#else
#define VB_X86 0
#endif

/* Largest nr of any layout: a tile never has more columns. */
#define MAX_NR 32

/* Bias and activation that a micro-kernel applies to its tile before the
 * store, on the last K block only: bias[r] (NULL: none) is added to row r. */
typedef struct TileEpilogue {
    const float *bias;
    VbActivation act;
    float alpha, beta;
    int use_simd;
} TileEpilogue;

/* Computes one mr x nr tile of C from kc steps of packed A (kc x mr) and
 * packed B (kc x nr). Writes rows < mv and columns < nv of c; accumulate
 * adds the tile to what c contains instead of overwriting it. te, when not
 * NULL, is applied to the sum before it is stored. */
typedef void (*MicroKernel)(int kc, const float *a, const float *b, float *c, size_t ldc, int mv,
                            int nv, int accumulate, const TileEpilogue *te);

/* The instruction sets the kernels may use; tests lower it to reach the
 * AVX2 and portable layouts on an AVX-512 machine. */
static VbSgemmIsa isaLimit = VB_SGEMM_ISA_AUTO;

void vbSgemmSetIsa(VbSgemmIsa isa)
{
    isaLimit = isa;
}

static int cpuHasAvx512(void)
{
#if VB_X86
    return isaLimit == VB_SGEMM_ISA_AUTO && __builtin_cpu_supports("avx512f");
#else
    return 0;
#endif
}

static int cpuHasAvx2(void)
{
#if VB_X86
    return isaLimit != VB_SGEMM_ISA_PORTABLE && __builtin_cpu_supports("avx2") &&
           __builtin_cpu_supports("fma");
#else
    return 0;
#endif
}

VbKernelIsa vbKernelIsa(int disable_simd)
{
    if (disable_simd)
        return VB_KERNEL_ISA_PORTABLE;
    if (cpuHasAvx512())
        return VB_KERNEL_ISA_AVX512;
    return cpuHasAvx2() ? VB_KERNEL_ISA_AVX2 : VB_KERNEL_ISA_PORTABLE;
}

VbSgemmLayout vbSgemmLayout(void)
{
    VbSgemmLayout layout = {8, 32};
    if (!cpuHasAvx512() && cpuHasAvx2()) {
        layout.mr = 6;
        layout.nr = 16;
    }
    return layout;
}

size_t vbSgemmPackedASize(int m, int k)
{
    int mr = vbSgemmLayout().mr;
    size_t panels = ((size_t)m + (size_t)mr - 1) / (size_t)mr;
    return panels * (size_t)mr * (size_t)k;
}

void vbSgemmPackA(int m, int k, const float *a, size_t row_stride, size_t col_stride,
                  float *packed)
{
    int mr = vbSgemmLayout().mr;
    for (int i0 = 0; i0 < m; i0 += mr) {
        /* packed panel: [k][mr] */
        for (int p = 0; p < k; p++) {
            for (int i = 0; i < mr; i++) {
                int row = i0 + i;
                *packed++ = row < m ? a[(size_t)row * row_stride + (size_t)p * col_stride] : 0.0f;
            }
        }
    }
}

void vbSgemmPackMatrix(const void *src, int k0, int kc, int n0, int nc, int nr, float *dst)
{
    const VbSgemmMatrix *b = src;
    if (b->row_scale != NULL) {
        /* scaled rows, panel by panel, each product rounded once as in a Mul */
        for (int j0 = 0; j0 < nc; j0 += nr) {
            int width = nc - j0 < nr ? nc - j0 : nr;
            for (int p = 0; p < kc; p++, dst += nr) {
                const float *row = b->data + (size_t)(k0 + p) * b->row_stride +
                                   (size_t)(n0 + j0) * b->col_stride;
                float scale = b->row_scale[k0 + p];
                for (int j = 0; j < width; j++)
                    dst[j] = row[(size_t)j * b->col_stride] * scale;
                for (int j = width; j < nr; j++)
                    dst[j] = 0.0f;
            }
        }
        return;
    }
    if (b->col_stride == 1) {
        /* Row by row, so the reads form one sequential stream: the
         * hardware prefetcher follows one stream, not one per panel. */
        size_t panel_floats = (size_t)kc * (size_t)nr;
        for (int p = 0; p < kc; p++) {
            const float *row = b->data + (size_t)(k0 + p) * b->row_stride + (size_t)n0;
            float *to = dst + (size_t)p * (size_t)nr;
            for (int j0 = 0; j0 < nc; j0 += nr, to += panel_floats) {
                int width = nc - j0 < nr ? nc - j0 : nr;
                if (width == MAX_NR && nr == MAX_NR) {
                    memcpy(to, row + j0, sizeof(float) * MAX_NR);
                } else if (width == 16 && nr == 16) {
                    memcpy(to, row + j0, sizeof(float) * 16);
                } else {
                    memcpy(to, row + j0, sizeof(float) * (size_t)width);
                    memset(to + width, 0, sizeof(float) * (size_t)(nr - width));
                }
            }
        }
        return;
    }
    for (int j0 = 0; j0 < nc; j0 += nr) {
        int width = nc - j0 < nr ? nc - j0 : nr;
        /* dst panel: [kc][nr] */
        for (int p = 0; p < kc; p++) {
            const float *row = b->data + (size_t)(k0 + p) * b->row_stride +
                               (size_t)(n0 + j0) * b->col_stride;
            if (b->col_stride == 1) {
                memcpy(dst, row, sizeof(float) * (size_t)width);
            } else {
                for (int j = 0; j < width; j++)
                    dst[j] = row[(size_t)j * b->col_stride];
            }
            for (int j = width; j < nr; j++)
                dst[j] = 0.0f;
            dst += nr;
        }
    }
}

/* Computes a ROWS x 8 block of a portable tile: rows r0.. of packed A
 * (panel width mr) times columns j0..j0+7 of packed B (panel width nr). The
 * accumulator block is small enough to stay in registers. */
#define VB_PORTABLE_BLOCK(ROWS)                                                      \
    static void portableBlock##ROWS(int kc, const float *a, const float *b, int mr,  \
                                    int nr, float acc[ROWS][8])                      \
    {                                                                                \
        for (int i = 0; i < ROWS; i++)                                               \
            for (int j = 0; j < 8; j++)                                              \
                acc[i][j] = 0.0f;                                                    \
        for (int p = 0; p < kc; p++, a += mr, b += nr) {                             \
            for (int i = 0; i < ROWS; i++)                                           \
                for (int j = 0; j < 8; j++)                                          \
                    acc[i][j] += a[i] * b[j];                                        \
        }                                                                            \
    }
VB_PORTABLE_BLOCK(4)
VB_PORTABLE_BLOCK(2)
#undef VB_PORTABLE_BLOCK

/* Portable micro-kernel for any layout (mr a multiple of 2, nr of 8); used
 * when SIMD is off or missing. Works in blocks of 4 (or 2) rows by 8
 * columns, each summed over all of kc in order. */
static void kernelPortable(int kc, const float *a, const float *b, float *c, size_t ldc, int mv,
                           int nv, int accumulate, const TileEpilogue *te, int mr, int nr)
{
    int block_rows = mr % 4 == 0 ? 4 : 2;
    for (int i0 = 0; i0 < mv; i0 += block_rows) {
        for (int j0 = 0; j0 < nv; j0 += 8) {
            float acc[4][8];
            if (block_rows == 4)
                portableBlock4(kc, a + i0, b + j0, mr, nr, acc);
            else
                portableBlock2(kc, a + i0, b + j0, mr, nr, acc);
            int rows = mv - i0 < block_rows ? mv - i0 : block_rows;
            int cols = nv - j0 < 8 ? nv - j0 : 8;
            for (int i = 0; i < rows; i++) {
                float *out = c + (size_t)(i0 + i) * ldc + (size_t)j0;
                for (int j = 0; j < cols; j++)
                    out[j] = accumulate ? out[j] + acc[i][j] : acc[i][j];
            }
        }
    }
    if (te != NULL)
        vbActivationApplyRows(c, ldc, mv, (size_t)nv, te->bias, te->act, te->alpha, te->beta,
                              te->use_simd);
}

#if VB_X86
/* Stores row R of an 8x32 AVX-512 tile (accumulators cR0, cR1) to c when
 * R < mv, through masks m0 and m1, adding what c contains when accumulate
 * is set. A macro, so the accumulators stay in registers. */
#define VB_STORE_ROW_AVX512(R)                                                     \
    if (R < mv) {                                                                  \
        float *out = c + (size_t)(R) * ldc;                                        \
        __m512 lo = c##R##0, hi = c##R##1;                                         \
        if (accumulate) {                                                          \
            lo = _mm512_add_ps(lo, _mm512_maskz_loadu_ps(m0, out));                \
            hi = _mm512_add_ps(hi, _mm512_maskz_loadu_ps(m1, out + 16));           \
        }                                                                          \
        _mm512_mask_storeu_ps(out, m0, lo);                                        \
        _mm512_mask_storeu_ps(out + 16, m1, hi);                                   \
    }

/* 8x32 AVX-512F micro-kernel: 16 zmm accumulators, two B loads and eight A
 * broadcasts per step of k. */
__attribute__((target("avx512f"))) static void kernelAvx512(int kc, const float *a,
                                                            const float *b, float *c, size_t ldc,
                                                            int mv, int nv, int accumulate,
                                                            const TileEpilogue *te)
{
    __m512 c00 = _mm512_setzero_ps(), c01 = _mm512_setzero_ps();
    __m512 c10 = _mm512_setzero_ps(), c11 = _mm512_setzero_ps();
    __m512 c20 = _mm512_setzero_ps(), c21 = _mm512_setzero_ps();
    __m512 c30 = _mm512_setzero_ps(), c31 = _mm512_setzero_ps();
    __m512 c40 = _mm512_setzero_ps(), c41 = _mm512_setzero_ps();
    __m512 c50 = _mm512_setzero_ps(), c51 = _mm512_setzero_ps();
    __m512 c60 = _mm512_setzero_ps(), c61 = _mm512_setzero_ps();
    __m512 c70 = _mm512_setzero_ps(), c71 = _mm512_setzero_ps();
    for (int p = 0; p < kc; p++) {
        __m512 b0 = _mm512_loadu_ps(b), b1 = _mm512_loadu_ps(b + 16);
        __m512 av;
#define VB_ROW(r)                                   \
    av = _mm512_set1_ps(a[r]);                      \
    c##r##0 = _mm512_fmadd_ps(av, b0, c##r##0);     \
    c##r##1 = _mm512_fmadd_ps(av, b1, c##r##1);
        VB_ROW(0) VB_ROW(1) VB_ROW(2) VB_ROW(3) VB_ROW(4) VB_ROW(5) VB_ROW(6) VB_ROW(7)
#undef VB_ROW
        a += 8;
        b += 32;
    }

    /* Store with masks for a partial tile. */
    __mmask16 m0 = nv >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << nv) - 1u);
    __mmask16 m1 = nv >= 32 ? (__mmask16)0xFFFF
                 : nv > 16  ? (__mmask16)((1u << (nv - 16)) - 1u)
                            : (__mmask16)0;
    VB_STORE_ROW_AVX512(0) VB_STORE_ROW_AVX512(1) VB_STORE_ROW_AVX512(2)
    VB_STORE_ROW_AVX512(3) VB_STORE_ROW_AVX512(4) VB_STORE_ROW_AVX512(5)
    VB_STORE_ROW_AVX512(6) VB_STORE_ROW_AVX512(7)
    if (te != NULL)
        vbActivationApplyRows(c, ldc, mv, (size_t)nv, te->bias, te->act, te->alpha, te->beta,
                              te->use_simd);
}

/* Sets out[i] = 1 + exp(-v[i]) for i < N, 8 floats each. exp(-v) = 2^t
 * with t = -v log2(e) = n + f, n an integer and |f| <= 1/2. 2^f comes from
 * the degree-5 polynomial of exp2Avx512, and 2^n is built in the exponent
 * field. v is clamped to [-88, 87.3] first, which keeps n in [-126, 127].
 * A NaN v gives NaN. Each step runs on all N vectors before the next, so
 * N chains of dependent operations overlap. N is a constant up to 12. */
__attribute__((target("avx2,fma"), always_inline)) static inline void onePlusExpNegManyAvx2(
    const __m256 *v, __m256 *out, const int N)
{
    const __m256 minus_log2e = _mm256_set1_ps(-1.44269504088896341f);
    /* Adding 1.5 * 2^23 + 127 rounds t to an integer and leaves n + 127 in
     * the low mantissa bits, which the shift below moves to the exponent. */
    const __m256 magic = _mm256_set1_ps(12583039.0f);
    __m256 shifted[12], f[12], p[12];
    #pragma GCC unroll 12
    for (int i = 0; i < N; i++) {
        __m256 clamped = _mm256_min_ps(_mm256_set1_ps(87.3f), _mm256_max_ps(_mm256_set1_ps(-88.0f), v[i]));
        shifted[i] = _mm256_fmadd_ps(clamped, minus_log2e, magic);
        f[i] = _mm256_fmsub_ps(clamped, minus_log2e, _mm256_sub_ps(shifted[i], magic));
    }
    #pragma GCC unroll 12
    for (int i = 0; i < N; i++)
        p[i] = _mm256_fmadd_ps(_mm256_set1_ps(1.327646780e-3f), f[i], _mm256_set1_ps(9.675540961e-3f));
    #pragma GCC unroll 12
    for (int i = 0; i < N; i++)
        p[i] = _mm256_fmadd_ps(p[i], f[i], _mm256_set1_ps(5.550713465e-2f));
    #pragma GCC unroll 12
    for (int i = 0; i < N; i++)
        p[i] = _mm256_fmadd_ps(p[i], f[i], _mm256_set1_ps(2.402212024e-1f));
    #pragma GCC unroll 12
    for (int i = 0; i < N; i++)
        p[i] = _mm256_fmadd_ps(p[i], f[i], _mm256_set1_ps(6.931469440e-1f));
    #pragma GCC unroll 12
    for (int i = 0; i < N; i++)
        p[i] = _mm256_fmadd_ps(p[i], f[i], _mm256_set1_ps(1.000000119f));
    #pragma GCC unroll 12
    for (int i = 0; i < N; i++) {
        __m256i bits = _mm256_slli_epi32(_mm256_castps_si256(shifted[i]), 23);
        out[i] = _mm256_add_ps(_mm256_set1_ps(1.0f), _mm256_mul_ps(p[i], _mm256_castsi256_ps(bits)));
    }
}

/* Returns 1 + exp(-v) for 8 floats (onePlusExpNegManyAvx2 for one vector). */
__attribute__((target("avx2,fma"))) static __m256 onePlusExpNegAvx2(__m256 v)
{
    __m256 out;
    onePlusExpNegManyAvx2(&v, &out, 1);
    return out;
}

/* Returns 1 / (1 + exp(-v)) for 8 floats. A true division: on AMD Zen 3 it
 * was faster than a reciprocal estimate with a Newton step, which adds two
 * operations to the FMA ports these functions keep busy. */
__attribute__((target("avx2,fma"))) static __m256 sigmoidAvx2(__m256 v)
{
    return _mm256_div_ps(_mm256_set1_ps(1.0f), onePlusExpNegAvx2(v));
}

/* Returns v / (1 + exp(-v)), SiLU, for 8 floats, with one division. */
__attribute__((target("avx2,fma"))) static __m256 siluAvx2(__m256 v)
{
    return _mm256_div_ps(v, onePlusExpNegAvx2(v));
}

/* Four vectors for silu4Avx2, passed by value so that callers never take
 * the address of an accumulator (which would keep it in memory). */
typedef struct Vec4Avx2 {
    __m256 v[4];
} Vec4Avx2;

/* Returns the SiLU of the four vectors of x, with the operations of
 * siluAvx2 on four chains side by side. One vector's SiLU is a chain of
 * about twenty dependent operations. Run one vector after another, as a
 * tile epilogue was, the chains cost about twice their throughput bound on
 * AMD Zen 3, because the out-of-order window overlapped only a few. */
__attribute__((target("avx2,fma"), always_inline)) static inline Vec4Avx2 silu4Avx2(Vec4Avx2 x)
{
    Vec4Avx2 den;
    onePlusExpNegManyAvx2(x.v, den.v, 4);
    #pragma GCC unroll 4
    for (int i = 0; i < 4; i++)
        x.v[i] = _mm256_div_ps(x.v[i], den.v[i]);
    return x;
}

/* Declares the constants that VB_ACT_SWITCH_AVX2 uses, for an activation
 * with parameters ALPHA and BETA. */
#define VB_ACT_CONSTANTS_AVX2(ALPHA, BETA)                                              \
    __m256 zero = _mm256_setzero_ps(), unit = _mm256_set1_ps(1.0f);                     \
    __m256 six = _mm256_set1_ps(6.0f), half = _mm256_set1_ps(0.5f);                     \
    __m256 va = _mm256_set1_ps(ALPHA), vb = _mm256_set1_ps(BETA);                       \
    (void)zero, (void)unit, (void)six, (void)half, (void)va, (void)vb;

/* Runs APPLY(EXPR) for the EXPR that maps v, with bias added, to activation
 * ACT of v. max(a, v) and min(a, v) return their second operand v when v is
 * NaN, as activateOne does. max(v, 0) returns 0 for NaN, as Relu does. */
#define VB_ACT_SWITCH_AVX2(ACT, APPLY)                                                   \
    switch (ACT) {                                                                       \
    case VB_ACT_NONE: APPLY(v) break;                                                    \
    case VB_ACT_RELU: APPLY(_mm256_max_ps(v, zero)) break;                               \
    case VB_ACT_SIGMOID: APPLY(sigmoidAvx2(v)) break;                                    \
    case VB_ACT_SILU: APPLY(siluAvx2(v)) break;                                          \
    case VB_ACT_HARDSWISH:                                                               \
        APPLY(_mm256_mul_ps(v, _mm256_min_ps(unit, _mm256_max_ps(zero, _mm256_add_ps(    \
                                   _mm256_div_ps(v, six), half)))))                      \
        break;                                                                           \
    case VB_ACT_HARDSIGMOID:                                                             \
        APPLY(_mm256_min_ps(unit, _mm256_max_ps(zero, _mm256_fmadd_ps(va, v, vb))))      \
        break;                                                                           \
    case VB_ACT_LEAKYRELU:                                                               \
        APPLY(_mm256_blendv_ps(v, _mm256_mul_ps(v, va), _mm256_cmp_ps(v, zero, _CMP_LT_OQ))) \
        break;                                                                           \
    case VB_ACT_CLIP: APPLY(_mm256_min_ps(vb, _mm256_max_ps(va, v))) break;              \
    }

/* Adds row R of c, when R < mv, to the accumulators cR0 and cR1 of a 6x16
 * AVX2 tile: plain loads when full (nv == 16), else masked by m0 and m1.
 * A macro, so the accumulators stay in registers. */
#define VB_ADD_ROW_AVX2(R)                                                         \
    if (R < mv) {                                                                  \
        const float *in = c + (size_t)(R) * ldc;                                   \
        if (full) {                                                                \
            c##R##0 = _mm256_add_ps(c##R##0, _mm256_loadu_ps(in));                 \
            c##R##1 = _mm256_add_ps(c##R##1, _mm256_loadu_ps(in + 8));             \
        } else {                                                                   \
            c##R##0 = _mm256_add_ps(c##R##0, _mm256_maskload_ps(in, m0));          \
            c##R##1 = _mm256_add_ps(c##R##1, _mm256_maskload_ps(in + 8, m1));      \
        }                                                                          \
    }

/* Adds row R's bias to cR0 and cR1 and maps each through EXPR of v. */
#define VB_EPILOGUE_ROW_AVX2(R, EXPR)                                              \
    {                                                                              \
        __m256 row_bias = _mm256_set1_ps(te->bias != NULL && R < mv ? te->bias[R] : 0.0f); \
        __m256 v = _mm256_add_ps(c##R##0, row_bias);                               \
        c##R##0 = (EXPR);                                                          \
        v = _mm256_add_ps(c##R##1, row_bias);                                      \
        c##R##1 = (EXPR);                                                          \
    }
#define VB_EPILOGUE_AVX2(EXPR)                                                     \
    VB_EPILOGUE_ROW_AVX2(0, EXPR) VB_EPILOGUE_ROW_AVX2(1, EXPR)                    \
    VB_EPILOGUE_ROW_AVX2(2, EXPR) VB_EPILOGUE_ROW_AVX2(3, EXPR)                    \
    VB_EPILOGUE_ROW_AVX2(4, EXPR) VB_EPILOGUE_ROW_AVX2(5, EXPR)

/* Stores row R of a 6x16 AVX2 tile to c when R < mv: plain stores when
 * full, else through lane masks m0 and m1, because masked stores cost more
 * on AMD Zen 3. */
#define VB_STORE_ROW_AVX2(R)                                                       \
    if (R < mv) {                                                                  \
        float *out = c + (size_t)(R) * ldc;                                        \
        if (full) {                                                                \
            _mm256_storeu_ps(out, c##R##0);                                        \
            _mm256_storeu_ps(out + 8, c##R##1);                                    \
        } else {                                                                   \
            _mm256_maskstore_ps(out, m0, c##R##0);                                 \
            _mm256_maskstore_ps(out + 8, m1, c##R##1);                             \
        }                                                                          \
    }

/* Declares the lane masks of a 6x16 AVX2 tile with nv columns: lane j of m0
 * is set when j < nv, of m1 when j + 8 < nv. */
#define VB_TILE_MASKS_AVX2                                                         \
    __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);                      \
    __m256i m0 = _mm256_cmpgt_epi32(_mm256_set1_epi32(nv), lane);                  \
    __m256i m1 = _mm256_cmpgt_epi32(_mm256_set1_epi32(nv - 8), lane);              \
    int full = nv == 16;

/* Ends an AVX2 micro-kernel: adds c when accumulate is set, applies te in
 * registers when it is not NULL, and stores the tile. */
#define VB_FINISH_TILE_AVX2                                                        \
    if (accumulate) {                                                              \
        VB_ADD_ROW_AVX2(0) VB_ADD_ROW_AVX2(1) VB_ADD_ROW_AVX2(2)                   \
        VB_ADD_ROW_AVX2(3) VB_ADD_ROW_AVX2(4) VB_ADD_ROW_AVX2(5)                   \
    }                                                                              \
    if (te != NULL && te->act == VB_ACT_SILU) {                                    \
        /* bias, then SiLU on four accumulators at a time */                       \
        VB_EPILOGUE_AVX2(v)                                                        \
        Vec4Avx2 rows01 = silu4Avx2((Vec4Avx2){{c00, c01, c10, c11}});            \
        Vec4Avx2 rows23 = silu4Avx2((Vec4Avx2){{c20, c21, c30, c31}});            \
        Vec4Avx2 rows45 = silu4Avx2((Vec4Avx2){{c40, c41, c50, c51}});            \
        c00 = rows01.v[0], c01 = rows01.v[1], c10 = rows01.v[2], c11 = rows01.v[3]; \
        c20 = rows23.v[0], c21 = rows23.v[1], c30 = rows23.v[2], c31 = rows23.v[3]; \
        c40 = rows45.v[0], c41 = rows45.v[1], c50 = rows45.v[2], c51 = rows45.v[3]; \
    } else if (te != NULL) {                                                       \
        VB_ACT_CONSTANTS_AVX2(te->alpha, te->beta)                                 \
        VB_ACT_SWITCH_AVX2(te->act, VB_EPILOGUE_AVX2)                              \
    }                                                                              \
    VB_STORE_ROW_AVX2(0) VB_STORE_ROW_AVX2(1) VB_STORE_ROW_AVX2(2)                 \
    VB_STORE_ROW_AVX2(3) VB_STORE_ROW_AVX2(4) VB_STORE_ROW_AVX2(5)

/* Computes a kernelAvx2 tile of up to R rows, R being 2, 4 or 6. The
 * FMAs of rows R and later are left out, and their accumulators stay zero
 * and are not stored. B's rows are b_step floats apart. With PACK set, each
 * row of B is also stored to pack, 16 floats per step, so that the packed
 * panel comes out of the first row panel's product. With SCALE set too,
 * row p is first multiplied by scale[p]. R, PACK and SCALE are constants
 * in the callers. */
__attribute__((target("avx2,fma"), always_inline)) static inline void kernelRowsAvx2(
    int kc, const float *a, const float *b, size_t b_step, const float *scale, float *pack,
    float *c, size_t ldc, int mv, int nv, int accumulate, const TileEpilogue *te, const int R,
    const int PACK, const int SCALE)
{
    __m256 c00 = _mm256_setzero_ps(), c01 = _mm256_setzero_ps();
    __m256 c10 = _mm256_setzero_ps(), c11 = _mm256_setzero_ps();
    __m256 c20 = _mm256_setzero_ps(), c21 = _mm256_setzero_ps();
    __m256 c30 = _mm256_setzero_ps(), c31 = _mm256_setzero_ps();
    __m256 c40 = _mm256_setzero_ps(), c41 = _mm256_setzero_ps();
    __m256 c50 = _mm256_setzero_ps(), c51 = _mm256_setzero_ps();
    for (int p = 0; p < kc; p++) {
        __m256 b0 = _mm256_loadu_ps(b), b1 = _mm256_loadu_ps(b + 8);
        if (PACK && SCALE) {
            __m256 row_scale = _mm256_broadcast_ss(scale + p);
            b0 = _mm256_mul_ps(b0, row_scale);
            b1 = _mm256_mul_ps(b1, row_scale);
        }
        if (PACK) {
            _mm256_storeu_ps(pack, b0);
            _mm256_storeu_ps(pack + 8, b1);
            pack += 16;
        }
        __m256 av;
#define VB_ROW(r)                                       \
    if (r < R) {                                        \
        av = _mm256_broadcast_ss(a + r);                \
        c##r##0 = _mm256_fmadd_ps(av, b0, c##r##0);     \
        c##r##1 = _mm256_fmadd_ps(av, b1, c##r##1);     \
    }
        VB_ROW(0) VB_ROW(1) VB_ROW(2) VB_ROW(3) VB_ROW(4) VB_ROW(5)
#undef VB_ROW
        a += 6;
        b += PACK ? b_step : 16;
    }
    VB_TILE_MASKS_AVX2
    VB_FINISH_TILE_AVX2
}

/* Computes a 6x16 tile with AVX2 and FMA in 12 ymm accumulators. A tile
 * of 4 rows or fewer, the last row panel of a matrix whose rows are not a multiple of
 * 6 (16, 32 or 64 filters), skips the FMAs of the missing rows. */
__attribute__((target("avx2,fma"))) static void kernelAvx2(int kc, const float *a, const float *b,
                                                          float *c, size_t ldc, int mv, int nv,
                                                          int accumulate, const TileEpilogue *te)
{
    if (mv > 4)
        kernelRowsAvx2(kc, a, b, 16, NULL, NULL, c, ldc, mv, nv, accumulate, te, 6, 0, 0);
    else if (mv > 2)
        kernelRowsAvx2(kc, a, b, 16, NULL, NULL, c, ldc, mv, nv, accumulate, te, 4, 0, 0);
    else
        kernelRowsAvx2(kc, a, b, 16, NULL, NULL, c, ldc, mv, nv, accumulate, te, 2, 0, 0);
}

/* Computes a kernelAvx2 tile for a full panel (nv == 16) of B read in
 * place, its rows b_stride floats apart, and writes the packed panel
 * [kc][16] to pack for the other row panels. The packing then costs only stores, which
 * the FMA-bound loop has room for. A scale that is not NULL multiplies row
 * p by scale[p] first, as vbSgemmPackMatrix does. */
__attribute__((target("avx2,fma"))) static void kernelPackAvx2(int kc, const float *a,
                                                              const float *b, size_t b_stride,
                                                              const float *scale, float *pack,
                                                              float *c, size_t ldc, int mv,
                                                              int accumulate,
                                                              const TileEpilogue *te)
{
    int rows = 2;
    if (mv > 4)
        rows = 6;
    else if (mv > 2)
        rows = 4;
    if (scale != NULL) {
        if (rows == 6)
            kernelRowsAvx2(kc, a, b, b_stride, scale, pack, c, ldc, mv, 16, accumulate, te, 6, 1, 1);
        else if (rows == 4)
            kernelRowsAvx2(kc, a, b, b_stride, scale, pack, c, ldc, mv, 16, accumulate, te, 4, 1, 1);
        else
            kernelRowsAvx2(kc, a, b, b_stride, scale, pack, c, ldc, mv, 16, accumulate, te, 2, 1, 1);
    } else if (rows == 6) {
        kernelRowsAvx2(kc, a, b, b_stride, NULL, pack, c, ldc, mv, 16, accumulate, te, 6, 1, 0);
    } else if (rows == 4) {
        kernelRowsAvx2(kc, a, b, b_stride, NULL, pack, c, ldc, mv, 16, accumulate, te, 4, 1, 0);
    } else {
        kernelRowsAvx2(kc, a, b, b_stride, NULL, pack, c, ldc, mv, 16, accumulate, te, 2, 1, 0);
    }
}

/* Widest last panel that narrowAvx2 computes: up to 4 columns, where the
 * 6x16 micro-kernel would leave at least three quarters of its lanes idle. */
#define NARROW_MAX_NV 4

/* Computes columns 0 .. N-1 of C for `rows` rows. A comes as packed row
 * panels of 6 rows, a_stride floats apart, each kc steps of 6 floats. B is
 * a packed panel b [kc][nr]. Vectors run along the rows: lane i of
 * acc[q][j] is row 6q + i of column j. Up to PMAX row panels run at once,
 * so PMAX * N FMA chains overlap. Each element's sums, the accumulate
 * step and te match kernelAvx2's. PMAX and N are constants. */
__attribute__((target("avx2,fma"), always_inline)) static inline void narrowPanelsAvx2(
    int kc, const float *a, size_t a_stride, const float *b, int nr, float *c, size_t ldc,
    int rows, int accumulate, const TileEpilogue *te, const int PMAX, const int N)
{
    __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    __m256i panel_lanes = _mm256_cmpgt_epi32(_mm256_set1_epi32(6), lane);
    int panels = (rows + 5) / 6;
    if (panels > PMAX)
        panels = PMAX;
    __m256 acc[8][NARROW_MAX_NV];
    #pragma GCC unroll 8
    for (int q = 0; q < PMAX; q++) {
        #pragma GCC unroll 4
        for (int j = 0; j < N; j++)
            acc[q][j] = _mm256_setzero_ps();
    }

    /* acc[q][j] += A panel q [p][0..5] * B [p][j], one step of k at a time */
    for (int p = 0; p < kc; p++) {
        __m256 bv[NARROW_MAX_NV];
        #pragma GCC unroll 4
        for (int j = 0; j < N; j++)
            bv[j] = _mm256_broadcast_ss(b + (size_t)p * (size_t)nr + j);
        #pragma GCC unroll 8
        for (int q = 0; q < PMAX; q++) {
            if (q < panels) {
                __m256 av = _mm256_maskload_ps(a + (size_t)q * a_stride + (size_t)p * 6, panel_lanes);
                #pragma GCC unroll 4
                for (int j = 0; j < N; j++)
                    acc[q][j] = _mm256_fmadd_ps(av, bv[j], acc[q][j]);
            }
        }
    }

    /* Add C, apply te and store, one column of one panel at a time. The
     * loops have constant bounds, so acc keeps constant indices and stays
     * in registers. */
    VB_ACT_CONSTANTS_AVX2(te != NULL ? te->alpha : 0.0f, te != NULL ? te->beta : 0.0f)
    #pragma GCC unroll 8
    for (int q = 0; q < PMAX; q++) {
        if (q >= panels)
            break;
        int mv = rows - 6 * q < 6 ? rows - 6 * q : 6;
        __m256i valid = _mm256_cmpgt_epi32(_mm256_set1_epi32(mv), lane);
        __m256 row_bias = _mm256_setzero_ps();
        if (te != NULL && te->bias != NULL)
            row_bias = _mm256_maskload_ps(te->bias + 6 * q, valid);
        #pragma GCC unroll 4
        for (int j = 0; j < N; j++) {
            float lanes[8];
            float *out = c + (size_t)(6 * q) * ldc + j;
            _mm256_storeu_ps(lanes, acc[q][j]);
            if (accumulate) {
                for (int i = 0; i < mv; i++)
                    lanes[i] = lanes[i] + out[(size_t)i * ldc];
            }
            if (te != NULL) {
                __m256 v = _mm256_add_ps(_mm256_loadu_ps(lanes), row_bias);
#define VB_NARROW_APPLY(EXPR) _mm256_storeu_ps(lanes, (EXPR));
                VB_ACT_SWITCH_AVX2(te->act, VB_NARROW_APPLY)
#undef VB_NARROW_APPLY
            }
            for (int i = 0; i < mv; i++)
                out[(size_t)i * ldc] = lanes[i];
        }
    }
}

/* Computes nv <= NARROW_MAX_NV columns of C for all m rows with
 * narrowPanelsAvx2, its row panels grouped so that about eight to twelve
 * accumulators run at once. a is the first row panel's step 0, a_stride
 * the floats between row panels, and te's bias (if any) starts at row 0. */
__attribute__((target("avx2,fma"))) static void narrowAvx2(int kc, const float *a, size_t a_stride,
                                                          const float *b, int nr, float *c,
                                                          size_t ldc, int m, int nv,
                                                          int accumulate, const TileEpilogue *te)
{
    for (int r0 = 0; r0 < m;) {
        TileEpilogue shifted;
        const TileEpilogue *group_te = te;
        if (te != NULL) {
            shifted = *te;
            if (te->bias != NULL)
                shifted.bias = te->bias + r0;
            group_te = &shifted;
        }
        const float *ag = a + (size_t)(r0 / 6) * a_stride;
        float *cg = c + (size_t)r0 * ldc;
        int rows = m - r0;
        int pmax;
        switch (nv) {
        case 1:
            narrowPanelsAvx2(kc, ag, a_stride, b, nr, cg, ldc, rows, accumulate, group_te, 8, 1);
            pmax = 8;
            break;
        case 2:
            narrowPanelsAvx2(kc, ag, a_stride, b, nr, cg, ldc, rows, accumulate, group_te, 6, 2);
            pmax = 6;
            break;
        case 3:
            narrowPanelsAvx2(kc, ag, a_stride, b, nr, cg, ldc, rows, accumulate, group_te, 4, 3);
            pmax = 4;
            break;
        default:
            narrowPanelsAvx2(kc, ag, a_stride, b, nr, cg, ldc, rows, accumulate, group_te, 3, 4);
            pmax = 3;
            break;
        }
        r0 += 6 * pmax;
    }
}

/* Row-pointer variants: B step p is the nv contiguous floats at rows[p],
 * read straight from the caller's tensor instead of a packed panel. */
typedef void (*RowsKernel)(int kc, const float *a, const float *const *rows, float *c, size_t ldc,
                           int mv, int nv, int accumulate, const TileEpilogue *te);

/* 8x32 AVX-512F micro-kernel reading B through row pointers; masked loads
 * keep a partial tile from touching memory past its nv columns. */
__attribute__((target("avx512f"))) static void rowsAvx512(int kc, const float *a,
                                                          const float *const *rows, float *c,
                                                          size_t ldc, int mv, int nv, int accumulate,
                                                          const TileEpilogue *te)
{
    __mmask16 m0 = nv >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << nv) - 1u);
    __mmask16 m1 = nv >= 32 ? (__mmask16)0xFFFF
                 : nv > 16  ? (__mmask16)((1u << (nv - 16)) - 1u)
                            : (__mmask16)0;
    int full = nv == 32;
    __m512 c00 = _mm512_setzero_ps(), c01 = _mm512_setzero_ps();
    __m512 c10 = _mm512_setzero_ps(), c11 = _mm512_setzero_ps();
    __m512 c20 = _mm512_setzero_ps(), c21 = _mm512_setzero_ps();
    __m512 c30 = _mm512_setzero_ps(), c31 = _mm512_setzero_ps();
    __m512 c40 = _mm512_setzero_ps(), c41 = _mm512_setzero_ps();
    __m512 c50 = _mm512_setzero_ps(), c51 = _mm512_setzero_ps();
    __m512 c60 = _mm512_setzero_ps(), c61 = _mm512_setzero_ps();
    __m512 c70 = _mm512_setzero_ps(), c71 = _mm512_setzero_ps();
    for (int p = 0; p < kc; p++) {
        const float *b = rows[p];
        __m512 b0, b1;
        if (full) {
            b0 = _mm512_loadu_ps(b);
            b1 = _mm512_loadu_ps(b + 16);
        } else {
            b0 = _mm512_maskz_loadu_ps(m0, b);
            b1 = _mm512_maskz_loadu_ps(m1, b + 16);
        }
        __m512 av;
#define VB_ROW(r)                                   \
    av = _mm512_set1_ps(a[r]);                      \
    c##r##0 = _mm512_fmadd_ps(av, b0, c##r##0);     \
    c##r##1 = _mm512_fmadd_ps(av, b1, c##r##1);
        VB_ROW(0) VB_ROW(1) VB_ROW(2) VB_ROW(3) VB_ROW(4) VB_ROW(5) VB_ROW(6) VB_ROW(7)
#undef VB_ROW
        a += 8;
    }
    VB_STORE_ROW_AVX512(0) VB_STORE_ROW_AVX512(1) VB_STORE_ROW_AVX512(2)
    VB_STORE_ROW_AVX512(3) VB_STORE_ROW_AVX512(4) VB_STORE_ROW_AVX512(5)
    VB_STORE_ROW_AVX512(6) VB_STORE_ROW_AVX512(7)
    if (te != NULL)
        vbActivationApplyRows(c, ldc, mv, (size_t)nv, te->bias, te->act, te->alpha, te->beta,
                              te->use_simd);
}
#undef VB_STORE_ROW_AVX512

/* 6x16 AVX2+FMA micro-kernel reading B through row pointers. */
__attribute__((target("avx2,fma"))) static void rowsAvx2(int kc, const float *a,
                                                        const float *const *rows, float *c,
                                                        size_t ldc, int mv, int nv, int accumulate,
                                                        const TileEpilogue *te)
{
    VB_TILE_MASKS_AVX2
    __m256 c00 = _mm256_setzero_ps(), c01 = _mm256_setzero_ps();
    __m256 c10 = _mm256_setzero_ps(), c11 = _mm256_setzero_ps();
    __m256 c20 = _mm256_setzero_ps(), c21 = _mm256_setzero_ps();
    __m256 c30 = _mm256_setzero_ps(), c31 = _mm256_setzero_ps();
    __m256 c40 = _mm256_setzero_ps(), c41 = _mm256_setzero_ps();
    __m256 c50 = _mm256_setzero_ps(), c51 = _mm256_setzero_ps();
    for (int p = 0; p < kc; p++) {
        const float *b = rows[p];
        __m256 b0, b1;
        if (full) {
            b0 = _mm256_loadu_ps(b);
            b1 = _mm256_loadu_ps(b + 8);
        } else {
            b0 = _mm256_maskload_ps(b, m0);
            b1 = _mm256_maskload_ps(b + 8, m1);
        }
        __m256 av;
#define VB_ROW(r)                                   \
    av = _mm256_broadcast_ss(a + r);                \
    c##r##0 = _mm256_fmadd_ps(av, b0, c##r##0);     \
    c##r##1 = _mm256_fmadd_ps(av, b1, c##r##1);
        VB_ROW(0) VB_ROW(1) VB_ROW(2) VB_ROW(3) VB_ROW(4) VB_ROW(5)
#undef VB_ROW
        a += 6;
    }
    VB_FINISH_TILE_AVX2
}
#undef VB_FINISH_TILE_AVX2
#undef VB_TILE_MASKS_AVX2
#undef VB_STORE_ROW_AVX2
#undef VB_EPILOGUE_AVX2
#undef VB_EPILOGUE_ROW_AVX2
#undef VB_ADD_ROW_AVX2
#endif

/* Largest K block of vbSgemm: VB_SGEMM_KC and a half, so that K of 144
 * (3x3 taps of 16 channels) runs as one block, not 128 + 16. */
#define KC_MAX (VB_SGEMM_KC + VB_SGEMM_KC / 2)

/* Returns the depth of vbSgemm's K blocks for k: the fewest blocks of at
 * most KC_MAX, all of one depth but the last, which may be shorter. A short
 * last block (K of 288 as 128 + 128 + 32) costs about as much tile
 * overhead as a full one. */
static int kBlock(int k)
{
    if (k <= KC_MAX)
        return k;
    int blocks = (k + KC_MAX - 1) / KC_MAX;
    return (k + blocks - 1) / blocks;
}

size_t vbSgemmThreadWorkspace(int n, int k)
{
    VbSgemmLayout layout = vbSgemmLayout();
    size_t kc = k > 0 ? (size_t)kBlock(k) : 0;
    size_t ncols = ((size_t)n + (size_t)layout.nr - 1) / (size_t)layout.nr * (size_t)layout.nr;
    if (ncols > VB_SGEMM_NC)
        ncols = VB_SGEMM_NC;
    size_t bytes = (kc ? kc : 1) * (ncols ? ncols : (size_t)layout.nr) * sizeof(float);
    return (bytes + 63) & ~(size_t)63;
}

/* Picks the SIMD micro-kernel for the current layout, or NULL for the
 * portable one. */
static MicroKernel pickKernel(VbSgemmLayout layout, int disable_simd)
{
#if VB_X86
    if (disable_simd)
        return NULL;
    if (layout.mr == 8 && layout.nr == 32 && cpuHasAvx512())
        return kernelAvx512;
    if (layout.mr == 6 && layout.nr == 16 && cpuHasAvx2())
        return kernelAvx2;
#endif
    (void)layout;
    (void)disable_simd;
    return NULL;
}

/* Fills *te from ep for a tile whose first row has bias (NULL: none) and
 * returns te, or returns NULL when the tile gets no epilogue: before the
 * last K block, or when ep adds neither bias nor activation. */
static const TileEpilogue *tileEpilogue(TileEpilogue *te, const VbSgemmEpilogue *ep,
                                        int last_block, const float *bias, int use_simd)
{
    if (!last_block || ep == NULL || (ep->bias == NULL && ep->act == VB_ACT_NONE))
        return NULL;
    TileEpilogue filled = {bias, ep->act, ep->alpha, ep->beta, use_simd};
    *te = filled;
    return te;
}

/* Column panels of a tile up to which sgemmTile loops over A's row panels
 * outside and B's column panels inside. */
#define FEW_PANELS 4

/* Arguments of one vbSgemm call for sgemmTile. */
typedef struct SgemmJob {
    int m, n, k, mr, nr, tile_panels, use_simd;
    int row_block;   /* rows of C per task, a multiple of mr */
    int col_tiles;   /* column tiles per row block */
    size_t ldc, per_thread;
    const float *packed_a;
    VbSgemmPackB pack_b;
    const void *b_src;
    float *c;
    const VbSgemmEpilogue *ep;
    MicroKernel kernel;
    void *workspace;
} SgemmJob;

/* One K block of a column tile in sgemmTile: the row block's packed A,
 * bias and C, and the packed B block bp [panels][kc][nr] of columns
 * n0 .. n0 + nc, for steps pc .. pc + kc of k. */
typedef struct SgemmBlock {
    const float *packed_a;
    float *bp;  /* written by row panel 0 when in_place is set */
    float *c;
    const float *bias;
    int m, nc, n0, pc, kc;
    const VbSgemmMatrix *in_place;  /* not NULL: full panels are packed by row panel 0 */
} SgemmBlock;

/* Runs the micro-kernel on rows ic .. ic + mr and block columns jr .. jr + nr
 * of one K block, with bias and activation after the last block. */
static void sgemmBlockTile(const SgemmJob *job, const SgemmBlock *blk, int ic, int jr)
{
    int k = job->k, mr = job->mr, nr = job->nr, kc = blk->kc, pc = blk->pc;
    float *bpanel = blk->bp + (size_t)(jr / nr) * (size_t)kc * (size_t)nr;
    const float *apanel = blk->packed_a + (size_t)(ic / mr) * (size_t)k * (size_t)mr +
                          (size_t)pc * (size_t)mr;
    float *ctile = blk->c + (size_t)ic * job->ldc + (size_t)(blk->n0 + jr);
    int nv = blk->nc - jr < nr ? blk->nc - jr : nr;
    int mv = blk->m - ic < mr ? blk->m - ic : mr;
    TileEpilogue te;
    const TileEpilogue *tile_ep = tileEpilogue(&te, job->ep, pc + kc == k,
                                               blk->bias ? blk->bias + ic : NULL, job->use_simd);
#if VB_X86
    if (blk->in_place != NULL && ic == 0 && nv == nr) {
        /* the first row panel packs this full panel as it reads it */
        const VbSgemmMatrix *b = blk->in_place;
        const float *from = b->data + (size_t)pc * b->row_stride + (size_t)(blk->n0 + jr);
        const float *scale = b->row_scale != NULL ? b->row_scale + pc : NULL;
        kernelPackAvx2(kc, apanel, from, b->row_stride, scale, bpanel, ctile, job->ldc,
                       mv, pc > 0, tile_ep);
        return;
    }
#endif
    if (job->kernel)
        job->kernel(kc, apanel, bpanel, ctile, job->ldc, mv, nv, pc > 0, tile_ep);
    else
        kernelPortable(kc, apanel, bpanel, ctile, job->ldc, mv, nv, pc > 0, tile_ep, mr, nr);
}

/* Computes tile t of a vbSgemm call, one column tile of one row block of C,
 * using worker's scratch. */
static void sgemmTile(void *arg, int64_t tile, int worker)
{
    const SgemmJob *job = arg;
    int n = job->n, k = job->k, mr = job->mr, nr = job->nr;
    int tile_panels = job->tile_panels, use_simd = job->use_simd;
    int t = (int)(tile % job->col_tiles), r0 = (int)(tile / job->col_tiles) * job->row_block;
    int m = job->m - r0 < job->row_block ? job->m - r0 : job->row_block;
    size_t ldc = job->ldc;
    /* the row block's rows of A and C, and its biases, as if it were all of them */
    const float *packed_a = job->packed_a + (size_t)r0 * (size_t)k;
    VbSgemmPackB pack_b = job->pack_b;
    const void *b_src = job->b_src;
    float *c = job->c + (size_t)r0 * ldc;
    const VbSgemmEpilogue *ep = job->ep;
    void *workspace = job->workspace;
    const float *bias = ep && ep->bias ? ep->bias + r0 : NULL;

    float *bp = (float *)((char *)workspace + job->per_thread * (size_t)worker);
    int epilogue = ep && (ep->bias || ep->act != VB_ACT_NONE);
    int n0 = t * tile_panels * nr;
    int nc = n - n0 < tile_panels * nr ? n - n0 : tile_panels * nr;

    /* k == 0: the product is zero. */
    if (k == 0) {
        for (int i = 0; i < m; i++)
            memset(c + (size_t)i * ldc + n0, 0, sizeof(float) * (size_t)nc);
    }

    /* C[m][n0..n0+nc) += A[m][pc..pc+kc) * Bp[kc][nc], one K block at a time. */
    int depth = kBlock(k);
    for (int pc = 0; pc < k; pc += depth) {
        int kc = k - pc < depth ? k - pc : depth;
        int last = (nc - 1) / nr * nr;

        /* Pack B: a plain matrix's full panels are packed by the first row
         * panel's kernel as it reads them (kernelPackAvx2), so only a
         * partial last panel is packed here. */
        const VbSgemmMatrix *in_place = NULL;
#if VB_X86
        if (job->kernel == kernelAvx2 && pack_b == vbSgemmPackMatrix &&
            ((const VbSgemmMatrix *)b_src)->col_stride == 1)
            in_place = b_src;
#endif
        if (in_place == NULL)
            pack_b(b_src, pc, kc, n0, nc, nr, bp);
        else if (nc - last < nr)
            pack_b(b_src, pc, kc, n0 + last, nc - last, nr,
                   bp + (size_t)(last / nr) * (size_t)kc * (size_t)nr);

        /* A last panel of few columns goes to narrowAvx2 after the others. */
        int narrow = 0;
#if VB_X86
        narrow = job->kernel == kernelAvx2 && nc - last <= NARROW_MAX_NV;
#endif
        int wide_nc = narrow ? last : nc;

        /* With few panels, each row panel of A runs over all of them in
         * turn, so A is read once per K block rather than once per panel.
         * A late layer's weights can be larger than the L2 cache. */
        SgemmBlock block = {packed_a, bp, c, bias, m, nc, n0, pc, kc, in_place};
        if ((wide_nc + nr - 1) / nr <= FEW_PANELS) {
            for (int ic = 0; ic < m; ic += mr)
                for (int jr = 0; jr < wide_nc; jr += nr)
                    sgemmBlockTile(job, &block, ic, jr);
        } else {
            for (int jr = 0; jr < wide_nc; jr += nr)
                for (int ic = 0; ic < m; ic += mr)
                    sgemmBlockTile(job, &block, ic, jr);
        }
#if VB_X86
        if (narrow) {
            TileEpilogue te;
            const TileEpilogue *narrow_ep = tileEpilogue(&te, ep, pc + kc == k, bias, use_simd);
            narrowAvx2(kc, packed_a + (size_t)pc * (size_t)mr, (size_t)k * (size_t)mr,
                       bp + (size_t)(last / nr) * (size_t)kc * (size_t)nr, nr,
                       c + (size_t)(n0 + last), ldc, m, nc - last, pc > 0, narrow_ep);
        }
#endif
    }
    if (k == 0 && epilogue)
        vbActivationApplyRows(c + n0, ldc, m, (size_t)nc, bias, ep->act, ep->alpha, ep->beta,
                              use_simd);
}

void vbSgemm(int m, int n, int k, const float *packed_a, VbSgemmPackB pack_b, const void *b_src,
             float *c, size_t ldc, const VbSgemmEpilogue *ep, const VbOpRunContext *ctx,
             void *workspace, size_t workspace_bytes)
{
    if (m <= 0 || n <= 0)
        return;
    VbSgemmLayout layout = vbSgemmLayout();
    int mr = layout.mr, nr = layout.nr;
    MicroKernel kernel = pickKernel(layout, ctx->disable_simd);
    int use_simd = !ctx->disable_simd;

    /* Split the N panels into one tile per thread, at most VB_SGEMM_NC wide. */
    size_t per_thread = vbSgemmThreadWorkspace(n, k);
    int max_threads = (int)(workspace_bytes / per_thread);
    int threads = ctx->threads < 1 ? 1 : ctx->threads;
    if (threads > max_threads)
        threads = max_threads < 1 ? 1 : max_threads;
    int panels = (n + nr - 1) / nr;
    /* Four tiles per thread, so a thread that starts late leaves work to the others. */
    int tile_parts = threads > 1 ? threads * 4 : 1;
    int tile_panels = (panels + tile_parts - 1) / tile_parts;
    if (tile_panels > VB_SGEMM_NC / nr)
        tile_panels = VB_SGEMM_NC / nr;
    int tiles = (panels + tile_panels - 1) / tile_panels;

    /* Few columns (a late layer's small image): split the rows as well, so
     * every thread gets work. Each row block packs its own B tiles, and
     * every element is computed as without the split. */
    int row_block = m, row_blocks = 1;
    int m_panels = (m + mr - 1) / mr;
    if (threads > 1 && panels <= 8 && m_panels >= 2 * threads) {
        tile_panels = panels <= VB_SGEMM_NC / nr ? panels : VB_SGEMM_NC / nr;
        tiles = (panels + tile_panels - 1) / tile_panels;
        row_blocks = 2 * threads;
        row_block = (m_panels + row_blocks - 1) / row_blocks * mr;
        row_blocks = (m + row_block - 1) / row_block;
    }
    int tasks = tiles * row_blocks;
    if (threads > tasks)
        threads = tasks;

    SgemmJob job = {m, n, k, mr, nr, tile_panels, use_simd, row_block, tiles, ldc, per_thread,
                    packed_a, pack_b, b_src, c, ep, kernel, workspace};
    vbParallelFor(threads, tasks, sgemmTile, &job);
}

/* With more rows of A than this, vbSgemmRows copies each B tile into a
 * packed panel first: the copy costs less than re-reading scattered rows
 * (which can also collide in cache sets) once per micro-panel of A. */
#define ROWS_DIRECT_MAX_M 32
/* Runs shorter than this are copied too: direct tiles cannot span runs, so
 * a short run would leave most lanes of its last tile idle. */
#define ROWS_DIRECT_MIN_RUN 64

size_t vbSgemmRowsThreadWorkspace(void)
{
    VbSgemmLayout layout = vbSgemmLayout();
    return KC_MAX * sizeof(const float *) + KC_MAX * (size_t)layout.nr * sizeof(float);
}

/* Picks the row-pointer micro-kernel for the current layout, or NULL when
 * only the portable path may run. */
static RowsKernel pickRowsKernel(VbSgemmLayout layout, int disable_simd)
{
#if VB_X86
    if (!disable_simd && layout.mr == 8 && layout.nr == 32 && cpuHasAvx512())
        return rowsAvx512;
    if (!disable_simd && layout.mr == 6 && layout.nr == 16 && cpuHasAvx2())
        return rowsAvx2;
#endif
    (void)layout;
    (void)disable_simd;
    return NULL;
}

/* Arguments of one vbSgemmRows call for rowsTile. */
typedef struct RowsJob {
    int m, k, mr, nr, copy, per_segment, use_simd;
    int segment_length;
    size_t segment_stride, ldc, per_thread;
    int64_t total;
    const float *packed_a, *x;
    const size_t *row_offsets;
    float *c;
    const VbSgemmEpilogue *ep;
    RowsKernel kernel;
    MicroKernel packed_kernel;
    void *workspace;
} RowsJob;

/* Computes C tile t of a vbSgemmRows call, using worker's scratch. */
static void rowsTile(void *arg, int64_t t, int worker)
{
    const RowsJob *job = arg;
    int m = job->m, k = job->k, mr = job->mr, nr = job->nr, copy = job->copy;
    int segment_length = job->segment_length, per_segment = job->per_segment;
    int use_simd = job->use_simd;
    size_t segment_stride = job->segment_stride, ldc = job->ldc;
    int64_t total = job->total;
    const float *packed_a = job->packed_a, *x = job->x;
    const size_t *row_offsets = job->row_offsets;
    float *c = job->c;
    const VbSgemmEpilogue *ep = job->ep;
    RowsKernel kernel = job->kernel;
    MicroKernel packed_kernel = job->packed_kernel;
    void *workspace = job->workspace;

    char *scratch = (char *)workspace + job->per_thread * (size_t)worker;
    const float **rows = (const float **)scratch;
    float *panel = (float *)(scratch + KC_MAX * sizeof(const float *));

    /* The tile's columns n0..n0+nv of C, as pieces that each lie in one
     * run: piece i is piece_len[i] columns at x + piece_src[i]. */
    int64_t n0;
    int nv, pieces = 0;
    size_t piece_src[MAX_NR];
    int piece_len[MAX_NR];
    if (copy) {
        n0 = t * nr;
        nv = total - n0 < nr ? (int)(total - n0) : nr;
        int64_t seg = n0 / segment_length, off = n0 % segment_length;
        for (int j = 0; j < nv; pieces++) {
            int len = (int)(segment_length - off < nv - j ? segment_length - off : nv - j);
            piece_src[pieces] = (size_t)seg * segment_stride + (size_t)off;
            piece_len[pieces] = len;
            j += len;
            seg++;
            off = 0;
        }
    } else {
        int64_t seg = t / per_segment;
        int offset = (int)(t % per_segment) * nr;
        n0 = seg * segment_length + offset;
        nv = segment_length - offset < nr ? segment_length - offset : nr;
        piece_src[0] = (size_t)seg * segment_stride + (size_t)offset;
    }
    float *ctile = c + n0;
    int epilogue = ep && (ep->bias || ep->act != VB_ACT_NONE);

    if (k == 0) {
        for (int i = 0; i < m; i++)
            memset(ctile + (size_t)i * ldc, 0, sizeof(float) * (size_t)nv);
    }

    /* C[m][tile] += A[m][pc..pc+kc) * B rows, one K block at a time. */
    int depth = kBlock(k);
    for (int pc = 0; pc < k; pc += depth) {
        int kc = k - pc < depth ? k - pc : depth;
        if (copy) {
            /* panel [kc][nr]: row p gathers the pieces of B row pc + p */
            float *dst = panel;
            for (int p = 0; p < kc; p++, dst += nr) {
                const float *src = x + row_offsets[pc + p];
                int j = 0;
                for (int i = 0; i < pieces; i++) {
                    const float *from = src + piece_src[i];
                    for (int q = 0; q < piece_len[i]; q++)
                        dst[j + q] = from[q];
                    j += piece_len[i];
                }
                for (; j < nr; j++)
                    dst[j] = 0.0f;
            }
        } else {
            for (int p = 0; p < kc; p++)
                rows[p] = x + piece_src[0] + row_offsets[pc + p];
        }
        for (int ic = 0; ic < m; ic += mr) {
            const float *apanel = packed_a + (size_t)(ic / mr) * (size_t)k * (size_t)mr +
                                  (size_t)pc * (size_t)mr;
            int mv = m - ic < mr ? m - ic : mr;
            float *cpanel = ctile + (size_t)ic * ldc;
            TileEpilogue te;
            const TileEpilogue *tile_ep =
                tileEpilogue(&te, ep, pc + kc == k, ep && ep->bias ? ep->bias + ic : NULL, use_simd);
            if (copy && packed_kernel)
                packed_kernel(kc, apanel, panel, cpanel, ldc, mv, nv, pc > 0, tile_ep);
            else if (copy)
                kernelPortable(kc, apanel, panel, cpanel, ldc, mv, nv, pc > 0, tile_ep, mr, nr);
            else
                kernel(kc, apanel, rows, cpanel, ldc, mv, nv, pc > 0, tile_ep);
        }
    }

    if (k == 0 && epilogue)
        vbActivationApplyRows(ctile, ldc, m, (size_t)nv, ep->bias, ep->act, ep->alpha, ep->beta,
                              use_simd);
}

void vbSgemmRows(int m, int segments, int segment_length, size_t segment_stride, int k,
                 const float *packed_a, const float *x, const size_t *row_offsets, float *c,
                 size_t ldc, const VbSgemmEpilogue *ep, const VbOpRunContext *ctx,
                 void *workspace, size_t workspace_bytes)
{
    if (m <= 0 || segments <= 0 || segment_length <= 0)
        return;
    VbSgemmLayout layout = vbSgemmLayout();
    int mr = layout.mr, nr = layout.nr;
    RowsKernel kernel = pickRowsKernel(layout, ctx->disable_simd);
    MicroKernel packed_kernel = pickKernel(layout, ctx->disable_simd);
    int use_simd = !ctx->disable_simd;
    size_t per_thread = vbSgemmRowsThreadWorkspace();
    int threads = ctx->threads < 1 ? 1 : ctx->threads;
    if ((size_t)threads > workspace_bytes / per_thread)
        threads = (int)(workspace_bytes / per_thread) < 1 ? 1 : (int)(workspace_bytes / per_thread);
    /* Direct reads need every tile inside one run; copying B into a packed
     * panel lets tiles span runs, so short runs waste no lanes. The portable
     * path always copies. */
    int copy = m > ROWS_DIRECT_MAX_M || segment_length < ROWS_DIRECT_MIN_RUN || kernel == NULL;
    int64_t total = (int64_t)segments * segment_length;
    int per_segment = (segment_length + nr - 1) / nr;
    int64_t tiles = copy ? (total + nr - 1) / nr : (int64_t)segments * per_segment;

    RowsJob job = {m, k, mr, nr, copy, per_segment, use_simd, segment_length, segment_stride, ldc,
                   per_thread, total, packed_a, x, row_offsets, c, ep, kernel, packed_kernel,
                   workspace};
    vbParallelFor(threads, tiles, rowsTile, &job);
}

/* Rounds n up to a multiple of 64. */
static size_t wideAlign(size_t n)
{
    return (n + 63) & ~(size_t)63;
}

size_t vbSgemmWideThreadWorkspace(int m)
{
    VbSgemmLayout layout = vbSgemmLayout();
    size_t rows = m < 1 ? 1 : (size_t)m;
    return wideAlign(KC_MAX * sizeof(const float *)) +
           wideAlign(KC_MAX * (size_t)layout.nr * sizeof(float)) +
           wideAlign(rows * (size_t)layout.nr * sizeof(float));
}

/* Arguments of one vbSgemmWide call for wideTile. */
typedef struct WideJob {
    int m, k, mr, nr, copy, use_simd, row_length;
    size_t row_stride, ldc, per_thread;
    int64_t total;
    const float *packed_a, *x;
    const size_t *row_offsets;
    float *c;
    const VbSgemmEpilogue *ep;
    RowsKernel kernel;
    MicroKernel packed_kernel;
    void *workspace;
} WideJob;

/* Computes wide columns t*nr.. of a vbSgemmWide call into the worker's
 * staging tile, then stores the columns that are real outputs. */
static void wideTile(void *arg, int64_t t, int worker)
{
    const WideJob *job = arg;
    int m = job->m, k = job->k, mr = job->mr, nr = job->nr;
    size_t row_stride = job->row_stride;
    const float *x = job->x;
    const size_t *row_offsets = job->row_offsets;
    const VbSgemmEpilogue *ep = job->ep;

    char *scratch = (char *)job->workspace + job->per_thread * (size_t)worker;
    const float **rows = (const float **)scratch;
    float *panel = (float *)(scratch + wideAlign(KC_MAX * sizeof(const float *)));
    float *stage = panel + KC_MAX * (size_t)nr;
    int64_t n0 = t * nr;
    int nv = job->total - n0 < nr ? (int)(job->total - n0) : nr;
    int epilogue = ep && (ep->bias || ep->act != VB_ACT_NONE);

    if (k == 0)
        memset(stage, 0, sizeof(float) * (size_t)m * (size_t)nr);

    /* stage [m][nr] += A[m][pc..pc+kc) * B[pc..pc+kc)[n0..n0+nv), one K block at a time */
    int depth = kBlock(k);
    for (int pc = 0; pc < k; pc += depth) {
        int kc = k - pc < depth ? k - pc : depth;
        if (job->copy) {
            /* panel [kc][nr]: row p is nv contiguous floats of B row pc + p */
            float *dst = panel;
            for (int p = 0; p < kc; p++, dst += nr) {
                const float *src = x + row_offsets[pc + p] + n0;
                if (nv == MAX_NR && nr == MAX_NR) {
                    memcpy(dst, src, sizeof(float) * MAX_NR);
                } else {
                    memcpy(dst, src, sizeof(float) * (size_t)nv);
                    memset(dst + nv, 0, sizeof(float) * (size_t)(nr - nv));
                }
            }
        } else {
            for (int p = 0; p < kc; p++)
                rows[p] = x + row_offsets[pc + p] + n0;
        }
        for (int ic = 0; ic < m; ic += mr) {
            const float *apanel = job->packed_a + (size_t)(ic / mr) * (size_t)k * (size_t)mr +
                                  (size_t)pc * (size_t)mr;
            int mv = m - ic < mr ? m - ic : mr;
            float *spanel = stage + (size_t)ic * (size_t)nr;
            TileEpilogue te;
            const TileEpilogue *tile_ep = tileEpilogue(&te, ep, pc + kc == k,
                                                       ep && ep->bias ? ep->bias + ic : NULL,
                                                       job->use_simd);
            if (!job->copy)
                job->kernel(kc, apanel, rows, spanel, (size_t)nr, mv, nv, pc > 0, tile_ep);
            else if (job->packed_kernel)
                job->packed_kernel(kc, apanel, panel, spanel, (size_t)nr, mv, nv, pc > 0, tile_ep);
            else
                kernelPortable(kc, apanel, panel, spanel, (size_t)nr, mv, nv, pc > 0, tile_ep, mr,
                               nr);
        }
    }

    /* k == 0: bias and activation on the zeroed tile. */
    if (k == 0 && epilogue)
        vbActivationApplyRows(stage, (size_t)nr, m, (size_t)nv, ep->bias, ep->act, ep->alpha,
                              ep->beta, job->use_simd);

    /* Store the pieces of the tile that are outputs: wide column n is
     * output (n / row_stride, n % row_stride) when n % row_stride < row_length. */
    int piece_at[MAX_NR], piece_len[MAX_NR], pieces = 0;
    size_t piece_dst[MAX_NR];
    for (int j = 0; j < nv;) {
        int64_t n = n0 + j;
        int64_t row = n / (int64_t)row_stride, col = n % (int64_t)row_stride;
        int64_t left = (int64_t)row_stride - col;
        int len = left < nv - j ? (int)left : nv - j;
        if (col < job->row_length) {
            int valid = job->row_length - col < len ? (int)(job->row_length - col) : len;
            piece_at[pieces] = j;
            piece_len[pieces] = valid;
            piece_dst[pieces] = (size_t)(row * job->row_length + col);
            pieces++;
        }
        j += len;
    }
    for (int i = 0; i < m; i++) {
        const float *from = stage + (size_t)i * (size_t)nr;
        float *to = job->c + (size_t)i * job->ldc;
        for (int q = 0; q < pieces; q++)
            memcpy(to + piece_dst[q], from + piece_at[q], sizeof(float) * (size_t)piece_len[q]);
    }
}

void vbSgemmWide(int m, int rows, int row_length, size_t row_stride, int k,
                 const float *packed_a, const float *x, const size_t *row_offsets, float *c,
                 size_t ldc, const VbSgemmEpilogue *ep, const VbOpRunContext *ctx,
                 void *workspace, size_t workspace_bytes)
{
    if (m <= 0 || rows <= 0 || row_length <= 0 || (size_t)row_length > row_stride)
        return;
    VbSgemmLayout layout = vbSgemmLayout();
    int mr = layout.mr, nr = layout.nr;
    RowsKernel kernel = pickRowsKernel(layout, ctx->disable_simd);
    size_t per_thread = vbSgemmWideThreadWorkspace(m);
    int threads = ctx->threads < 1 ? 1 : ctx->threads;
    if ((size_t)threads > workspace_bytes / per_thread)
        threads = (int)(workspace_bytes / per_thread) < 1 ? 1 : (int)(workspace_bytes / per_thread);

    /* The last wide row ends at its last output column, so no tile reads
     * past the input's last tap. */
    int64_t total = (int64_t)(rows - 1) * (int64_t)row_stride + row_length;
    int copy = kernel == NULL;
    WideJob job = {m, k, mr, nr, copy, !ctx->disable_simd, row_length, row_stride, ldc,
                   per_thread, total, packed_a, x, row_offsets, c, ep, kernel,
                   pickKernel(layout, ctx->disable_simd), workspace};
    vbParallelFor(threads, (total + nr - 1) / nr, wideTile, &job);
}

/* Lanes of the partial sums of vbSgemvRows: one AVX-512 vector. */
#define GEMV_LANES 16

/* Adds the GEMV_LANES partial sums in acc pairwise, halving the width each
 * time, and returns the total. */
static float gemvReduce(float *acc)
{
    for (int width = GEMV_LANES / 2; width > 0; width /= 2) {
        for (int l = 0; l < width; l++)
            acc[l] += acc[l + width];
    }
    return acc[0];
}

/* Returns the dot product of a[0..k) and x[0..k), with the AVX-512 loop's
 * partial sums and order (products are rounded before the add here). */
static float gemvDotPortable(const float *a, const float *x, int64_t k)
{
    float acc[GEMV_LANES] = {0};
    int64_t i = 0;
    for (; i + GEMV_LANES <= k; i += GEMV_LANES) {
        for (int l = 0; l < GEMV_LANES; l++)
            acc[l] += a[i + l] * x[i + l];
    }
    for (int l = 0; i < k; i++, l++)
        acc[l] += a[i] * x[i];
    return gemvReduce(acc);
}

#if VB_X86
/* Writes the dot products of rows a0..a3 with x to y[0..3], 16 lanes at a
 * time with a masked tail. Four rows are read at once, so four memory
 * streams are in flight. */
__attribute__((target("avx512f"))) static void gemvDot4Avx512(const float *a0, const float *a1,
                                                              const float *a2, const float *a3,
                                                              const float *x, int64_t k,
                                                              float *y)
{
    __m512 s0 = _mm512_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
    int64_t i = 0;
    for (; i + GEMV_LANES <= k; i += GEMV_LANES) {
        __m512 xv = _mm512_loadu_ps(x + i);
        s0 = _mm512_fmadd_ps(_mm512_loadu_ps(a0 + i), xv, s0);
        s1 = _mm512_fmadd_ps(_mm512_loadu_ps(a1 + i), xv, s1);
        s2 = _mm512_fmadd_ps(_mm512_loadu_ps(a2 + i), xv, s2);
        s3 = _mm512_fmadd_ps(_mm512_loadu_ps(a3 + i), xv, s3);
    }
    if (i < k) {
        __mmask16 m = (__mmask16)((1u << (k - i)) - 1u);
        __m512 xv = _mm512_maskz_loadu_ps(m, x + i);
        s0 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, a0 + i), xv, s0);
        s1 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, a1 + i), xv, s1);
        s2 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, a2 + i), xv, s2);
        s3 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, a3 + i), xv, s3);
    }
    float acc[4][GEMV_LANES];
    _mm512_storeu_ps(acc[0], s0);
    _mm512_storeu_ps(acc[1], s1);
    _mm512_storeu_ps(acc[2], s2);
    _mm512_storeu_ps(acc[3], s3);
    for (int r = 0; r < 4; r++)
        y[r] = gemvReduce(acc[r]);
}

/* The AVX2 form of gemvDot4Avx512: each row's 16 partial sums are two
 * 8-lane vectors, with the same lanes, order and tail, so the results are
 * the same bits. */
__attribute__((target("avx2,fma"))) static void gemvDot4Avx2(const float *a0, const float *a1,
                                                            const float *a2, const float *a3,
                                                            const float *x, int64_t k, float *y)
{
    __m256 s0 = _mm256_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
    __m256 t0 = s0, t1 = s0, t2 = s0, t3 = s0;
    int64_t i = 0;
    for (; i + GEMV_LANES <= k; i += GEMV_LANES) {
        __m256 xlo = _mm256_loadu_ps(x + i), xhi = _mm256_loadu_ps(x + i + 8);
        s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a0 + i), xlo, s0);
        t0 = _mm256_fmadd_ps(_mm256_loadu_ps(a0 + i + 8), xhi, t0);
        s1 = _mm256_fmadd_ps(_mm256_loadu_ps(a1 + i), xlo, s1);
        t1 = _mm256_fmadd_ps(_mm256_loadu_ps(a1 + i + 8), xhi, t1);
        s2 = _mm256_fmadd_ps(_mm256_loadu_ps(a2 + i), xlo, s2);
        t2 = _mm256_fmadd_ps(_mm256_loadu_ps(a2 + i + 8), xhi, t2);
        s3 = _mm256_fmadd_ps(_mm256_loadu_ps(a3 + i), xlo, s3);
        t3 = _mm256_fmadd_ps(_mm256_loadu_ps(a3 + i + 8), xhi, t3);
    }
    float acc[4][GEMV_LANES];
    _mm256_storeu_ps(acc[0], s0);
    _mm256_storeu_ps(acc[0] + 8, t0);
    _mm256_storeu_ps(acc[1], s1);
    _mm256_storeu_ps(acc[1] + 8, t1);
    _mm256_storeu_ps(acc[2], s2);
    _mm256_storeu_ps(acc[2] + 8, t2);
    _mm256_storeu_ps(acc[3], s3);
    _mm256_storeu_ps(acc[3] + 8, t3);

    /* the tail, lane l for k - i < 16 values, with fused multiply-adds as
     * the masked vectors of gemvDot4Avx512 do */
    const float *rows[4] = {a0, a1, a2, a3};
    for (int r = 0; r < 4; r++) {
        for (int64_t j = i; j < k; j++)
            acc[r][j - i] = fmaf(rows[r][j], x[j], acc[r][j - i]);
        y[r] = gemvReduce(acc[r]);
    }
}
#endif

/* Writes the dot products of four rows with x to y[0..3]. */
typedef void (*GemvDot4)(const float *a0, const float *a1, const float *a2, const float *a3,
                         const float *x, int64_t k, float *y);

void vbSgemvRows(const float *w, size_t ldw, const float *x, int64_t k, int64_t rows, float *y,
                 int use_simd)
{
    int64_t i = 0;
#if VB_X86
    GemvDot4 dot4 = NULL;
    if (use_simd && cpuHasAvx512())
        dot4 = gemvDot4Avx512;
    else if (use_simd && cpuHasAvx2())
        dot4 = gemvDot4Avx2;
    if (dot4 != NULL) {
        for (; i + 4 <= rows; i += 4) {
            const float *a = w + (size_t)i * ldw;
            dot4(a, a + ldw, a + 2 * ldw, a + 3 * ldw, x, k, y + i);
        }
        for (; i < rows; i++) {
            const float *a = w + (size_t)i * ldw;
            float four[4];
            dot4(a, a, a, a, x, k, four);
            y[i] = four[0];
        }
        return;
    }
#else
    (void)use_simd;
#endif
    for (; i < rows; i++)
        y[i] = gemvDotPortable(w + (size_t)i * ldw, x, k);
}

const char *vbActivationName(VbActivation act)
{
    switch (act) {
    case VB_ACT_NONE: return "none";
    case VB_ACT_RELU: return "Relu";
    case VB_ACT_SIGMOID: return "Sigmoid";
    case VB_ACT_SILU: return "SiLU";
    case VB_ACT_HARDSWISH: return "HardSwish";
    case VB_ACT_HARDSIGMOID: return "HardSigmoid";
    case VB_ACT_LEAKYRELU: return "LeakyRelu";
    case VB_ACT_CLIP: return "Clip";
    }
    return "unknown";
}

/* Clamps v to [0, 1]. */
static float clampUnit(float v)
{
    if (v < 0.0f)
        return 0.0f;
    if (v > 1.0f)
        return 1.0f;
    return v;
}

static float activateOne(float v, VbActivation act, float alpha, float beta)
{
    switch (act) {
    case VB_ACT_NONE: return v;
    case VB_ACT_RELU: return v > 0.0f ? v : 0.0f;
    case VB_ACT_SIGMOID: return 1.0f / (1.0f + expf(-v));
    case VB_ACT_SILU: return v / (1.0f + expf(-v));
    case VB_ACT_HARDSWISH: return v * clampUnit(v / 6.0f + 0.5f);
    case VB_ACT_HARDSIGMOID: return clampUnit(alpha * v + beta);
    case VB_ACT_LEAKYRELU: return v >= 0.0f ? v : alpha * v;
    case VB_ACT_CLIP:
        if (v < alpha)
            return alpha;
        if (v > beta)
            return beta;
        return v;
    }
    return v;
}

#if VB_X86
/* Returns 2^t for 16 floats: t = n + f with n an integer and |f| <= 1/2, 2^f from
 * a degree-5 polynomial (relative error below 2.5e-7, fitted by weighted
 * least squares on [-1/2, 1/2]), then scaled by 2^n. t is clamped to
 * [-127, 127], so the result stays finite. A NaN t gives NaN. */
__attribute__((target("avx512f"))) static __m512 exp2Avx512(__m512 t)
{
    /* bound first, t second: a NaN t passes through max and min */
    t = _mm512_min_ps(_mm512_set1_ps(127.0f), _mm512_max_ps(_mm512_set1_ps(-127.0f), t));
    __m512 n = _mm512_roundscale_ps(t, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 f = _mm512_sub_ps(t, n);
    __m512 p = _mm512_set1_ps(1.327646780e-3f);
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(9.675540961e-3f));
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(5.550713465e-2f));
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(2.402212024e-1f));
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(6.931469440e-1f));
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(1.000000119f));
    return _mm512_scalef_ps(p, n);
}

/* Runs the loop of activateAvx512 for one activation: EXPR maps v (bias
 * added) to the result. The last n % 16 values go through masked loads and
 * stores, so short rows (7x7 and 14x14 planes, GEMM panel edges) stay on
 * the vector path. */
#define VB_ACT_LOOP(EXPR)                                                        \
    for (; i + 16 <= n; i += 16) {                                               \
        __m512 v = _mm512_add_ps(_mm512_loadu_ps(x + i), vbias);                 \
        _mm512_storeu_ps(x + i, (EXPR));                                         \
    }                                                                            \
    if (i < n) {                                                                 \
        __mmask16 tail = (__mmask16)((1u << (n - i)) - 1u);                      \
        __m512 v = _mm512_add_ps(_mm512_maskz_loadu_ps(tail, x + i), vbias);     \
        _mm512_mask_storeu_ps(x + i, tail, (EXPR));                              \
        i = n;                                                                   \
    }

/* Returns 1 / (1 + exp(-v)) for 16 floats, with exp(-v) = 2^(-v log2(e)):
 * a 14-bit reciprocal estimate refined by one Newton step, which is cheaper
 * than a divide. The denominator stays finite because exp2Avx512 clamps
 * its input. */
__attribute__((target("avx512f"))) static __m512 sigmoidAvx512(__m512 v)
{
    __m512 den = _mm512_add_ps(_mm512_set1_ps(1.0f),
                               exp2Avx512(_mm512_mul_ps(v, _mm512_set1_ps(-1.44269504088896341f))));
    __m512 r = _mm512_rcp14_ps(den);
    return _mm512_mul_ps(r, _mm512_fnmadd_ps(den, r, _mm512_set1_ps(2.0f)));
}

/* Runs VB_ACT_LOOP(EXPR) on each of the rows of activateAvx512, with that
 * row's bias in vbias. */
#define VB_ACT_ROWS(EXPR)                                                          \
    for (int r = 0; r < rows; r++) {                                               \
        float *x = base + (size_t)r * ldc;                                         \
        __m512 vbias = _mm512_set1_ps(bias != NULL ? bias[r] : 0.0f);              \
        size_t i = 0;                                                              \
        VB_ACT_LOOP(EXPR)                                                          \
    }

/* The AVX-512 path of vbActivationApplyRows: rows of n floats, ldc apart,
 * with the switch and the constants set up once for the whole block. Each
 * activation gives what activateOne gives, NaN included; Sigmoid and SiLU
 * differ from it only in rounding, through exp2Avx512 and the reciprocal
 * above. */
__attribute__((target("avx512f"))) static void activateAvx512(float *base, size_t ldc, int rows,
                                                              size_t n, const float *bias,
                                                              VbActivation act, float alpha,
                                                              float beta)
{
    __m512 zero = _mm512_setzero_ps();
    __m512 unit = _mm512_set1_ps(1.0f), six = _mm512_set1_ps(6.0f), half = _mm512_set1_ps(0.5f);
    __m512 va = _mm512_set1_ps(alpha), vb = _mm512_set1_ps(beta);
    /* max(a, v) and min(a, v) return v when v is NaN, as activateOne does;
     * max(v, 0) returns 0 for NaN, as Relu's v > 0 test does. */
    switch (act) {
    case VB_ACT_NONE: VB_ACT_ROWS(v) break;
    case VB_ACT_RELU: VB_ACT_ROWS(_mm512_max_ps(v, zero)) break;
    case VB_ACT_SIGMOID: VB_ACT_ROWS(sigmoidAvx512(v)) break;
    case VB_ACT_SILU: VB_ACT_ROWS(_mm512_mul_ps(v, sigmoidAvx512(v))) break;
    case VB_ACT_HARDSWISH:
        VB_ACT_ROWS(_mm512_mul_ps(
            v, _mm512_min_ps(unit, _mm512_max_ps(zero, _mm512_add_ps(_mm512_div_ps(v, six), half)))))
        break;
    case VB_ACT_HARDSIGMOID:
        VB_ACT_ROWS(_mm512_min_ps(unit, _mm512_max_ps(zero, _mm512_add_ps(_mm512_mul_ps(va, v), vb))))
        break;
    case VB_ACT_LEAKYRELU:
        VB_ACT_ROWS(_mm512_mask_mul_ps(v, _mm512_cmp_ps_mask(v, zero, _CMP_LT_OQ), v, va))
        break;
    case VB_ACT_CLIP: VB_ACT_ROWS(_mm512_min_ps(vb, _mm512_max_ps(va, v))) break;
    }
}
#undef VB_ACT_ROWS
#undef VB_ACT_LOOP

/* Runs EXPR, which maps v (bias added) to the result, on each of the rows
 * of activateAvx2. The last n % 8 values of a row go through masked loads
 * and stores. */
#define VB_ACT_ROWS(EXPR)                                                            \
    for (int r = 0; r < rows; r++) {                                                 \
        float *x = base + (size_t)r * ldc;                                           \
        __m256 vbias = _mm256_set1_ps(bias != NULL ? bias[r] : 0.0f);                \
        size_t i = 0;                                                                \
        for (; i + 8 <= n; i += 8) {                                                 \
            __m256 v = _mm256_add_ps(_mm256_loadu_ps(x + i), vbias);                 \
            _mm256_storeu_ps(x + i, (EXPR));                                         \
        }                                                                            \
        if (i < n) {                                                                 \
            __m256i tail = _mm256_cmpgt_epi32(_mm256_set1_epi32((int)(n - i)), lane);  \
            __m256 v = _mm256_add_ps(_mm256_maskload_ps(x + i, tail), vbias);        \
            _mm256_maskstore_ps(x + i, tail, (EXPR));                                \
        }                                                                            \
    }

/* The SiLU case of activateAvx2: 32 values at a time through silu4Avx2,
 * then single vectors, then a masked tail. The results equal siluAvx2's. */
__attribute__((target("avx2,fma"))) static void siluRowsAvx2(float *base, size_t ldc, int rows,
                                                            size_t n, const float *bias)
{
    __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    for (int r = 0; r < rows; r++) {
        float *x = base + (size_t)r * ldc;
        __m256 vbias = _mm256_set1_ps(bias != NULL ? bias[r] : 0.0f);
        size_t i = 0;
        for (; i + 32 <= n; i += 32) {
            Vec4Avx2 four;
            #pragma GCC unroll 4
            for (int j = 0; j < 4; j++)
                four.v[j] = _mm256_add_ps(_mm256_loadu_ps(x + i + 8 * j), vbias);
            four = silu4Avx2(four);
            #pragma GCC unroll 4
            for (int j = 0; j < 4; j++)
                _mm256_storeu_ps(x + i + 8 * j, four.v[j]);
        }
        for (; i + 8 <= n; i += 8)
            _mm256_storeu_ps(x + i, siluAvx2(_mm256_add_ps(_mm256_loadu_ps(x + i), vbias)));
        if (i < n) {
            __m256i tail = _mm256_cmpgt_epi32(_mm256_set1_epi32((int)(n - i)), lane);
            __m256 v = _mm256_add_ps(_mm256_maskload_ps(x + i, tail), vbias);
            _mm256_maskstore_ps(x + i, tail, siluAvx2(v));
        }
    }
}

/* The AVX2 path of vbActivationApplyRows, as activateAvx512 is for AVX-512
 * machines: the same results, NaN included, but for rounding in Sigmoid
 * and SiLU. */
__attribute__((target("avx2,fma"))) static void activateAvx2(float *base, size_t ldc, int rows,
                                                            size_t n, const float *bias,
                                                            VbActivation act, float alpha,
                                                            float beta)
{
    __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    if (act == VB_ACT_SILU) {
        siluRowsAvx2(base, ldc, rows, n, bias);
        return;
    }
    VB_ACT_CONSTANTS_AVX2(alpha, beta)
    VB_ACT_SWITCH_AVX2(act, VB_ACT_ROWS)
}
#undef VB_ACT_ROWS
#endif

void vbActivationApplyRows(float *c, size_t ldc, int rows, size_t n, const float *bias,
                           VbActivation act, float alpha, float beta, int use_simd)
{
#if VB_X86
    if (use_simd && cpuHasAvx512()) {
        activateAvx512(c, ldc, rows, n, bias, act, alpha, beta);
        return;
    }
    if (use_simd && cpuHasAvx2()) {
        activateAvx2(c, ldc, rows, n, bias, act, alpha, beta);
        return;
    }
#endif
    for (int r = 0; r < rows; r++)
        vbActivationApply(c + (size_t)r * ldc, n, bias != NULL ? bias[r] : 0.0f, act, alpha, beta,
                          use_simd);
}

void vbActivationApply(float *x, size_t n, float bias, VbActivation act, float alpha, float beta,
                       int use_simd)
{
    size_t i = 0;
#if VB_X86
    if (use_simd && cpuHasAvx512()) {
        activateAvx512(x, n, 1, n, &bias, act, alpha, beta);
        return;
    }
    if (use_simd && cpuHasAvx2()) {
        activateAvx2(x, n, 1, n, &bias, act, alpha, beta);
        return;
    }
#else
    (void)use_simd;
#endif
    /* The common cases as plain loops the compiler can vectorize. */
    switch (act) {
    case VB_ACT_NONE:
        for (; i < n; i++)
            x[i] += bias;
        break;
    case VB_ACT_RELU:
        for (; i < n; i++) {
            float v = x[i] + bias;
            x[i] = v > 0.0f ? v : 0.0f;
        }
        break;
    default:
        for (; i < n; i++)
            x[i] = activateOne(x[i] + bias, act, alpha, beta);
        break;
    }
}
