/* Depthwise microkernels for AVX-512F (compiled with -mavx512f -mavx2 -mfma): masked
 * loads/stores for the row edges, vpermt2 for the stride-2 deinterleave, unpacks and
 * vshuff32x4 for the f32 transposes of the interleaved method. */
#include <immintrin.h>

#include "common.h"

typedef float dw_f32x16 __attribute__((vector_size(64), aligned(4), may_alias));
typedef double dw_f64x8 __attribute__((vector_size(64), aligned(8), may_alias));
typedef int32_t dw_i32x16 __attribute__((vector_size(64)));
typedef int64_t dw_i64x8 __attribute__((vector_size(64)));

/* Bits of lanes i < vl with 0 <= start + i < n. */
static inline uint32_t dw_window_bits(ptrdiff_t start, size_t n, ptrdiff_t vl) {
    const ptrdiff_t lo = start < 0 ? -start : 0;
    ptrdiff_t hi = (ptrdiff_t)n - start;
    if (hi > vl) hi = vl;
    if (lo >= hi) return 0;
    return ((1u << hi) - 1u) & ~((1u << lo) - 1u);
}

static inline dw_f32x16 dw_f32_window(const float *row, ptrdiff_t start, size_t n) {
    return (dw_f32x16)_mm512_maskz_loadu_ps((__mmask16)dw_window_bits(start, n, 16), row + start);
}
static inline void dw_f32_store_partial(float *p, dw_f32x16 v, size_t n) {
    _mm512_mask_storeu_ps(p, (__mmask16)((1u << n) - 1u), (__m512)v);
}
static inline dw_f64x8 dw_f64_window(const double *row, ptrdiff_t start, size_t n) {
    return (dw_f64x8)_mm512_maskz_loadu_pd((__mmask8)dw_window_bits(start, n, 8), row + start);
}
static inline void dw_f64_store_partial(double *p, dw_f64x8 v, size_t n) {
    _mm512_mask_storeu_pd(p, (__mmask8)((1u << n) - 1u), (__m512d)v);
}

/* Pins a vector in a register: an empty asm GCC cannot fold loads or broadcasts into. Per
 * ISA, for both dtypes (the template's load_kept). */
#define DW_KEEP(v) __asm__("" : "+v"(v))

/* Lanes of b where bits are set, of a elsewhere. b is made a register first: GCC would
 * fold a broadcast into a merge-masked broadcast load, which Zen 4 runs slowly (the
 * streamed method's blends ran 25 % slower that way). */
static inline dw_f32x16 dw_f32_blend(unsigned bits, dw_f32x16 a, dw_f32x16 b) {
    DW_KEEP(b);
    return (dw_f32x16)_mm512_mask_blend_ps((__mmask16)bits, (__m512)a, (__m512)b);
}
static inline dw_f64x8 dw_f64_blend(unsigned bits, dw_f64x8 a, dw_f64x8 b) {
    DW_KEEP(b);
    return (dw_f64x8)_mm512_mask_blend_pd((__mmask8)bits, (__m512d)a, (__m512d)b);
}

/* The lower 32 bytes of v to lo, the upper to hi (the template's store_halves). The lower
 * half stores straight from a register the VEX store can name (xmm0-15: "x"); from the
 * intrinsics, GCC first extracted it out of zmm16-31, a shuffle beside the FMAs of 7x7
 * planes (+2.5 %). */
static inline void dw_store_halves(void *lo, void *hi, __m512d v) {
    __asm__("vmovupd %t1, %0" : "=m"(*(double(*)[4])lo) : "x"(v));
    _mm256_storeu_pd((double *)hi, _mm512_extractf64x4_pd(v, 1));
}
#define DW_STORE_HALVES(lo, hi, v) dw_store_halves((lo), (hi), (__m512d)(v)) /* per ISA, for both dtypes */
/* The 16 x 16 transpose of f32 vectors in two steps of cheap shuffles: the 4 x 4 squares
 * within each 128-bit lane of each row quadruple (in-lane unpacks), then the 4 x 4 square
 * of lanes (vshuff32x4). GCC's own code for the template's zips is four rounds of vpermt2ps,
 * which measured 3-8% slower on the interleaved method's layers. */
static inline void dw_f32_transpose(dw_f32x16 *v) {
    __m512 t[16];
    for (int i = 0; i < 16; i += 4) {
        const __m512 lo01 = _mm512_unpacklo_ps((__m512)v[i], (__m512)v[i + 1]);
        const __m512 hi01 = _mm512_unpackhi_ps((__m512)v[i], (__m512)v[i + 1]);
        const __m512 lo23 = _mm512_unpacklo_ps((__m512)v[i + 2], (__m512)v[i + 3]);
        const __m512 hi23 = _mm512_unpackhi_ps((__m512)v[i + 2], (__m512)v[i + 3]);
        /* t[i + q], lane l: element 4 l + q of rows i .. i + 3. */
        t[i] = _mm512_castpd_ps(_mm512_unpacklo_pd(_mm512_castps_pd(lo01), _mm512_castps_pd(lo23)));
        t[i + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(_mm512_castps_pd(lo01), _mm512_castps_pd(lo23)));
        t[i + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(_mm512_castps_pd(hi01), _mm512_castps_pd(hi23)));
        t[i + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(_mm512_castps_pd(hi01), _mm512_castps_pd(hi23)));
    }
    for (int q = 0; q < 4; q++) {
        /* Output row 4 l + q takes lane l of t[q], t[4 + q], t[8 + q], t[12 + q]. */
        const __m512 a01 = _mm512_shuffle_f32x4(t[q], t[4 + q], 0x44), a23 = _mm512_shuffle_f32x4(t[q], t[4 + q], 0xee);
        const __m512 b01 = _mm512_shuffle_f32x4(t[8 + q], t[12 + q], 0x44);
        const __m512 b23 = _mm512_shuffle_f32x4(t[8 + q], t[12 + q], 0xee);
        v[q] = (dw_f32x16)_mm512_shuffle_f32x4(a01, b01, 0x88);
        v[4 + q] = (dw_f32x16)_mm512_shuffle_f32x4(a01, b01, 0xdd);
        v[8 + q] = (dw_f32x16)_mm512_shuffle_f32x4(a23, b23, 0x88);
        v[12 + q] = (dw_f32x16)_mm512_shuffle_f32x4(a23, b23, 0xdd);
    }
}

#define DW_ISA avx512f

#define DW_T float
#define DW_SFX f32
#define DW_EPILOGUE fc_f32_epilogue
#define DW_VL 16
#define DW_VEC dw_f32x16
#define DW_VMIN(a, b) ((dw_f32x16)_mm512_min_ps((__m512)(a), (__m512)(b)))
#define DW_VMAX(a, b) ((dw_f32x16)_mm512_max_ps((__m512)(a), (__m512)(b)))
#define DW_LOAD_WINDOW dw_f32_window
#define DW_STORE_PARTIAL dw_f32_store_partial
#define DW_LOAD_MASKED(p, bits) ((dw_f32x16)_mm512_maskz_loadu_ps((__mmask16)(bits), (p)))
#define DW_STORE_MASKED(p, v, bits) _mm512_mask_storeu_ps((p), (__mmask16)(bits), (__m512)(v))
#define DW_IVEC dw_i32x16
#define DW_EVENS ((dw_i32x16){0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30})
#define DW_ODDS ((dw_i32x16){1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31})
#define DW_FROM_PREV ((dw_i32x16){31, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14})
#define DW_FROM_NEXT ((dw_i32x16){1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16})
#define DW_ZIP_LO ((dw_i32x16){0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23})
#define DW_ZIP_HI ((dw_i32x16){8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31})
#define DW_TRANSPOSE dw_f32_transpose
#define DW_SHIFT_UP(v, prev) ((dw_f32x16)_mm512_alignr_epi32((__m512i)(v), (__m512i)(prev), 15))
#define DW_SHIFT_DOWN(v, next) ((dw_f32x16)_mm512_alignr_epi32((__m512i)(next), (__m512i)(v), 1))
#define DW_SELECT(bits, v) ((dw_f32x16)_mm512_maskz_mov_ps((__mmask16)(bits), (__m512)(v)))
#define DW_SELECT_SHIFT_UP(bits, v, prev) \
    ((dw_f32x16)_mm512_maskz_alignr_epi32((__mmask16)(bits), (__m512i)(v), (__m512i)(prev), 15))
#define DW_SELECT_SHIFT_DOWN(bits, v, next) \
    ((dw_f32x16)_mm512_maskz_alignr_epi32((__mmask16)(bits), (__m512i)(next), (__m512i)(v), 1))
#define DW_BLEND dw_f32_blend
#include "dwconv/dwconv-template.h"

#define DW_T double
#define DW_SFX f64
#define DW_EPILOGUE fc_f64_epilogue
#define DW_VL 8
#define DW_VEC dw_f64x8
#define DW_VMIN(a, b) ((dw_f64x8)_mm512_min_pd((__m512d)(a), (__m512d)(b)))
#define DW_VMAX(a, b) ((dw_f64x8)_mm512_max_pd((__m512d)(a), (__m512d)(b)))
#define DW_LOAD_WINDOW dw_f64_window
#define DW_STORE_PARTIAL dw_f64_store_partial
#define DW_LOAD_MASKED(p, bits) ((dw_f64x8)_mm512_maskz_loadu_pd((__mmask8)(bits), (p)))
#define DW_STORE_MASKED(p, v, bits) _mm512_mask_storeu_pd((p), (__mmask8)(bits), (__m512d)(v))
#define DW_IVEC dw_i64x8
#define DW_EVENS ((dw_i64x8){0, 2, 4, 6, 8, 10, 12, 14})
#define DW_ODDS ((dw_i64x8){1, 3, 5, 7, 9, 11, 13, 15})
#define DW_FROM_PREV ((dw_i64x8){15, 0, 1, 2, 3, 4, 5, 6})
#define DW_FROM_NEXT ((dw_i64x8){1, 2, 3, 4, 5, 6, 7, 8})
#define DW_ZIP_LO ((dw_i64x8){0, 8, 1, 9, 2, 10, 3, 11})
#define DW_ZIP_HI ((dw_i64x8){4, 12, 5, 13, 6, 14, 7, 15})
#define DW_SHIFT_UP(v, prev) ((dw_f64x8)_mm512_alignr_epi64((__m512i)(v), (__m512i)(prev), 7))
#define DW_SHIFT_DOWN(v, next) ((dw_f64x8)_mm512_alignr_epi64((__m512i)(next), (__m512i)(v), 1))
#define DW_SELECT(bits, v) ((dw_f64x8)_mm512_maskz_mov_pd((__mmask8)(bits), (__m512d)(v)))
#define DW_SELECT_SHIFT_UP(bits, v, prev) \
    ((dw_f64x8)_mm512_maskz_alignr_epi64((__mmask8)(bits), (__m512i)(v), (__m512i)(prev), 7))
#define DW_SELECT_SHIFT_DOWN(bits, v, next) \
    ((dw_f64x8)_mm512_maskz_alignr_epi64((__mmask8)(bits), (__m512i)(next), (__m512i)(v), 1))
#define DW_BLEND dw_f64_blend
#include "dwconv/dwconv-template.h"
