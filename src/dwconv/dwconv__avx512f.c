/* Depthwise microkernels for AVX-512F (compiled with -mavx512f -mavx2 -mfma): masked
 * loads/stores for the row edges, vpermt2 for the stride-2 deinterleave. */
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
#define DW_EVENS ((dw_i32x16){0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30})
#define DW_ODDS ((dw_i32x16){1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31})
#define DW_FROM_PREV ((dw_i32x16){31, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14})
#define DW_FROM_NEXT ((dw_i32x16){1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16})
#define DW_ZIP_LO ((dw_i32x16){0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23})
#define DW_ZIP_HI ((dw_i32x16){8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31})
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
#define DW_EVENS ((dw_i64x8){0, 2, 4, 6, 8, 10, 12, 14})
#define DW_ODDS ((dw_i64x8){1, 3, 5, 7, 9, 11, 13, 15})
#define DW_FROM_PREV ((dw_i64x8){15, 0, 1, 2, 3, 4, 5, 6})
#define DW_FROM_NEXT ((dw_i64x8){1, 2, 3, 4, 5, 6, 7, 8})
#define DW_ZIP_LO ((dw_i64x8){0, 8, 1, 9, 2, 10, 3, 11})
#define DW_ZIP_HI ((dw_i64x8){4, 12, 5, 13, 6, 14, 7, 15})
#include "dwconv/dwconv-template.h"
