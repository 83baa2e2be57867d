/* Shared opening of the GEMM templates: derived sizes and the vector type of one
 * instantiation (see gemm-template.h for the parameters); gemm-template-end.h undoes it. */
#include <string.h>

#include "common.h"

#define GEMM_VL (GEMM_VBYTES / sizeof(GEMM_T))
#define GEMM_NV (GEMM_NR / GEMM_VL)
#define GEMM_PASTE_(a, b) a##b
#define GEMM_PASTE(a, b) GEMM_PASTE_(a, b)
#define GEMM_VEC GEMM_PASTE(GEMM_NAME, _vec)
#define GEMM_INT GEMM_PASTE(GEMM_NAME, _int)
#define GEMM_IVEC GEMM_PASTE(GEMM_NAME, _ivec)

/* Unaligned, aliasing-safe vector of GEMM_VL elements. */
typedef GEMM_T GEMM_VEC __attribute__((vector_size(GEMM_VBYTES), aligned(sizeof(GEMM_T)), may_alias));
/* Integer lanes of the same width: lane numbers, shuffle patterns, comparison masks. */
typedef __typeof__(_Generic((GEMM_T)0, float: (int32_t)0, double: (int64_t)0)) GEMM_INT;
typedef GEMM_INT GEMM_IVEC __attribute__((vector_size(GEMM_VBYTES)));
