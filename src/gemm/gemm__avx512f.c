/* GEMM microkernels for AVX-512F, compiled with -mavx512f -mfma: 24 of the 32 zmm registers
 * accumulate (12 rows x 2 vectors), 2 hold the B row, 1 the broadcast A value. */
#define GEMM_VBYTES 64

#define GEMM_T float
#define GEMM_MR 12
#define GEMM_NR 32
#define GEMM_NAME fc_f32_gemm_ukernel_12x32__avx512f
#define GEMM_EPILOGUE fc_f32_epilogue
#include "gemm/gemm-template.h"

#define GEMM_T double
#define GEMM_MR 12
#define GEMM_NR 16
#define GEMM_NAME fc_f64_gemm_ukernel_12x16__avx512f
#define GEMM_EPILOGUE fc_f64_epilogue
#include "gemm/gemm-template.h"
