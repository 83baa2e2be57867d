/* Depthwise microkernels for AVX2+FMA (compiled with -mavx2 -mfma): vmaskmov for the row
 * edges (masked-off lanes are not read, so no fault past either end of the row). */
#include <immintrin.h>

#include "common.h"

typedef float dw_f32x8 __attribute__((vector_size(32), aligned(4), may_alias));
typedef double dw_f64x4 __attribute__((vector_size(32), aligned(8), may_alias));
typedef int32_t dw_i32x8 __attribute__((vector_size(32)));
typedef int64_t dw_i64x4 __attribute__((vector_size(32)));

/* Pins a vector in a register: an empty asm GCC cannot fold loads or broadcasts into. Per
 * ISA, for both dtypes (the template's load_kept). */
#define DW_KEEP(v) __asm__("" : "+v"(v))

/* Lanes [lo, hi) of a vector of vl lanes are those with 0 <= start + i < n. */
static inline void dw_lane_range(ptrdiff_t start, size_t n, ptrdiff_t vl, int *lo, int *hi) {
    const ptrdiff_t first = start < 0 ? -start : 0, end = (ptrdiff_t)n - start;
    *lo = (int)(first < vl ? first : vl);
    *hi = (int)(end < 0 ? 0 : end < vl ? end : vl);
}

/* All-ones (GCC vector comparisons give -1 / 0) in the window lanes, 32- or 64-bit ones. */
static inline __m256i dw_window_mask_i32(ptrdiff_t start, size_t n) {
    int lo, hi;
    dw_lane_range(start, n, 8, &lo, &hi);
    const dw_i32x8 iota = {0, 1, 2, 3, 4, 5, 6, 7};
    return (__m256i)((iota >= lo) & (iota < hi));
}
static inline __m256i dw_window_mask_i64(ptrdiff_t start, size_t n) {
    int lo, hi;
    dw_lane_range(start, n, 4, &lo, &hi);
    const dw_i64x4 iota = {0, 1, 2, 3};
    return (__m256i)((iota >= lo) & (iota < hi));
}

/* All-ones in the lanes whose bit is set. */
static inline __m256i dw_bits_mask_i32(unsigned bits) {
    const dw_i32x8 lane_bit = {1, 2, 4, 8, 16, 32, 64, 128};
    return (__m256i)((((dw_i32x8){0} + (int32_t)bits) & lane_bit) != 0);
}
static inline __m256i dw_bits_mask_i64(unsigned bits) {
    const dw_i64x4 lane_bit = {1, 2, 4, 8};
    return (__m256i)((((dw_i64x4){0} + (int64_t)bits) & lane_bit) != 0);
}

static inline dw_f32x8 dw_f32_window(const float *row, ptrdiff_t start, size_t n) {
    return (dw_f32x8)_mm256_maskload_ps(row + start, dw_window_mask_i32(start, n));
}
static inline void dw_f32_store_partial(float *p, dw_f32x8 v, size_t n) {
    _mm256_maskstore_ps(p, dw_window_mask_i32(0, n), (__m256)v);
}
static inline dw_f64x4 dw_f64_window(const double *row, ptrdiff_t start, size_t n) {
    return (dw_f64x4)_mm256_maskload_pd(row + start, dw_window_mask_i64(start, n));
}
static inline void dw_f64_store_partial(double *p, dw_f64x4 v, size_t n) {
    _mm256_maskstore_pd(p, dw_window_mask_i64(0, n), (__m256d)v);
}

/* Lane shifts across two vectors in two in-lane steps (AVX2 has no two-source permute):
 * the 128-bit halves straddling the two vectors, then a byte align within each half.
 * Up: prev's last element, then v's first ones; down: v's last ones, then next's first. */
#define dw_shift_up(v, prev, bytes) _mm256_alignr_epi8((v), _mm256_permute2x128_si256((prev), (v), 0x21), (bytes))
#define dw_shift_down(v, next, bytes) _mm256_alignr_epi8(_mm256_permute2x128_si256((v), (next), 0x21), (v), (bytes))

/* The lower 16 bytes of v to lo, the upper to hi (per ISA, for both dtypes). */
static inline void dw_store_halves(void *lo, void *hi, __m256d v) {
    _mm_storeu_pd((double *)lo, _mm256_castpd256_pd128(v));
    _mm_storeu_pd((double *)hi, _mm256_extractf128_pd(v, 1));
}
#define DW_STORE_HALVES(lo, hi, v) dw_store_halves((lo), (hi), (__m256d)(v))

/* vmaskmovps loads are slow: the direct method's stride-1 tap columns are lane shifts. */
#define DW_DIRECT_TAP_LOADS 0
#define DW_ISA avx2

#define DW_T float
#define DW_SFX f32
#define DW_EPILOGUE fc_f32_epilogue
#define DW_VL 8
#define DW_VEC dw_f32x8
#define DW_VMIN(a, b) ((dw_f32x8)_mm256_min_ps((__m256)(a), (__m256)(b)))
#define DW_VMAX(a, b) ((dw_f32x8)_mm256_max_ps((__m256)(a), (__m256)(b)))
#define DW_LOAD_WINDOW dw_f32_window
#define DW_STORE_PARTIAL dw_f32_store_partial
#define DW_LOAD_MASKED(p, bits) ((bits) == 0xffu ? *(const dw_f32x8 *)(p) : (dw_f32x8)_mm256_maskload_ps((p), dw_bits_mask_i32(bits)))
#define DW_STORE_MASKED(p, v, bits) _mm256_maskstore_ps((p), dw_bits_mask_i32(bits), (__m256)(v))
#define DW_IVEC dw_i32x8
#define DW_EVENS ((dw_i32x8){0, 2, 4, 6, 8, 10, 12, 14})
#define DW_ODDS ((dw_i32x8){1, 3, 5, 7, 9, 11, 13, 15})
#define DW_FROM_PREV ((dw_i32x8){15, 0, 1, 2, 3, 4, 5, 6})
#define DW_FROM_NEXT ((dw_i32x8){1, 2, 3, 4, 5, 6, 7, 8})
#define DW_ZIP_LO ((dw_i32x8){0, 8, 1, 9, 2, 10, 3, 11})
#define DW_ZIP_HI ((dw_i32x8){4, 12, 5, 13, 6, 14, 7, 15})
#define DW_SHIFT_UP(v, prev) ((dw_f32x8)dw_shift_up((__m256i)(v), (__m256i)(prev), 12))
#define DW_SHIFT_DOWN(v, next) ((dw_f32x8)dw_shift_down((__m256i)(v), (__m256i)(next), 4))
#include "dwconv/dwconv-template.h"

#define DW_T double
#define DW_SFX f64
#define DW_EPILOGUE fc_f64_epilogue
#define DW_VL 4
#define DW_VEC dw_f64x4
#define DW_VMIN(a, b) ((dw_f64x4)_mm256_min_pd((__m256d)(a), (__m256d)(b)))
#define DW_VMAX(a, b) ((dw_f64x4)_mm256_max_pd((__m256d)(a), (__m256d)(b)))
#define DW_LOAD_WINDOW dw_f64_window
#define DW_STORE_PARTIAL dw_f64_store_partial
#define DW_LOAD_MASKED(p, bits) ((bits) == 0xfu ? *(const dw_f64x4 *)(p) : (dw_f64x4)_mm256_maskload_pd((p), dw_bits_mask_i64(bits)))
#define DW_STORE_MASKED(p, v, bits) _mm256_maskstore_pd((p), dw_bits_mask_i64(bits), (__m256d)(v))
#define DW_IVEC dw_i64x4
#define DW_EVENS ((dw_i64x4){0, 2, 4, 6})
#define DW_ODDS ((dw_i64x4){1, 3, 5, 7})
#define DW_FROM_PREV ((dw_i64x4){7, 0, 1, 2})
#define DW_FROM_NEXT ((dw_i64x4){1, 2, 3, 4})
#define DW_ZIP_LO ((dw_i64x4){0, 4, 1, 5})
#define DW_ZIP_HI ((dw_i64x4){2, 6, 3, 7})
#define DW_SHIFT_UP(v, prev) ((dw_f64x4)dw_shift_up((__m256i)(v), (__m256i)(prev), 8))
#define DW_SHIFT_DOWN(v, next) ((dw_f64x4)dw_shift_down((__m256i)(v), (__m256i)(next), 8))
#include "dwconv/dwconv-template.h"
