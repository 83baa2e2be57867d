/* Pooling microkernels for AVX-512F, compiled with -mavx512f: 512-bit vectors; the stride-2
 * deinterleave is one two-source permute (vpermt2ps/pd). */
#define POOL_ISA avx512f

#define POOL_T float
#define POOL_T_BYTES 4
#define POOL_IT int32_t
#define POOL_SFX f32
#define POOL_VL 16
#include "pool/pool-template.h"

#define POOL_T double
#define POOL_T_BYTES 8
#define POOL_IT int64_t
#define POOL_SFX f64
#define POOL_VL 8
#include "pool/pool-template.h"
