/* Shared opening of the GEMM templates: derived sizes and the vector type of one
 * instantiation (see gemm-template.h for the parameters); gemm-template-end.h undoes it. */
#include <string.h>

#include "common.h"

#define GEMM_VL (GEMM_VBYTES / sizeof(GEMM_T))
#define GEMM_NV (GEMM_NR / GEMM_VL)
#define GEMM_PASTE_(a, b) a##b
#define GEMM_PASTE(a, b) GEMM_PASTE_(a, b)
#define GEMM_VEC GEMM_PASTE(GEMM_NAME, _vec)

/* Unaligned, aliasing-safe vector of GEMM_VL elements. */
typedef GEMM_T GEMM_VEC __attribute__((vector_size(GEMM_VBYTES), aligned(sizeof(GEMM_T)), may_alias));
