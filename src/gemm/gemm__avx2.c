/* GEMM microkernels for AVX2+FMA, compiled with -mavx2 -mfma: 12 of the 16 ymm registers
 * accumulate (6 rows x 2 vectors, or 4 rows x 3 vectors), the rest hold the B row and the
 * broadcast A value. */
#include <immintrin.h>

#define GEMM_VBYTES 32
/* x86 max/min return their second operand when either is NaN: (lo, v) keeps a NaN v. */

#define GEMM_T float
#define GEMM_VMAX(v, lo) _mm256_max_ps(lo, v)
#define GEMM_VMIN(v, hi) _mm256_min_ps(hi, v)
#define GEMM_MR 6
#define GEMM_NR 16
#define GEMM_NAME fc_f32_gemm_ukernel_6x16__avx2
#define GEMM_EPILOGUE fc_f32_epilogue
#include "gemm/gemm-template.h"

#define GEMM_T double
#define GEMM_VMAX(v, lo) _mm256_max_pd(lo, v)
#define GEMM_VMIN(v, hi) _mm256_min_pd(hi, v)
#define GEMM_MR 6
#define GEMM_NR 8
#define GEMM_NAME fc_f64_gemm_ukernel_6x8__avx2
#define GEMM_EPILOGUE fc_f64_epilogue
#include "gemm/gemm-template.h"

#define GEMM_T float
#define GEMM_VMAX(v, lo) _mm256_max_ps(lo, v)
#define GEMM_VMIN(v, hi) _mm256_min_ps(hi, v)
#define GEMM_MR 4
#define GEMM_NR 24
#define GEMM_NAME fc_f32_gemm_ukernel_4x24__avx2
#define GEMM_EPILOGUE fc_f32_epilogue
#include "gemm/gemm-template.h"

#define GEMM_T double
#define GEMM_VMAX(v, lo) _mm256_max_pd(lo, v)
#define GEMM_VMIN(v, hi) _mm256_min_pd(hi, v)
#define GEMM_MR 4
#define GEMM_NR 12
#define GEMM_NAME fc_f64_gemm_ukernel_4x12__avx2
#define GEMM_EPILOGUE fc_f64_epilogue
#include "gemm/gemm-template.h"

/* One-vector tiles for the last columns of a band (see fc_*_gemm_config.tail). */

#define GEMM_T float
#define GEMM_VMAX(v, lo) _mm256_max_ps(lo, v)
#define GEMM_VMIN(v, hi) _mm256_min_ps(hi, v)
#define GEMM_MR 6
#define GEMM_NR 8
#define GEMM_NAME fc_f32_gemm_ukernel_6x8__avx2
#define GEMM_EPILOGUE fc_f32_epilogue
#include "gemm/gemm-template.h"

#define GEMM_T float
#define GEMM_VMAX(v, lo) _mm256_max_ps(lo, v)
#define GEMM_VMIN(v, hi) _mm256_min_ps(hi, v)
#define GEMM_MR 4
#define GEMM_NR 8
#define GEMM_NAME fc_f32_gemm_ukernel_4x8__avx2
#define GEMM_EPILOGUE fc_f32_epilogue
#include "gemm/gemm-template.h"

#define GEMM_T double
#define GEMM_VMAX(v, lo) _mm256_max_pd(lo, v)
#define GEMM_VMIN(v, hi) _mm256_min_pd(hi, v)
#define GEMM_MR 6
#define GEMM_NR 4
#define GEMM_NAME fc_f64_gemm_ukernel_6x4__avx2
#define GEMM_EPILOGUE fc_f64_epilogue
#include "gemm/gemm-template.h"

#define GEMM_T double
#define GEMM_VMAX(v, lo) _mm256_max_pd(lo, v)
#define GEMM_VMIN(v, hi) _mm256_min_pd(hi, v)
#define GEMM_MR 4
#define GEMM_NR 4
#define GEMM_NAME fc_f64_gemm_ukernel_4x4__avx2
#define GEMM_EPILOGUE fc_f64_epilogue
#include "gemm/gemm-template.h"

/* Transposed tiles (pixels x channels): see gemm-transposed-template.h. Lanes [first,
 * first + n) move by masked loads and stores (mask lanes -1 there; the others are never
 * touched). */
#define GEMM_LANE_NUMBERS_PS _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7)
#define GEMM_LANE_NUMBERS_PD _mm256_setr_epi64x(0, 1, 2, 3)
#define GEMM_LANES_PS(first, n)                                                                    \
    _mm256_and_si256(_mm256_cmpgt_epi32(_mm256_set1_epi32((int)((first) + (n))), GEMM_LANE_NUMBERS_PS), \
                     _mm256_cmpgt_epi32(GEMM_LANE_NUMBERS_PS, _mm256_set1_epi32((int)(first)-1)))
#define GEMM_LANES_PD(first, n)                                                                          \
    _mm256_and_si256(_mm256_cmpgt_epi64(_mm256_set1_epi64x((long long)((first) + (n))), GEMM_LANE_NUMBERS_PD), \
                     _mm256_cmpgt_epi64(GEMM_LANE_NUMBERS_PD, _mm256_set1_epi64x((long long)(first)-1)))
#define GEMM_LOAD_LANES_PS(p, first, n) ((GEMM_VEC)_mm256_maskload_ps((p) - (first), GEMM_LANES_PS(first, n)))
#define GEMM_STORE_LANES_PS(p, v, first, n) _mm256_maskstore_ps((p) - (first), GEMM_LANES_PS(first, n), (__m256)(v))
#define GEMM_LOAD_LANES_PD(p, first, n) ((GEMM_VEC)_mm256_maskload_pd((p) - (first), GEMM_LANES_PD(first, n)))
#define GEMM_STORE_LANES_PD(p, v, first, n) _mm256_maskstore_pd((p) - (first), GEMM_LANES_PD(first, n), (__m256d)(v))

#define GEMM_T float
#define GEMM_LOAD_LANES GEMM_LOAD_LANES_PS
#define GEMM_STORE_LANES GEMM_STORE_LANES_PS
#define GEMM_MR 6
#define GEMM_NR 16
#define GEMM_NAME fc_f32_gemm_transposed_ukernel_6x16__avx2
#define GEMM_EPILOGUE fc_f32_epilogue
#include "gemm/gemm-transposed-template.h"

#define GEMM_T double
#define GEMM_LOAD_LANES GEMM_LOAD_LANES_PD
#define GEMM_STORE_LANES GEMM_STORE_LANES_PD
#define GEMM_MR 6
#define GEMM_NR 8
#define GEMM_NAME fc_f64_gemm_transposed_ukernel_6x8__avx2
#define GEMM_EPILOGUE fc_f64_epilogue
#include "gemm/gemm-transposed-template.h"
