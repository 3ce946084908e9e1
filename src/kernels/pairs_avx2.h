/* An in-register split of 16 floats into even and odd columns for the AVX2 kernels. */
#ifndef VB_PAIRS_AVX2_H
#define VB_PAIRS_AVX2_H

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
#endif

#endif
