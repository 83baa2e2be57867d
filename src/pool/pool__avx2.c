/* Pooling microkernels for AVX2, compiled with -mavx2 -mfma: 256-bit vectors. */
#define POOL_ISA avx2

#define POOL_T float
#define POOL_T_BYTES 4
#define POOL_IT int32_t
#define POOL_SFX f32
#define POOL_VL 8
#include "pool/pool-template.h"

#define POOL_T double
#define POOL_T_BYTES 8
#define POOL_IT int64_t
#define POOL_SFX f64
#define POOL_VL 4
#include "pool/pool-template.h"
