#include "dispatch.h"

/* The GEMM microkernels of src/gemm/, by ISA: the first tile of each is the default. */
fc_f32_gemm_ukernel fc_f32_gemm_ukernel_4x4__scalar;
fc_f64_gemm_ukernel fc_f64_gemm_ukernel_4x4__scalar;
fc_f32_gemm_transposed_ukernel fc_f32_gemm_transposed_ukernel_4x4__scalar;
fc_f64_gemm_transposed_ukernel fc_f64_gemm_transposed_ukernel_4x4__scalar;
static const fc_dispatch_table scalar_table = {
    .isa = FC_ISA_SCALAR,
    .f32_gemm = {{fc_f32_gemm_ukernel_4x4__scalar, 4, 4}},
    .f64_gemm = {{fc_f64_gemm_ukernel_4x4__scalar, 4, 4}},
    .f32_gemm_transposed = {{fc_f32_gemm_transposed_ukernel_4x4__scalar, 4, 4}},
    .f64_gemm_transposed = {{fc_f64_gemm_transposed_ukernel_4x4__scalar, 4, 4}},
    .transposed_channel_block = 1,
    .dwconv_direct_small = 0,
};

#ifdef FC_HAVE_X86_VARIANTS
fc_f32_gemm_ukernel fc_f32_gemm_ukernel_6x16__avx2, fc_f32_gemm_ukernel_4x24__avx2, fc_f32_gemm_ukernel_6x8__avx2,
    fc_f32_gemm_ukernel_4x8__avx2;
fc_f64_gemm_ukernel fc_f64_gemm_ukernel_6x8__avx2, fc_f64_gemm_ukernel_4x12__avx2, fc_f64_gemm_ukernel_6x4__avx2,
    fc_f64_gemm_ukernel_4x4__avx2;
fc_f32_gemm_transposed_ukernel fc_f32_gemm_transposed_ukernel_6x16__avx2;
fc_f64_gemm_transposed_ukernel fc_f64_gemm_transposed_ukernel_6x8__avx2;
static const fc_dispatch_table avx2_table = {
    .isa = FC_ISA_AVX2,
    .f32_gemm = {{fc_f32_gemm_ukernel_6x16__avx2, 6, 16, fc_f32_gemm_ukernel_6x8__avx2, 8},
                 {fc_f32_gemm_ukernel_4x24__avx2, 4, 24, fc_f32_gemm_ukernel_4x8__avx2, 8}},
    .f64_gemm = {{fc_f64_gemm_ukernel_6x8__avx2, 6, 8, fc_f64_gemm_ukernel_6x4__avx2, 4},
                 {fc_f64_gemm_ukernel_4x12__avx2, 4, 12, fc_f64_gemm_ukernel_4x4__avx2, 4}},
    .f32_gemm_transposed = {{fc_f32_gemm_transposed_ukernel_6x16__avx2, 6, 16}},
    .f64_gemm_transposed = {{fc_f64_gemm_transposed_ukernel_6x8__avx2, 6, 8}},
    /* Short k steps (12 FMAs): reads scattered over 16 planes cost 4-25 % (ResNeXt g32 @14). */
    .transposed_channel_block = 1,
    .dwconv_direct_small = 0,
};

fc_f32_gemm_ukernel fc_f32_gemm_ukernel_12x32__avx512f, fc_f32_gemm_ukernel_8x48__avx512f,
    fc_f32_gemm_ukernel_12x16__avx512f, fc_f32_gemm_ukernel_8x16__avx512f;
fc_f64_gemm_ukernel fc_f64_gemm_ukernel_12x16__avx512f, fc_f64_gemm_ukernel_8x24__avx512f,
    fc_f64_gemm_ukernel_12x8__avx512f, fc_f64_gemm_ukernel_8x8__avx512f;
fc_f32_gemm_transposed_ukernel fc_f32_gemm_transposed_ukernel_14x32__avx512f,
    fc_f32_gemm_transposed_ukernel_7x48__avx512f, fc_f32_gemm_transposed_ukernel_14x16__avx512f,
    fc_f32_gemm_transposed_ukernel_7x32__avx512f, fc_f32_gemm_transposed_ukernel_8x48__avx512f,
    fc_f32_gemm_transposed_ukernel_17x16__avx512f;
fc_f64_gemm_transposed_ukernel fc_f64_gemm_transposed_ukernel_14x16__avx512f,
    fc_f64_gemm_transposed_ukernel_7x24__avx512f, fc_f64_gemm_transposed_ukernel_14x8__avx512f,
    fc_f64_gemm_transposed_ukernel_7x16__avx512f, fc_f64_gemm_transposed_ukernel_8x24__avx512f;
static const fc_dispatch_table avx512_table = {
    .isa = FC_ISA_AVX512,
    .f32_gemm = {{fc_f32_gemm_ukernel_12x32__avx512f, 12, 32, fc_f32_gemm_ukernel_12x16__avx512f, 16},
                 {fc_f32_gemm_ukernel_8x48__avx512f, 8, 48, fc_f32_gemm_ukernel_8x16__avx512f, 16}},
    .f64_gemm = {{fc_f64_gemm_ukernel_12x16__avx512f, 12, 16, fc_f64_gemm_ukernel_12x8__avx512f, 8},
                 {fc_f64_gemm_ukernel_8x24__avx512f, 8, 24, fc_f64_gemm_ukernel_8x8__avx512f, 8}},
    .f32_gemm_transposed = {{fc_f32_gemm_transposed_ukernel_14x32__avx512f, 14, 32},
                            {fc_f32_gemm_transposed_ukernel_7x48__avx512f, 7, 48},
                            {fc_f32_gemm_transposed_ukernel_14x16__avx512f, 14, 16},
                            {fc_f32_gemm_transposed_ukernel_7x32__avx512f, 7, 32},
                            {fc_f32_gemm_transposed_ukernel_8x48__avx512f, 8, 48},
                            {fc_f32_gemm_transposed_ukernel_17x16__avx512f, 17, 16}},
    .f64_gemm_transposed = {{fc_f64_gemm_transposed_ukernel_14x16__avx512f, 14, 16},
                            {fc_f64_gemm_transposed_ukernel_7x24__avx512f, 7, 24},
                            {fc_f64_gemm_transposed_ukernel_14x8__avx512f, 14, 8},
                            {fc_f64_gemm_transposed_ukernel_7x16__avx512f, 7, 16},
                            {fc_f64_gemm_transposed_ukernel_8x24__avx512f, 8, 24}},
    .transposed_channel_block = 16,
    /* Against interleaving (kernel alone): 192@28 +28 %, 576@14 +17 %, 576@14 s2 +32 %; AVX2 +-7 %. */
    .dwconv_direct_small = 1,
    /* Streamed against interleaving (576@8) and the direct method (576@10, 576@14), kernel
     * alone: +31 %, +41 %, +10 %; 7x7 planes pair up in the direct method instead (+8 %).
     * AVX2 has none: with integer masks and emulated two-source permutes its stream ran 3.5
     * times slower than interleaving. */
    .dwconv_stream_bytes = 64,
};
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
