/* Portable pooling microkernels: one-element "vectors", so plain C on any CPU, compiled
 * without ISA flags. */
#define POOL_ISA scalar

#define POOL_T float
#define POOL_T_BYTES 4
#define POOL_IT int32_t
#define POOL_SFX f32
#define POOL_VL 1
#include "pool/pool-template.h"

#define POOL_T double
#define POOL_T_BYTES 8
#define POOL_IT int64_t
#define POOL_SFX f64
#define POOL_VL 1
#include "pool/pool-template.h"
