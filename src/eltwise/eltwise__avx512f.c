/* Activation kernels compiled with -mavx512f. */
#define ELTWISE_T float
#define ELTWISE_NAME fc_f32_activation_ukernel__avx512f
#include "eltwise/eltwise-template.h"

#define ELTWISE_T double
#define ELTWISE_NAME fc_f64_activation_ukernel__avx512f
#include "eltwise/eltwise-template.h"
