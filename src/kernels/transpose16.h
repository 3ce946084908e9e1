/* An in-register 16x16 float transpose for the AVX-512 kernels. */
#ifndef VB_TRANSPOSE16_H
#define VB_TRANSPOSE16_H

#if defined(__x86_64__)
#include <immintrin.h>

/* Transposes the 16x16 matrix whose row r is v[r]: afterwards v[k] contains
 * element k of every former row, in row order. Four stages of shuffles,
 * 64 in all, where gathering the same data costs 16 loads per vector. */
__attribute__((target("avx512f"))) static inline void vbTranspose16(__m512 v[16])
{
    __m512 t[16], u[16];

    /* pairs of rows interleaved within each 128-bit lane */
    for (int i = 0; i < 8; i++) {
        t[2 * i] = _mm512_unpacklo_ps(v[2 * i], v[2 * i + 1]);
        t[2 * i + 1] = _mm512_unpackhi_ps(v[2 * i], v[2 * i + 1]);
    }

    /* u[4i + j], lane L: element 4L + j of rows 4i .. 4i + 3 */
    for (int i = 0; i < 4; i++) {
        u[4 * i] = _mm512_shuffle_ps(t[4 * i], t[4 * i + 2], 0x44);
        u[4 * i + 1] = _mm512_shuffle_ps(t[4 * i], t[4 * i + 2], 0xEE);
        u[4 * i + 2] = _mm512_shuffle_ps(t[4 * i + 1], t[4 * i + 3], 0x44);
        u[4 * i + 3] = _mm512_shuffle_ps(t[4 * i + 1], t[4 * i + 3], 0xEE);
    }

    /* collect lane L of u[j], u[4 + j], u[8 + j], u[12 + j] into v[4L + j] */
    for (int j = 0; j < 4; j++) {
        __m512 even_a = _mm512_shuffle_f32x4(u[j], u[4 + j], 0x88);
        __m512 odd_a = _mm512_shuffle_f32x4(u[j], u[4 + j], 0xDD);
        __m512 even_b = _mm512_shuffle_f32x4(u[8 + j], u[12 + j], 0x88);
        __m512 odd_b = _mm512_shuffle_f32x4(u[8 + j], u[12 + j], 0xDD);
        v[j] = _mm512_shuffle_f32x4(even_a, even_b, 0x88);
        v[8 + j] = _mm512_shuffle_f32x4(even_a, even_b, 0xDD);
        v[4 + j] = _mm512_shuffle_f32x4(odd_a, odd_b, 0x88);
        v[12 + j] = _mm512_shuffle_f32x4(odd_a, odd_b, 0xDD);
    }
}

#endif

#endif /* VB_TRANSPOSE16_H */
