/* In-register shuffles shared by the AVX2 kernels: a split of pairs and an 8x8 transpose. */
#ifndef VB_SHUFFLE_AVX2_H
#define VB_SHUFFLE_AVX2_H

#if defined(__x86_64__)
#include <immintrin.h>

/* Loads from[0 .. 16) and returns its even values in *even and its odd
 * values in *odd, each in order. */
__attribute__((target("avx2"))) static inline void vbSplitPairsAvx2(const float *from,
                                                                    __m256 *even, __m256 *odd)
{
    __m256 lo = _mm256_loadu_ps(from), hi = _mm256_loadu_ps(from + 8);

    /* the shuffle leaves 64-bit pairs in the order 0 2 1 3, and the permute restores 0 1 2 3 */
    *even = _mm256_castpd_ps(_mm256_permute4x64_pd(
        _mm256_castps_pd(_mm256_shuffle_ps(lo, hi, _MM_SHUFFLE(2, 0, 2, 0))), _MM_SHUFFLE(3, 1, 2, 0)));
    *odd = _mm256_castpd_ps(_mm256_permute4x64_pd(
        _mm256_castps_pd(_mm256_shuffle_ps(lo, hi, _MM_SHUFFLE(3, 1, 3, 1))), _MM_SHUFFLE(3, 1, 2, 0)));
}

/* Transposes the 8x8 matrix whose row r is v[r]: afterwards v[k] contains
 * element k of every former row, in row order. */
__attribute__((target("avx2"))) static inline void vbTranspose8(__m256 v[8])
{
    __m256 t[8], u[8];

    /* pairs of rows interleaved within each 128-bit half */
    for (int i = 0; i < 4; i++) {
        t[2 * i] = _mm256_unpacklo_ps(v[2 * i], v[2 * i + 1]);
        t[2 * i + 1] = _mm256_unpackhi_ps(v[2 * i], v[2 * i + 1]);
    }

    /* u[4i + j], half H: element 4H + j of rows 4i .. 4i + 3 */
    for (int i = 0; i < 2; i++) {
        u[4 * i] = _mm256_shuffle_ps(t[4 * i], t[4 * i + 2], 0x44);
        u[4 * i + 1] = _mm256_shuffle_ps(t[4 * i], t[4 * i + 2], 0xEE);
        u[4 * i + 2] = _mm256_shuffle_ps(t[4 * i + 1], t[4 * i + 3], 0x44);
        u[4 * i + 3] = _mm256_shuffle_ps(t[4 * i + 1], t[4 * i + 3], 0xEE);
    }

    /* join half H of u[j] and u[4 + j] into v[4H + j] */
    for (int j = 0; j < 4; j++) {
        v[j] = _mm256_permute2f128_ps(u[j], u[4 + j], 0x20);
        v[4 + j] = _mm256_permute2f128_ps(u[j], u[4 + j], 0x31);
    }
}
#endif

#endif
