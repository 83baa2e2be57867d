/* The pooling microkernel table of each ISA (see pool.h). */
#include "pool/pool.h"

#include "dispatch.h"

extern const fc_f32_pool_ukernels fc_f32_pool_ukernels__scalar;
extern const fc_f64_pool_ukernels fc_f64_pool_ukernels__scalar;
#ifdef FC_HAVE_X86_VARIANTS
extern const fc_f32_pool_ukernels fc_f32_pool_ukernels__avx2, fc_f32_pool_ukernels__avx512f;
extern const fc_f64_pool_ukernels fc_f64_pool_ukernels__avx2, fc_f64_pool_ukernels__avx512f;
#endif

const fc_f32_pool_ukernels *fc_f32_pool_ukernels_for(int isa) {
    switch (isa) {
#ifdef FC_HAVE_X86_VARIANTS
    case FC_ISA_AVX512: return &fc_f32_pool_ukernels__avx512f;
    case FC_ISA_AVX2: return &fc_f32_pool_ukernels__avx2;
#endif
    default: return &fc_f32_pool_ukernels__scalar;
    }
}

const fc_f64_pool_ukernels *fc_f64_pool_ukernels_for(int isa) {
    switch (isa) {
#ifdef FC_HAVE_X86_VARIANTS
    case FC_ISA_AVX512: return &fc_f64_pool_ukernels__avx512f;
    case FC_ISA_AVX2: return &fc_f64_pool_ukernels__avx2;
#endif
    default: return &fc_f64_pool_ukernels__scalar;
    }
}
