/* The depthwise kernel table of each ISA, and the choice of kernel for a shape. */
#include "dwconv/dwconv.h"

#include <string.h>

#include "dispatch.h"

#define DW_DECLARE(T, sfx, isa)                                                                              \
    void fc_##sfx##_dwconv_ukernel_3x3s1__##isa(const fc_dwconv_plan *, size_t, size_t, const T *, const T *, \
                                                T *, const fc_##sfx##_epilogue *, void *);                   \
    void fc_##sfx##_dwconv_ukernel_3x3s2__##isa(const fc_dwconv_plan *, size_t, size_t, const T *, const T *, \
                                                T *, const fc_##sfx##_epilogue *, void *);                   \
    void fc_##sfx##_dwconv_ukernel_5x5s1__##isa(const fc_dwconv_plan *, size_t, size_t, const T *, const T *, \
                                                T *, const fc_##sfx##_epilogue *, void *);                   \
    void fc_##sfx##_dwconv_ukernel_5x5s2__##isa(const fc_dwconv_plan *, size_t, size_t, const T *, const T *, \
                                                T *, const fc_##sfx##_epilogue *, void *);                   \
    void fc_##sfx##_dwconv_ukernel_kxk__##isa(const fc_dwconv_plan *, size_t, size_t, const T *, const T *,   \
                                              T *, const fc_##sfx##_epilogue *, void *);                     \
    static const fc_##sfx##_dwconv_kernels sfx##_kernels_##isa = {                                           \
        fc_##sfx##_dwconv_ukernel_3x3s1__##isa, fc_##sfx##_dwconv_ukernel_3x3s2__##isa,                      \
        fc_##sfx##_dwconv_ukernel_5x5s1__##isa, fc_##sfx##_dwconv_ukernel_5x5s2__##isa,                      \
        fc_##sfx##_dwconv_ukernel_kxk__##isa};

#define DW_FAMILY(T, sfx)                                                                                    \
    const fc_##sfx##_dwconv_kernels *fc_##sfx##_dwconv_kernels_for(int isa) {                                \
        switch (isa) {                                                                                       \
        X86_CASES(sfx)                                                                                       \
        default: return &sfx##_kernels_scalar;                                                               \
        }                                                                                                    \
    }                                                                                                        \
    fc_##sfx##_dwconv_ukernel fc_##sfx##_dwconv_select(const fc_##sfx##_dwconv_kernels *k,                   \
                                                       const fc_conv2d_shape *s) {                           \
        switch (dwconv_specialization(s)) {                                                                  \
        case 31: return k->k3x3s1;                                                                           \
        case 32: return k->k3x3s2;                                                                           \
        case 51: return k->k5x5s1;                                                                           \
        case 52: return k->k5x5s2;                                                                           \
        default: return k->kxk;                                                                              \
        }                                                                                                    \
    }

DW_DECLARE(float, f32, scalar)
DW_DECLARE(double, f64, scalar)
#ifdef FC_HAVE_X86_VARIANTS
DW_DECLARE(float, f32, avx2)
DW_DECLARE(double, f64, avx2)
DW_DECLARE(float, f32, avx512f)
DW_DECLARE(double, f64, avx512f)
#define X86_CASES(sfx)                                                                                       \
    case FC_ISA_AVX512: return &sfx##_kernels_avx512f;                                                       \
    case FC_ISA_AVX2: return &sfx##_kernels_avx2;
#else
#define X86_CASES(sfx)
#endif

/* 10 * kernel size + stride of a shape some kernel is specialized for (square kernel,
 * equal strides, no dilation), else 0. */
static int dwconv_specialization(const fc_conv2d_shape *s) {
    if (s->kernel_height != s->kernel_width || s->stride_height != s->stride_width) return 0;
    if (s->dilation_height != 1 || s->dilation_width != 1) return 0;
    if (s->kernel_height != 3 && s->kernel_height != 5) return 0;
    if (s->stride_height > 2) return 0;
    return (int)(10 * s->kernel_height + s->stride_height);
}

DW_FAMILY(float, f32)
DW_FAMILY(double, f64)

void fc_dwconv_workspace_init(const fc_dwconv_plan *plan, void *workspace) {
    memset(workspace, 0, plan->workspace.total_bytes);
}
