/* The depthwise kernel table of each ISA, and the choice of kernel for a shape. */
#include "dwconv/dwconv.h"

#include <string.h>

#include "dispatch.h"

#define DW_UKERNEL_ARGS(T, sfx)                                                                              \
    (const fc_dwconv_plan *, size_t, size_t, size_t, const T *, ptrdiff_t, const T *, T *, ptrdiff_t,         \
     const fc_##sfx##_epilogue *, void *)
#define DW_DECLARE(T, sfx, isa)                                                                              \
    void fc_##sfx##_dwconv_ukernel_3x3s1__##isa DW_UKERNEL_ARGS(T, sfx);                                     \
    void fc_##sfx##_dwconv_ukernel_3x3s2__##isa DW_UKERNEL_ARGS(T, sfx);                                     \
    void fc_##sfx##_dwconv_ukernel_5x5s1__##isa DW_UKERNEL_ARGS(T, sfx);                                     \
    void fc_##sfx##_dwconv_ukernel_5x5s2__##isa DW_UKERNEL_ARGS(T, sfx);                                     \
    void fc_##sfx##_dwconv_ukernel_kxk__##isa DW_UKERNEL_ARGS(T, sfx);                                       \
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

/* Sets bits [begin, end) of the mask of tap t (words `taps` apart), a word at a time. */
static void dwconv_set_mask_bits(uint16_t *masks, size_t taps, size_t t, size_t begin, size_t end) {
    while (begin < end) {
        const size_t word = begin / FC_DWCONV_MASK_BITS, bit = begin % FC_DWCONV_MASK_BITS;
        const size_t n = end - begin < FC_DWCONV_MASK_BITS - bit ? end - begin : FC_DWCONV_MASK_BITS - bit;
        masks[word * taps + t] |= (uint16_t)(((1u << n) - 1u) << bit);
        begin += n;
    }
}

/* A planar plan's tap offsets (in elements, from the phase planes or the input plane) and
 * masks: see fc_dwconv_workspace_layout. */
static void dwconv_planar_tables(const fc_dwconv_plan *plan, void *workspace) {
    const fc_conv2d_shape *s = &plan->shape;
    const fc_dwconv_workspace_layout *l = &plan->workspace;
    const size_t taps = s->kernel_height * s->kernel_width, sh = s->stride_height, sw = s->stride_width;
    ptrdiff_t *offsets = (ptrdiff_t *)((char *)workspace + l->offsets_offset);
    uint16_t *masks = (uint16_t *)((char *)workspace + l->masks_offset);
    for (size_t kh = 0; kh < s->kernel_height; kh++)
        for (size_t kw = 0; kw < s->kernel_width; kw++) {
            const size_t t = kh * s->kernel_width + kw;
            const ptrdiff_t row = (ptrdiff_t)(kh * s->dilation_height) - (ptrdiff_t)s->pad_top;
            const ptrdiff_t col = (ptrdiff_t)(kw * s->dilation_width) - (ptrdiff_t)s->pad_left;
            const ptrdiff_t row_shift = fc_dwconv_floor_div(row, (ptrdiff_t)sh);
            const ptrdiff_t col_shift = fc_dwconv_floor_div(col, (ptrdiff_t)sw);
            const size_t phase = (size_t)(row - row_shift * (ptrdiff_t)sh) * sw + (size_t)(col - col_shift * (ptrdiff_t)sw);
            offsets[t] = (ptrdiff_t)(phase * l->phase_elems) + row_shift * (ptrdiff_t)l->pitch + col_shift;
            size_t col_lo, col_hi, row_lo, row_hi;
            fc_dwconv_valid_range(col, sw, s->in_width, s->out_width, &col_lo, &col_hi);
            fc_dwconv_valid_range(row, sh, s->in_height, s->out_height, &row_lo, &row_hi);
            for (size_t oh = row_lo; oh < row_hi; oh++)
                dwconv_set_mask_bits(masks, taps, t, oh * s->out_width + col_lo, oh * s->out_width + col_hi);
        }
}

/* An interleaved plan's padded pixel of each input pixel. */
static void dwconv_interleaved_positions(const fc_dwconv_plan *plan, void *workspace) {
    const fc_conv2d_shape *s = &plan->shape;
    const fc_dwconv_workspace_layout *l = &plan->workspace;
    uint32_t *positions = (uint32_t *)((char *)workspace + l->positions_offset);
    for (size_t ih = 0; ih < s->in_height; ih++)
        for (size_t iw = 0; iw < s->in_width; iw++)
            positions[ih * s->in_width + iw] = (uint32_t)((ih + s->pad_top) * l->padded_width + iw + s->pad_left);
}

void fc_dwconv_workspace_init(const fc_dwconv_plan *plan, void *workspace) {
    memset(workspace, 0, plan->workspace.total_bytes);
    if (plan->workspace.planar) dwconv_planar_tables(plan, workspace);
    if (plan->workspace.interleaved) dwconv_interleaved_positions(plan, workspace);
}
