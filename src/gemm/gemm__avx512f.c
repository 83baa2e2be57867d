/* GEMM microkernels for AVX-512F, compiled with -mavx512f -mfma: 24 of the 32 zmm registers
 * accumulate (12 rows x 2 vectors, or 8 rows x 3 vectors for output channel counts that
 * are multiples of 8 but not of 12), the rest hold the B row and the broadcast A value. */
#include <immintrin.h>

#define GEMM_VBYTES 64
/* Lanes [first, first + n) move by masked loads and stores (the masked-off lanes are never
 * touched): regular tiles stored in several runs, and transposed tiles' stores. */
#define GEMM_LANES(first, n) (((1u << (n)) - 1) << (first))
#define GEMM_LOAD_LANES_PS(p, first, n) \
    ((GEMM_VEC)_mm512_maskz_loadu_ps((__mmask16)GEMM_LANES(first, n), (p) - (first)))
#define GEMM_STORE_LANES_PS(p, v, first, n) \
    _mm512_mask_storeu_ps((p) - (first), (__mmask16)GEMM_LANES(first, n), (__m512)(v))
#define GEMM_LOAD_LANES_PD(p, first, n) \
    ((GEMM_VEC)_mm512_maskz_loadu_pd((__mmask8)GEMM_LANES(first, n), (p) - (first)))
#define GEMM_STORE_LANES_PD(p, v, first, n) \
    _mm512_mask_storeu_pd((p) - (first), (__mmask8)GEMM_LANES(first, n), (__m512d)(v))

/* x86 max/min return their second operand when either is NaN: (lo, v) keeps a NaN v. */

#define GEMM_T float
#define GEMM_VMAX(v, lo) _mm512_max_ps(lo, v)
#define GEMM_VMIN(v, hi) _mm512_min_ps(hi, v)
#define GEMM_LOAD_LANES GEMM_LOAD_LANES_PS
#define GEMM_STORE_LANES GEMM_STORE_LANES_PS
#define GEMM_MR 12
#define GEMM_NR 32
#define GEMM_NAME fc_f32_gemm_ukernel_12x32__avx512f
#define GEMM_EPILOGUE fc_f32_epilogue
#include "gemm/gemm-template.h"

#define GEMM_T double
#define GEMM_VMAX(v, lo) _mm512_max_pd(lo, v)
#define GEMM_VMIN(v, hi) _mm512_min_pd(hi, v)
#define GEMM_LOAD_LANES GEMM_LOAD_LANES_PD
#define GEMM_STORE_LANES GEMM_STORE_LANES_PD
#define GEMM_MR 12
#define GEMM_NR 16
#define GEMM_NAME fc_f64_gemm_ukernel_12x16__avx512f
#define GEMM_EPILOGUE fc_f64_epilogue
#include "gemm/gemm-template.h"

#define GEMM_T float
#define GEMM_VMAX(v, lo) _mm512_max_ps(lo, v)
#define GEMM_VMIN(v, hi) _mm512_min_ps(hi, v)
#define GEMM_LOAD_LANES GEMM_LOAD_LANES_PS
#define GEMM_STORE_LANES GEMM_STORE_LANES_PS
#define GEMM_MR 8
#define GEMM_NR 48
#define GEMM_NAME fc_f32_gemm_ukernel_8x48__avx512f
#define GEMM_EPILOGUE fc_f32_epilogue
#include "gemm/gemm-template.h"

#define GEMM_T double
#define GEMM_VMAX(v, lo) _mm512_max_pd(lo, v)
#define GEMM_VMIN(v, hi) _mm512_min_pd(hi, v)
#define GEMM_LOAD_LANES GEMM_LOAD_LANES_PD
#define GEMM_STORE_LANES GEMM_STORE_LANES_PD
#define GEMM_MR 8
#define GEMM_NR 24
#define GEMM_NAME fc_f64_gemm_ukernel_8x24__avx512f
#define GEMM_EPILOGUE fc_f64_epilogue
#include "gemm/gemm-template.h"

/* One-vector tiles for the last columns of a band (see fc_*_gemm_config.tail). */

#define GEMM_T float
#define GEMM_VMAX(v, lo) _mm512_max_ps(lo, v)
#define GEMM_VMIN(v, hi) _mm512_min_ps(hi, v)
#define GEMM_LOAD_LANES GEMM_LOAD_LANES_PS
#define GEMM_STORE_LANES GEMM_STORE_LANES_PS
#define GEMM_MR 12
#define GEMM_NR 16
#define GEMM_NAME fc_f32_gemm_ukernel_12x16__avx512f
#define GEMM_EPILOGUE fc_f32_epilogue
#include "gemm/gemm-template.h"

#define GEMM_T float
#define GEMM_VMAX(v, lo) _mm512_max_ps(lo, v)
#define GEMM_VMIN(v, hi) _mm512_min_ps(hi, v)
#define GEMM_LOAD_LANES GEMM_LOAD_LANES_PS
#define GEMM_STORE_LANES GEMM_STORE_LANES_PS
#define GEMM_MR 8
#define GEMM_NR 16
#define GEMM_NAME fc_f32_gemm_ukernel_8x16__avx512f
#define GEMM_EPILOGUE fc_f32_epilogue
#include "gemm/gemm-template.h"

#define GEMM_T double
#define GEMM_VMAX(v, lo) _mm512_max_pd(lo, v)
#define GEMM_VMIN(v, hi) _mm512_min_pd(hi, v)
#define GEMM_LOAD_LANES GEMM_LOAD_LANES_PD
#define GEMM_STORE_LANES GEMM_STORE_LANES_PD
#define GEMM_MR 12
#define GEMM_NR 8
#define GEMM_NAME fc_f64_gemm_ukernel_12x8__avx512f
#define GEMM_EPILOGUE fc_f64_epilogue
#include "gemm/gemm-template.h"

#define GEMM_T double
#define GEMM_VMAX(v, lo) _mm512_max_pd(lo, v)
#define GEMM_VMIN(v, hi) _mm512_min_pd(hi, v)
#define GEMM_LOAD_LANES GEMM_LOAD_LANES_PD
#define GEMM_STORE_LANES GEMM_STORE_LANES_PD
#define GEMM_MR 8
#define GEMM_NR 8
#define GEMM_NAME fc_f64_gemm_ukernel_8x8__avx512f
#define GEMM_EPILOGUE fc_f64_epilogue
#include "gemm/gemm-template.h"

/* Transposed tiles (pixels x channels): see gemm-transposed-template.h. 14 pixels x 2
 * vectors, or 7 x 3 for rows of 7 (7 x 4 would need one register more than there are:
 * 28 accumulators, 4 weight vectors and the broadcast). */
#define GEMM_T float
#define GEMM_LOAD_LANES GEMM_LOAD_LANES_PS
#define GEMM_STORE_LANES GEMM_STORE_LANES_PS
#define GEMM_MR 14
#define GEMM_NR 32
#define GEMM_NAME fc_f32_gemm_transposed_ukernel_14x32__avx512f
#define GEMM_EPILOGUE fc_f32_epilogue
#include "gemm/gemm-transposed-template.h"

#define GEMM_T double
#define GEMM_LOAD_LANES GEMM_LOAD_LANES_PD
#define GEMM_STORE_LANES GEMM_STORE_LANES_PD
#define GEMM_MR 14
#define GEMM_NR 16
#define GEMM_NAME fc_f64_gemm_transposed_ukernel_14x16__avx512f
#define GEMM_EPILOGUE fc_f64_epilogue
#include "gemm/gemm-transposed-template.h"

#define GEMM_T float
#define GEMM_LOAD_LANES GEMM_LOAD_LANES_PS
#define GEMM_STORE_LANES GEMM_STORE_LANES_PS
#define GEMM_MR 7
#define GEMM_NR 48
#define GEMM_NAME fc_f32_gemm_transposed_ukernel_7x48__avx512f
#define GEMM_EPILOGUE fc_f32_epilogue
#include "gemm/gemm-transposed-template.h"

#define GEMM_T double
#define GEMM_LOAD_LANES GEMM_LOAD_LANES_PD
#define GEMM_STORE_LANES GEMM_STORE_LANES_PD
#define GEMM_MR 7
#define GEMM_NR 24
#define GEMM_NAME fc_f64_gemm_transposed_ukernel_7x24__avx512f
#define GEMM_EPILOGUE fc_f64_epilogue
#include "gemm/gemm-transposed-template.h"

/* Narrow transposed tiles, for grouped layers with 16 or 32 output channels per group (one
 * or two vectors): 14 pixels x 1 vector and 7 x 2. */
#define GEMM_T float
#define GEMM_LOAD_LANES GEMM_LOAD_LANES_PS
#define GEMM_STORE_LANES GEMM_STORE_LANES_PS
#define GEMM_MR 14
#define GEMM_NR 16
#define GEMM_NAME fc_f32_gemm_transposed_ukernel_14x16__avx512f
#define GEMM_EPILOGUE fc_f32_epilogue
#include "gemm/gemm-transposed-template.h"

#define GEMM_T float
#define GEMM_LOAD_LANES GEMM_LOAD_LANES_PS
#define GEMM_STORE_LANES GEMM_STORE_LANES_PS
#define GEMM_MR 7
#define GEMM_NR 32
#define GEMM_NAME fc_f32_gemm_transposed_ukernel_7x32__avx512f
#define GEMM_EPILOGUE fc_f32_epilogue
#include "gemm/gemm-transposed-template.h"

#define GEMM_T double
#define GEMM_LOAD_LANES GEMM_LOAD_LANES_PD
#define GEMM_STORE_LANES GEMM_STORE_LANES_PD
#define GEMM_MR 14
#define GEMM_NR 8
#define GEMM_NAME fc_f64_gemm_transposed_ukernel_14x8__avx512f
#define GEMM_EPILOGUE fc_f64_epilogue
#include "gemm/gemm-transposed-template.h"

#define GEMM_T double
#define GEMM_LOAD_LANES GEMM_LOAD_LANES_PD
#define GEMM_STORE_LANES GEMM_STORE_LANES_PD
#define GEMM_MR 7
#define GEMM_NR 16
#define GEMM_NAME fc_f64_gemm_transposed_ukernel_7x16__avx512f
#define GEMM_EPILOGUE fc_f64_epilogue
#include "gemm/gemm-transposed-template.h"

/* Rows of 8 (Inception's 8x8 maps), one tile per row: 8 pixels x 3 vectors. */
#define GEMM_T float
#define GEMM_LOAD_LANES GEMM_LOAD_LANES_PS
#define GEMM_STORE_LANES GEMM_STORE_LANES_PS
#define GEMM_MR 8
#define GEMM_NR 48
#define GEMM_NAME fc_f32_gemm_transposed_ukernel_8x48__avx512f
#define GEMM_EPILOGUE fc_f32_epilogue
#include "gemm/gemm-transposed-template.h"

#define GEMM_T double
#define GEMM_LOAD_LANES GEMM_LOAD_LANES_PD
#define GEMM_STORE_LANES GEMM_STORE_LANES_PD
#define GEMM_MR 8
#define GEMM_NR 24
#define GEMM_NAME fc_f64_gemm_transposed_ukernel_8x24__avx512f
#define GEMM_EPILOGUE fc_f64_epilogue
#include "gemm/gemm-transposed-template.h"

/* Rows of 17 (Inception's 17x17 maps), one tile per row: 17 pixels x 1 vector. */
#define GEMM_T float
#define GEMM_LOAD_LANES GEMM_LOAD_LANES_PS
#define GEMM_STORE_LANES GEMM_STORE_LANES_PS
#define GEMM_MR 17
#define GEMM_NR 16
#define GEMM_NAME fc_f32_gemm_transposed_ukernel_17x16__avx512f
#define GEMM_EPILOGUE fc_f32_epilogue
#include "gemm/gemm-transposed-template.h"
