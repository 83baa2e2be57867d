/* Template of the pooling microkernels (see pool.h), instantiated once per (dtype, ISA) by
 * the pool__<isa>.c files, which compile it with that ISA's flags.
 *
 * Parameters (macros): POOL_T (float/double), POOL_T_BYTES (its size, for the
 * preprocessor), POOL_IT (the signed integer of that size, for comparison masks), POOL_SFX
 * (f32/f64), POOL_ISA (scalar/avx2/avx512f), POOL_VL (lanes per vector as a literal
 * number: 1 for the portable kernels).
 *
 * Every loop runs over whole vectors; a row's tail is computed as one more whole vector
 * (the hpass input has slack, see pool.h) and only its first lanes are stored, so no
 * kernel has a separate scalar code path for tails except the vpass, whose input rows are
 * the caller's and may end at the end of its array. */
#include <stdint.h>
#if defined(__AVX__)
#include <immintrin.h>
#endif

#include "pool/pool.h"

#define POOL_PASTE4_(a, b, c, d) a##b##c##d
#define POOL_PASTE4(a, b, c, d) POOL_PASTE4_(a, b, c, d)
#define POOL_PASTE_(a, b) a##b
#define POOL_PASTE(a, b) POOL_PASTE_(a, b)
/* fc_<dtype>_<name>__<isa>, e.g. fc_f32_maxpool_ukernel_hpass_3s2__avx512f. */
#define POOL_UKERNEL(name) POOL_PASTE4(fc_, POOL_SFX, _##name##__, POOL_ISA)
#define POOL_LOCAL(name) POOL_PASTE4(pool_, POOL_SFX, _##name##_, POOL_ISA)
#define POOL_VEC POOL_LOCAL(vec)
#define POOL_IVEC POOL_LOCAL(ivec)

/* Lanes 0, 2, 4, ... (even) and 1, 3, 5, ... (odd) of two concatenated vectors. */
#define POOL_EVEN_LANES_1 0
#define POOL_ODD_LANES_1 1
#define POOL_EVEN_LANES_2 0, 2
#define POOL_ODD_LANES_2 1, 3
#define POOL_EVEN_LANES_4 0, 2, 4, 6
#define POOL_ODD_LANES_4 1, 3, 5, 7
#define POOL_EVEN_LANES_8 0, 2, 4, 6, 8, 10, 12, 14
#define POOL_ODD_LANES_8 1, 3, 5, 7, 9, 11, 13, 15
#define POOL_EVEN_LANES_16 0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30
#define POOL_ODD_LANES_16 1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31

/* Unaligned, aliasing-safe vector of POOL_VL elements, and its comparison mask. */
typedef POOL_T POOL_VEC __attribute__((vector_size(POOL_VL * sizeof(POOL_T)), aligned(sizeof(POOL_T)), may_alias));
typedef POOL_IT POOL_IVEC __attribute__((vector_size(POOL_VL * sizeof(POOL_T))));

#define POOL_INLINE static inline __attribute__((always_inline))

POOL_INLINE POOL_VEC POOL_LOCAL(load)(const POOL_T *p) { return *(const POOL_VEC *)p; }

POOL_INLINE void POOL_LOCAL(store)(POOL_T *p, POOL_VEC v) { *(POOL_VEC *)p = v; }

/* Stores lanes [0, n) of v, n < POOL_VL, the tail of a row: the whole vector if `room`
 * elements from p may be written (see out_room in pool.h), else lane by lane. */
POOL_INLINE void POOL_LOCAL(store_tail)(POOL_T *p, POOL_VEC v, size_t n, size_t room) {
    if (room >= POOL_VL) {
        POOL_LOCAL(store)(p, v);
        return;
    }
    for (size_t l = 0; l < n; l++) p[l] = v[l];
}

/* The larger of acc and x, NaN if either is NaN (as torch: NaN propagates through max).
 * x86's max returns its second operand when either is NaN, so max(x, acc) keeps a NaN acc;
 * a NaN x is then put back by a blend whose mask does not wait for acc. Elsewhere, plain
 * comparisons. */
#if defined(__AVX512F__) && POOL_VL * POOL_T_BYTES == 64
POOL_INLINE POOL_VEC POOL_LOCAL(max)(POOL_VEC acc, POOL_VEC x) {
#if POOL_T_BYTES == 4
    return (POOL_VEC)_mm512_mask_mov_ps(_mm512_max_ps((__m512)x, (__m512)acc),
                                        _mm512_cmp_ps_mask((__m512)x, (__m512)x, _CMP_UNORD_Q), (__m512)x);
#else
    return (POOL_VEC)_mm512_mask_mov_pd(_mm512_max_pd((__m512d)x, (__m512d)acc),
                                        _mm512_cmp_pd_mask((__m512d)x, (__m512d)x, _CMP_UNORD_Q), (__m512d)x);
#endif
}
#elif defined(__AVX__) && POOL_VL * POOL_T_BYTES == 32
POOL_INLINE POOL_VEC POOL_LOCAL(max)(POOL_VEC acc, POOL_VEC x) {
#if POOL_T_BYTES == 4
    return (POOL_VEC)_mm256_blendv_ps(_mm256_max_ps((__m256)x, (__m256)acc), (__m256)x,
                                      _mm256_cmp_ps((__m256)x, (__m256)x, _CMP_UNORD_Q));
#else
    return (POOL_VEC)_mm256_blendv_pd(_mm256_max_pd((__m256d)x, (__m256d)acc), (__m256d)x,
                                      _mm256_cmp_pd((__m256d)x, (__m256d)x, _CMP_UNORD_Q));
#endif
}
#else
POOL_INLINE POOL_VEC POOL_LOCAL(max)(POOL_VEC acc, POOL_VEC x) {
    const POOL_IVEC keep_x = (x > acc) | (x != x);
    return (POOL_VEC)(((POOL_IVEC)x & keep_x) | ((POOL_IVEC)acc & ~keep_x));
}
#endif

/* The scalar max, NaN if either is NaN. */
POOL_INLINE POOL_T POOL_LOCAL(max1)(POOL_T a, POOL_T b) { return a > b || a != a ? a : b; }

/* Lanes of two concatenated vectors, picked by constant indices (GCC before 12 lacks
 * __builtin_shufflevector and spells it with a mask vector). */
#if defined(__clang__) || __GNUC__ >= 12
#define POOL_SHUFFLE2(a, b, lanes) __builtin_shufflevector(a, b, lanes)
#else
#define POOL_SHUFFLE2(a, b, lanes) __builtin_shuffle(a, b, (POOL_IVEC){lanes})
#endif

/* Elements 0, 2, 4, ... (even) or 1, 3, 5, ... (odd) of the 2 * POOL_VL starting at p. */
POOL_INLINE POOL_VEC POOL_LOCAL(even)(const POOL_T *p) {
    return POOL_SHUFFLE2(POOL_LOCAL(load)(p), POOL_LOCAL(load)(p + POOL_VL), POOL_PASTE(POOL_EVEN_LANES_, POOL_VL));
}

POOL_INLINE POOL_VEC POOL_LOCAL(odd)(const POOL_T *p) {
    return POOL_SHUFFLE2(POOL_LOCAL(load)(p), POOL_LOCAL(load)(p + POOL_VL), POOL_PASTE(POOL_ODD_LANES_, POOL_VL));
}

/* ---- vertical passes ---------------------------------------------------------------- */

/* Vectors per step of the vpass: independent chains, to keep the loads in flight. */
#define POOL_VPASS_UNROLL 8

/* The vpass of one row for `taps` input rows; a constant `taps` unrolls the inner loop. */
#define POOL_DEFINE_VPASS_ROW(name, combine, combine1)                                                   \
    POOL_INLINE void POOL_LOCAL(name##_row)(size_t taps, const POOL_T *first_row, size_t tap_stride,    \
                                            size_t n, POOL_T *out) {                                    \
        size_t j = 0;                                                                                   \
        for (; j + POOL_VPASS_UNROLL * POOL_VL <= n; j += POOL_VPASS_UNROLL * POOL_VL) {                \
            POOL_VEC acc[POOL_VPASS_UNROLL];                                                            \
            _Pragma("GCC unroll 8") for (size_t u = 0; u < POOL_VPASS_UNROLL; u++) acc[u] =             \
                POOL_LOCAL(load)(first_row + j + u * POOL_VL);                                          \
            for (size_t t = 1; t < taps; t++) {                                                         \
                const POOL_T *row = first_row + t * tap_stride + j;                                     \
                _Pragma("GCC unroll 8") for (size_t u = 0; u < POOL_VPASS_UNROLL; u++) acc[u] =         \
                    combine(acc[u], POOL_LOCAL(load)(row + u * POOL_VL));                               \
            }                                                                                           \
            _Pragma("GCC unroll 8") for (size_t u = 0; u < POOL_VPASS_UNROLL; u++)                      \
                POOL_LOCAL(store)(out + j + u * POOL_VL, acc[u]);                                       \
        }                                                                                               \
        for (; j + POOL_VL <= n; j += POOL_VL) {                                                        \
            POOL_VEC acc = POOL_LOCAL(load)(first_row + j);                                             \
            for (size_t t = 1; t < taps; t++) acc = combine(acc, POOL_LOCAL(load)(first_row + t * tap_stride + j)); \
            POOL_LOCAL(store)(out + j, acc);                                                            \
        }                                                                                               \
        for (; j < n; j++) {                                                                            \
            POOL_T acc = first_row[j];                                                                  \
            for (size_t t = 1; t < taps; t++) acc = combine1(acc, first_row[t * tap_stride + j]);       \
            out[j] = acc;                                                                               \
        }                                                                                               \
    }

/* Windows of 1 to 3 rows (every common pool) get their own unrolled copy. */
#define POOL_DEFINE_VPASS(name)                                                                          \
    void POOL_UKERNEL(name)(size_t rows, size_t taps, const POOL_T *first_row, size_t row_step,         \
                            size_t tap_stride, size_t n, POOL_T *out, size_t out_pitch) {               \
        for (size_t r = 0; r < rows; r++, first_row += row_step, out += out_pitch) {                    \
            switch (taps) {                                                                             \
            case 1: POOL_LOCAL(name##_row)(1, first_row, tap_stride, n, out); break;                    \
            case 2: POOL_LOCAL(name##_row)(2, first_row, tap_stride, n, out); break;                    \
            case 3: POOL_LOCAL(name##_row)(3, first_row, tap_stride, n, out); break;                    \
            default: POOL_LOCAL(name##_row)(taps, first_row, tap_stride, n, out);                       \
            }                                                                                           \
        }                                                                                               \
    }

#define POOL_ADD(a, b) ((a) + (b))
POOL_DEFINE_VPASS_ROW(maxpool_ukernel_vpass, POOL_LOCAL(max), POOL_LOCAL(max1))
POOL_DEFINE_VPASS_ROW(avgpool_ukernel_vpass, POOL_ADD, POOL_ADD)
POOL_DEFINE_VPASS(maxpool_ukernel_vpass)
POOL_DEFINE_VPASS(avgpool_ukernel_vpass)

/* ---- horizontal passes ---------------------------------------------------------------- */

/* Defines an hpass from `window(in, i, ...)`, the vector of outputs i .. i + POOL_VL - 1 of
 * one row: whole vectors, then one more for the row's tail. `scaled(v, i)` applies the
 * average's divisor (or nothing). */
#define POOL_DEFINE_HPASS_ROWS(name, window, scaled)                                                     \
    for (size_t r = 0; r < rows; r++, in += in_pitch, out += n, out_room -= n) {                         \
        size_t i = 0;                                                                                   \
        for (; i + POOL_VL <= n; i += POOL_VL) POOL_LOCAL(store)(out + i, scaled(window, i));           \
        if (i < n) POOL_LOCAL(store_tail)(out + i, scaled(window, i), n - i, out_room - i);             \
    }

#define POOL_UNSCALED(v, i) (v)
#define POOL_DEFINE_MAX_HPASS(shape, window)                                                             \
    void POOL_UKERNEL(maxpool_ukernel_hpass_##shape)(size_t rows, size_t n, size_t kernel, size_t stride, \
                                                     size_t dilation, const POOL_T *in, size_t in_pitch, \
                                                     POOL_T *out, size_t out_room) {                    \
        (void)kernel, (void)stride, (void)dilation;                                                     \
        POOL_DEFINE_HPASS_ROWS(name, window, POOL_UNSCALED)                                             \
    }

/* Stride 1, any kernel and dilation: unaligned loads at each tap. */
POOL_INLINE POOL_VEC POOL_LOCAL(max_window_s1)(const POOL_T *in, size_t i, size_t kernel, size_t dilation) {
    POOL_VEC acc = POOL_LOCAL(load)(in + i);
    for (size_t k = 1; k < kernel; k++) acc = POOL_LOCAL(max)(acc, POOL_LOCAL(load)(in + i + k * dilation));
    return acc;
}

/* Stride 2, any kernel and dilation: the even lanes of two vectors at each tap. */
POOL_INLINE POOL_VEC POOL_LOCAL(max_window_s2)(const POOL_T *in, size_t i, size_t kernel, size_t dilation) {
    POOL_VEC acc = POOL_LOCAL(even)(in + 2 * i);
    for (size_t k = 1; k < kernel; k++) acc = POOL_LOCAL(max)(acc, POOL_LOCAL(even)(in + 2 * i + k * dilation));
    return acc;
}

/* 2 wide, stride 2: the even and odd lanes of the same two vectors. */
POOL_INLINE POOL_VEC POOL_LOCAL(max_window_2s2)(const POOL_T *in, size_t i) {
    return POOL_LOCAL(max)(POOL_LOCAL(even)(in + 2 * i), POOL_LOCAL(odd)(in + 2 * i));
}

/* 3 wide, stride 2: as 2s2, plus the even lanes one pair further on. */
POOL_INLINE POOL_VEC POOL_LOCAL(max_window_3s2)(const POOL_T *in, size_t i) {
    return POOL_LOCAL(max)(POOL_LOCAL(max_window_2s2)(in, i), POOL_LOCAL(even)(in + 2 * i + 2));
}

/* Stride 1 with the common 3-wide undilated window unrolled. */
POOL_INLINE POOL_VEC POOL_LOCAL(max_window_s1_any)(const POOL_T *in, size_t i, size_t kernel, size_t dilation) {
    if (kernel == 3 && dilation == 1) return POOL_LOCAL(max_window_s1)(in, i, 3, 1);
    return POOL_LOCAL(max_window_s1)(in, i, kernel, dilation);
}

POOL_DEFINE_MAX_HPASS(s1, POOL_LOCAL(max_window_s1_any)(in, i, kernel, dilation))
POOL_DEFINE_MAX_HPASS(s2, POOL_LOCAL(max_window_s2)(in, i, kernel, dilation))
POOL_DEFINE_MAX_HPASS(2s2, POOL_LOCAL(max_window_2s2)(in, i))
POOL_DEFINE_MAX_HPASS(3s2, POOL_LOCAL(max_window_3s2)(in, i))

/* Any stride: one output at a time (strides above 2 are rare in CNNs). */
void POOL_UKERNEL(maxpool_ukernel_hpass)(size_t rows, size_t n, size_t kernel, size_t stride, size_t dilation,
                                         const POOL_T *in, size_t in_pitch, POOL_T *out, size_t out_room) {
    (void)out_room;
    for (size_t r = 0; r < rows; r++, in += in_pitch, out += n)
        for (size_t i = 0; i < n; i++) {
            const POOL_T *window = in + i * stride;
            POOL_T acc = window[0];
            for (size_t k = 1; k < kernel; k++) acc = POOL_LOCAL(max1)(acc, window[k * dilation]);
            out[i] = acc;
        }
}

#define POOL_SCALED(v, i) ((v) * (POOL_LOCAL(load)(col_scale + (i)) * row_scale))
#define POOL_UNIFORMLY_SCALED(v, i) ((v) * row_scale)
#define POOL_DEFINE_SUM_HPASS(shape, window)                                                             \
    void POOL_UKERNEL(avgpool_ukernel_hpass_##shape)(size_t rows, size_t n, size_t kernel, size_t stride, \
                                                     const POOL_T *in, size_t in_pitch,                \
                                                     const POOL_T *col_scale, POOL_T row_scale,         \
                                                     POOL_T *out, size_t out_room) {                    \
        (void)stride;                                                                                   \
        if (col_scale) {                                                                                \
            POOL_DEFINE_HPASS_ROWS(name, window, POOL_SCALED)                                           \
        } else {                                                                                        \
            POOL_DEFINE_HPASS_ROWS(name, window, POOL_UNIFORMLY_SCALED)                                 \
        }                                                                                               \
    }

POOL_INLINE POOL_VEC POOL_LOCAL(sum_window_s1)(const POOL_T *in, size_t i, size_t kernel) {
    POOL_VEC acc = POOL_LOCAL(load)(in + i);
    for (size_t k = 1; k < kernel; k++) acc += POOL_LOCAL(load)(in + i + k);
    return acc;
}

POOL_INLINE POOL_VEC POOL_LOCAL(sum_window_s1_any)(const POOL_T *in, size_t i, size_t kernel) {
    if (kernel == 3) return POOL_LOCAL(sum_window_s1)(in, i, 3);
    return POOL_LOCAL(sum_window_s1)(in, i, kernel);
}

POOL_INLINE POOL_VEC POOL_LOCAL(sum_window_s2)(const POOL_T *in, size_t i, size_t kernel) {
    POOL_VEC acc = POOL_LOCAL(even)(in + 2 * i);
    for (size_t k = 1; k < kernel; k++) acc += POOL_LOCAL(even)(in + 2 * i + k);
    return acc;
}

POOL_INLINE POOL_VEC POOL_LOCAL(sum_window_s2_any)(const POOL_T *in, size_t i, size_t kernel) {
    if (kernel == 2) return POOL_LOCAL(even)(in + 2 * i) + POOL_LOCAL(odd)(in + 2 * i);
    return POOL_LOCAL(sum_window_s2)(in, i, kernel);
}

POOL_DEFINE_SUM_HPASS(s1, POOL_LOCAL(sum_window_s1_any)(in, i, kernel))
POOL_DEFINE_SUM_HPASS(s2, POOL_LOCAL(sum_window_s2_any)(in, i, kernel))

void POOL_UKERNEL(avgpool_ukernel_hpass)(size_t rows, size_t n, size_t kernel, size_t stride, const POOL_T *in,
                                         size_t in_pitch, const POOL_T *col_scale, POOL_T row_scale, POOL_T *out,
                                         size_t out_room) {
    (void)out_room;
    for (size_t r = 0; r < rows; r++, in += in_pitch, out += n)
        for (size_t i = 0; i < n; i++) {
            const POOL_T *window = in + i * stride;
            POOL_T acc = 0;
            for (size_t k = 0; k < kernel; k++) acc += window[k];
            out[i] = acc * (col_scale ? col_scale[i] * row_scale : row_scale);
        }
}

/* ---- whole-plane reductions (global pools) ---------------------------------------------- */

/* Independent accumulators of a reduction, to hide the latency of each combine. */
#define POOL_REDUCE_ACCUMULATORS 4

#define POOL_DEFINE_REDUCE(name, combine, combine1, identity_of_first)                                  \
    POOL_T POOL_UKERNEL(name)(size_t n, const POOL_T *x) {                                              \
        POOL_T result = x[0];                                                                           \
        size_t i = 1;                                                                                   \
        if (n >= POOL_VL) {                                                                             \
            POOL_VEC acc[POOL_REDUCE_ACCUMULATORS];                                                     \
            acc[0] = POOL_LOCAL(load)(x);                                                               \
            _Pragma("GCC unroll 8") for (size_t a = 1; a < POOL_REDUCE_ACCUMULATORS; a++) acc[a] =      \
                identity_of_first(acc[0]);                                                              \
            i = POOL_VL;                                                                                \
            for (; i + POOL_REDUCE_ACCUMULATORS * POOL_VL <= n; i += POOL_REDUCE_ACCUMULATORS * POOL_VL) \
                _Pragma("GCC unroll 8") for (size_t a = 0; a < POOL_REDUCE_ACCUMULATORS; a++) acc[a] =  \
                    combine(acc[a], POOL_LOCAL(load)(x + i + a * POOL_VL));                             \
            for (; i + POOL_VL <= n; i += POOL_VL) acc[0] = combine(acc[0], POOL_LOCAL(load)(x + i));   \
            _Pragma("GCC unroll 8") for (size_t a = 1; a < POOL_REDUCE_ACCUMULATORS; a++) acc[0] =      \
                combine(acc[0], acc[a]);                                                                \
            /* Lanes pairwise, halving the width each step. */                                        \
            POOL_T lanes[POOL_VL];                                                                      \
            POOL_LOCAL(store)(lanes, acc[0]);                                                           \
            _Pragma("GCC unroll 8") for (size_t half = POOL_VL / 2; half > 0; half /= 2)               \
                for (size_t l = 0; l < half; l++) lanes[l] = combine1(lanes[l], lanes[l + half]);       \
            result = lanes[0];                                                                          \
        }                                                                                               \
        for (; i < n; i++) result = combine1(result, x[i]);                                             \
        return result;                                                                                  \
    }

/* The other accumulators start as copies of the first (max) or as zero (sum). */
#define POOL_SAME(v) (v)
POOL_INLINE POOL_VEC POOL_LOCAL(zero)(POOL_VEC v) { (void)v; return (POOL_VEC){0}; }
POOL_DEFINE_REDUCE(gmaxpool_ukernel, POOL_LOCAL(max), POOL_LOCAL(max1), POOL_SAME)
POOL_DEFINE_REDUCE(gavgpool_ukernel, POOL_ADD, POOL_ADD, POOL_LOCAL(zero))

/* This ISA's table. */
const POOL_PASTE(POOL_PASTE(fc_, POOL_SFX), _pool_ukernels) POOL_PASTE4(fc_, POOL_SFX, _pool_ukernels__, POOL_ISA) = {
    .max_vpass = POOL_UKERNEL(maxpool_ukernel_vpass),
    .sum_vpass = POOL_UKERNEL(avgpool_ukernel_vpass),
    .max_hpass = POOL_UKERNEL(maxpool_ukernel_hpass),
    .max_hpass_s1 = POOL_UKERNEL(maxpool_ukernel_hpass_s1),
    .max_hpass_s2 = POOL_UKERNEL(maxpool_ukernel_hpass_s2),
    .max_hpass_2s2 = POOL_UKERNEL(maxpool_ukernel_hpass_2s2),
    .max_hpass_3s2 = POOL_UKERNEL(maxpool_ukernel_hpass_3s2),
    .sum_hpass = POOL_UKERNEL(avgpool_ukernel_hpass),
    .sum_hpass_s1 = POOL_UKERNEL(avgpool_ukernel_hpass_s1),
    .sum_hpass_s2 = POOL_UKERNEL(avgpool_ukernel_hpass_s2),
    .max_reduce = POOL_UKERNEL(gmaxpool_ukernel),
    .sum_reduce = POOL_UKERNEL(gavgpool_ukernel),
};

#undef POOL_PASTE4_
#undef POOL_PASTE4
#undef POOL_PASTE_
#undef POOL_PASTE
#undef POOL_UKERNEL
#undef POOL_LOCAL
#undef POOL_VEC
#undef POOL_IVEC
#undef POOL_SHUFFLE2
#undef POOL_INLINE
#undef POOL_VPASS_UNROLL
#undef POOL_DEFINE_VPASS
#undef POOL_DEFINE_VPASS_ROW
#undef POOL_DEFINE_HPASS_ROWS
#undef POOL_UNSCALED
#undef POOL_SCALED
#undef POOL_UNIFORMLY_SCALED
#undef POOL_ADD
#undef POOL_DEFINE_MAX_HPASS
#undef POOL_DEFINE_SUM_HPASS
#undef POOL_REDUCE_ACCUMULATORS
#undef POOL_DEFINE_REDUCE
#undef POOL_SAME
/* The instantiating file sets these afresh for each dtype. */
#undef POOL_T
#undef POOL_T_BYTES
#undef POOL_IT
#undef POOL_SFX
#undef POOL_VL
