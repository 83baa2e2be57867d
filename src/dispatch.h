/* Run-time ISA dispatch: one table of microkernels per instruction set, chosen once from
 * the CPU (or forced lower by the caller) and read by the operators at the start of a call. */
#ifndef FASTCONV_DISPATCH_H
#define FASTCONV_DISPATCH_H

#include "common.h"

/* Whether the x86 variants (files *__avx2.c, *__avx512f.c) are compiled in; elsewhere only
 * the portable kernels are. Families keep one kernel table per ISA and index it by
 * fc_active()->isa. */
#if defined(__x86_64__) || defined(_M_X64)
#define FC_HAVE_X86_VARIANTS 1
#endif

enum fc_isa { FC_ISA_SCALAR = 0, FC_ISA_AVX2 = 1, FC_ISA_AVX512 = 2, FC_ISA_COUNT = 3 };

typedef struct {
    fc_f32_gemm_ukernel *ukernel;
    size_t mr, nr;
    fc_f32_gemm_ukernel *tail; /* MR x tail_nr (one vector) for a band's last columns, or NULL */
    size_t tail_nr;
} fc_f32_gemm_config;

typedef struct {
    fc_f64_gemm_ukernel *ukernel;
    size_t mr, nr;
    fc_f64_gemm_ukernel *tail; /* MR x tail_nr (one vector) for a band's last columns, or NULL */
    size_t tail_nr;
} fc_f64_gemm_config;

typedef struct {
    fc_f32_gemm_transposed_ukernel *ukernel;
    size_t mr, nr;
} fc_f32_gemm_transposed_config;

typedef struct {
    fc_f64_gemm_transposed_ukernel *ukernel;
    size_t mr, nr;
} fc_f64_gemm_transposed_config;

/* GEMM tile shapes per ISA: an operator picks the one that wastes least on its shape. The
 * transposed tiles include narrow ones (one or two vectors of channels) for grouped layers
 * with 16 or 32 output channels per group. */
#define FC_GEMM_TILES 2
#define FC_GEMM_TRANSPOSED_TILES 6

typedef struct {
    int isa;
    fc_f32_gemm_config f32_gemm[FC_GEMM_TILES]; /* unused entries have ukernel == NULL */
    fc_f64_gemm_config f64_gemm[FC_GEMM_TILES];
    fc_f32_gemm_transposed_config f32_gemm_transposed[FC_GEMM_TRANSPOSED_TILES];
    fc_f64_gemm_transposed_config f64_gemm_transposed[FC_GEMM_TRANSPOSED_TILES];
    /* Most input channels per block of the transposed tiles' k order (see conv2d.c); 1:
     * each channel's kernel columns one after another, as the weights are stored. */
    size_t transposed_channel_block;
    /* Whether small depthwise planes the direct method takes go to it rather than to the
     * interleaved one (see dwconv.h). */
    int dwconv_direct_small;
    /* Vector bytes of the streamed depthwise method, 0 for none (see dwconv.h). */
    size_t dwconv_stream_bytes;
} fc_dispatch_table;

/* The best ISA this CPU (and its OS) supports among those compiled in. */
int fc_cpu_best_isa(void);

/* The table of one ISA, or NULL if it is not compiled in or the CPU lacks it. */
const fc_dispatch_table *fc_dispatch_for(int isa);

/* Makes `isa` the active one; returns 0, or -1 (active table unchanged) if unavailable. */
int fc_set_isa(int isa);

/* The active table; the portable one until fc_set_isa succeeds. */
const fc_dispatch_table *fc_active(void);

const char *fc_isa_name(int isa);

/* The compiler that built the C layer, as it names itself. */
const char *fc_compiler_version(void);

/* How the package was built (compiler, flags per ISA), as JSON; set by setup.py. */
const char *fc_build_info(void);

#endif
