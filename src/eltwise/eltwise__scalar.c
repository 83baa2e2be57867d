/* Portable activation kernels, compiled without ISA flags. */
#define ELTWISE_T float
#define ELTWISE_NAME fc_f32_activation_ukernel__scalar
#include "eltwise/eltwise-template.h"

#define ELTWISE_T double
#define ELTWISE_NAME fc_f64_activation_ukernel__scalar
#include "eltwise/eltwise-template.h"
