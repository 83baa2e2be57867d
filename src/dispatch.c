#include "dispatch.h"

#define GEMM_UKERNELS(isa, f32_mr, f32_nr, f64_mr, f64_nr)                                              \
    fc_f32_gemm_ukernel fc_f32_gemm_ukernel_##f32_mr##x##f32_nr##__##isa;                                   \
    fc_f64_gemm_ukernel fc_f64_gemm_ukernel_##f64_mr##x##f64_nr##__##isa;

#define GEMM_CONFIGS(isa, f32_mr, f32_nr, f64_mr, f64_nr)                                               \
    .f32_gemm = {fc_f32_gemm_ukernel_##f32_mr##x##f32_nr##__##isa, f32_mr, f32_nr},                      \
    .f64_gemm = {fc_f64_gemm_ukernel_##f64_mr##x##f64_nr##__##isa, f64_mr, f64_nr}

/* Tile shapes of each ISA: (f32 MR, NR, f64 MR, NR); the kernels are in src/gemm/. */
#define SCALAR_TILES 4, 4, 4, 4
#define AVX2_TILES 6, 16, 6, 8
#define AVX512_TILES 12, 32, 12, 16

#define DECLARE(isa, tiles) GEMM_UKERNELS(isa, tiles)
#define CONFIGS(isa, tiles) GEMM_CONFIGS(isa, tiles)

DECLARE(scalar, SCALAR_TILES)
static const fc_dispatch_table scalar_table = {FC_ISA_SCALAR, CONFIGS(scalar, SCALAR_TILES)};

#ifdef FC_HAVE_X86_VARIANTS
DECLARE(avx2, AVX2_TILES)
DECLARE(avx512f, AVX512_TILES)
static const fc_dispatch_table avx2_table = {FC_ISA_AVX2, CONFIGS(avx2, AVX2_TILES)};
static const fc_dispatch_table avx512_table = {FC_ISA_AVX512, CONFIGS(avx512f, AVX512_TILES)};
#endif

static const fc_dispatch_table *active_table = &scalar_table;

int fc_cpu_best_isa(void) {
#ifdef FC_HAVE_X86_VARIANTS
    /* GCC's probe checks CPUID and that the OS saves the ymm/zmm state (XGETBV). */
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("fma")) return FC_ISA_AVX512;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return FC_ISA_AVX2;
#endif
    return FC_ISA_SCALAR;
}

const fc_dispatch_table *fc_dispatch_for(int isa) {
    if (isa < 0 || isa > fc_cpu_best_isa()) return NULL;
    switch (isa) {
#ifdef FC_HAVE_X86_VARIANTS
    case FC_ISA_AVX512: return &avx512_table;
    case FC_ISA_AVX2: return &avx2_table;
#endif
    case FC_ISA_SCALAR: return &scalar_table;
    default: return NULL;
    }
}

int fc_set_isa(int isa) {
    const fc_dispatch_table *table = fc_dispatch_for(isa);
    if (!table) return -1;
    __atomic_store_n(&active_table, table, __ATOMIC_RELEASE);
    return 0;
}

const fc_dispatch_table *fc_active(void) { return __atomic_load_n(&active_table, __ATOMIC_ACQUIRE); }

const char *fc_isa_name(int isa) {
    static const char *const names[FC_ISA_COUNT] = {"scalar", "avx2", "avx512"};
    return isa >= 0 && isa < FC_ISA_COUNT ? names[isa] : "unknown";
}

const char *fc_compiler_version(void) {
#ifdef __VERSION__
    return __VERSION__;
#else
    return "unknown";
#endif
}

const char *fc_build_info(void) {
#ifdef FC_BUILD_INFO
    return FC_BUILD_INFO;
#else
    return "{}";
#endif
}
