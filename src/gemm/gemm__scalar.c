/* Portable GEMM microkernels: one-element "vectors", so plain C arithmetic on any CPU,
 * compiled without ISA flags. 4 x 4 accumulators fit the scalar registers of every target. */
#define GEMM_VBYTES sizeof(GEMM_T)

#define GEMM_T float
#define GEMM_MR 4
#define GEMM_NR 4
#define GEMM_NAME fc_f32_gemm_ukernel_4x4__scalar
#define GEMM_EPILOGUE fc_f32_epilogue
#include "gemm/gemm-template.h"

#define GEMM_T double
#define GEMM_MR 4
#define GEMM_NR 4
#define GEMM_NAME fc_f64_gemm_ukernel_4x4__scalar
#define GEMM_EPILOGUE fc_f64_epilogue
#include "gemm/gemm-template.h"

/* Transposed tiles (pixels x channels): see gemm-transposed-template.h. */
#define GEMM_T float
#define GEMM_MR 4
#define GEMM_NR 4
#define GEMM_NAME fc_f32_gemm_transposed_ukernel_4x4__scalar
#define GEMM_EPILOGUE fc_f32_epilogue
#include "gemm/gemm-transposed-template.h"

#define GEMM_T double
#define GEMM_MR 4
#define GEMM_NR 4
#define GEMM_NAME fc_f64_gemm_transposed_ukernel_4x4__scalar
#define GEMM_EPILOGUE fc_f64_epilogue
#include "gemm/gemm-transposed-template.h"
