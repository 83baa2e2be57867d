/* Template of the depthwise microkernels of one (dtype, ISA): included by dwconv__<isa>.c,
 * compiled with that ISA's flags, once per dtype. See dwconv.h for the method.
 *
 * The including file defines:
 *   DW_T, DW_SFX (f32/f64), DW_ISA (scalar/avx2/avx512f), DW_EPILOGUE (epilogue struct),
 *   DW_VL (elements per vector; 1 for scalar), DW_VEC (a GCC vector type of DW_VL DW_T,
 *   unaligned and may_alias), and the ISA hooks
 *     DW_VMIN(a, b), DW_VMAX(a, b)        lane-wise min / max
 *     DW_LOAD_WINDOW(row, start, n)        lanes row[start + i] where 0 <= start + i < n,
 *                                          zero elsewhere; lanes outside are never read
 *     DW_STORE_PARTIAL(p, v, n)            the first n (< DW_VL) lanes of v
 *   and, if DW_VL > 1, DW_EVENS / DW_ODDS: __builtin_shuffle masks taking the even / odd
 *   lanes of the 2 * DW_VL lanes of two vectors.
 *
 * Every kernel is the one always-inlined body, called with its sizes as constants (3x3s1,
 * 3x3s2, 5x5s1, 5x5s2) or read from the plan (kxk), so the compiler unrolls the taps of
 * the specialized ones and keeps their weights in registers. */
#include <string.h>

#include "dwconv/dwconv.h"

#define DW_PASTE_(a, b, c, d, e) a##b##c##d##e
#define DW_PASTE(a, b, c, d, e) DW_PASTE_(a, b, c, d, e)
#define DW_FN(name) DW_PASTE(dw_, DW_SFX, _##name##__, DW_ISA, )
#define DW_KERNEL(shape) DW_PASTE(fc_, DW_SFX, _dwconv_ukernel_##shape, __, DW_ISA)
#define DW_INLINE static inline __attribute__((always_inline))

/* Output vectors computed together in the main column loop: independent FMA chains. */
#define DW_BLOCK 4
/* Kernels up to this many taps per side keep row pointers, tap offsets and weights in
 * local arrays the compiler can hold in registers; larger ones use the workspace. */
#define DW_LOCAL_TAPS 8

DW_INLINE DW_VEC DW_FN(loadu)(const DW_T *p) { return *(const DW_VEC *)p; }
DW_INLINE void DW_FN(storeu)(DW_T *p, DW_VEC v) { *(DW_VEC *)p = v; }
DW_INLINE DW_VEC DW_FN(splat)(DW_T x) { return (DW_VEC){0} + x; }

/* Lanes [start, start + DW_VL) of a row of n elements, zero outside it. */
DW_INLINE DW_VEC DW_FN(load_row)(const DW_T *row, ptrdiff_t start, size_t n) {
    if (start >= 0 && (size_t)start + DW_VL <= n) return DW_FN(loadu)(row + start);
    return DW_LOAD_WINDOW(row, start, n);
}

/* Stages one input row of w elements: phase p of dst (phase_length elements at
 * dst + p * phase_length) gets padded columns p, p + sw, p + 2 sw, ...; columns outside
 * the input are zero. */
static void DW_FN(stage_row)(const DW_T *restrict row, size_t w, size_t pad_left, size_t sw, size_t phase_length,
                             DW_T *restrict dst) {
    const ptrdiff_t pl = (ptrdiff_t)pad_left;
    if (sw == 1) {
        for (size_t k = 0; k < phase_length; k += DW_VL)
            DW_FN(storeu)(dst + k, DW_FN(load_row)(row, (ptrdiff_t)k - pl, w));
        return;
    }
#if DW_VL > 1
    if (sw == 2) {
        for (size_t k = 0; k < phase_length; k += DW_VL) {
            const ptrdiff_t start = 2 * (ptrdiff_t)k - pl;
            const DW_VEC a = DW_FN(load_row)(row, start, w), b = DW_FN(load_row)(row, start + DW_VL, w);
            DW_FN(storeu)(dst + k, __builtin_shuffle(a, b, DW_EVENS));
            DW_FN(storeu)(dst + phase_length + k, __builtin_shuffle(a, b, DW_ODDS));
        }
        return;
    }
#endif
    for (size_t p = 0; p < sw; p++)
        for (size_t k = 0; k < phase_length; k++) {
            const ptrdiff_t col = (ptrdiff_t)(k * sw + p) - pl;
            dst[p * phase_length + k] = col >= 0 && col < (ptrdiff_t)w ? row[col] : 0;
        }
}

typedef struct {
    DW_VEC slope, lo, hi;
    int has_slope;
} DW_FN(finish_params);

/* Epilogue of one vector (bias is already in acc) and its store; n <= DW_VL lanes. */
DW_INLINE void DW_FN(finish)(DW_VEC v, const DW_T *residual, const DW_FN(finish_params) *f, DW_T *out, size_t n) {
    const DW_VEC zero = {0};
    if (n == DW_VL) {
        if (residual) v += DW_FN(loadu)(residual);
    } else {
        if (residual) v += DW_LOAD_WINDOW(residual, 0, n);
    }
    /* v < 0 ? v * slope : v, exactly: one of the two terms is zero. */
    if (f->has_slope) v = DW_VMAX(v, zero) + f->slope * DW_VMIN(v, zero);
    v = DW_VMIN(DW_VMAX(v, f->lo), f->hi);
    if (n == DW_VL)
        DW_FN(storeu)(out, v);
    else
        DW_STORE_PARTIAL(out, v, n);
}

/* One output row of ow columns: rows[kh] is the staged input row of tap row kh, off[kw]
 * the offset of tap kw in it. Staged rows are readable for round_up(ow, DW_VL) columns
 * past any offset, so the last, partial vector is computed whole and stored in part. */
DW_INLINE void DW_FN(row)(const size_t kh_count, const size_t kw_count, const DW_T *const *rows, const ptrdiff_t *off,
                          const DW_T *w, DW_T bias, const DW_T *residual, const DW_FN(finish_params) *f, DW_T *out,
                          size_t ow) {
    size_t j = 0;
    for (; j + DW_BLOCK * DW_VL <= ow; j += DW_BLOCK * DW_VL) {
        DW_VEC acc[DW_BLOCK];
#pragma GCC unroll 8
        for (size_t b = 0; b < DW_BLOCK; b++) acc[b] = DW_FN(splat)(bias);
#pragma GCC unroll 8
        for (size_t kh = 0; kh < kh_count; kh++) {
            const DW_T *r = rows[kh] + j;
#pragma GCC unroll 8
            for (size_t kw = 0; kw < kw_count; kw++) {
                const DW_VEC wv = DW_FN(splat)(w[kh * kw_count + kw]);
                const DW_T *p = r + off[kw];
#pragma GCC unroll 8
                for (size_t b = 0; b < DW_BLOCK; b++) acc[b] += DW_FN(loadu)(p + b * DW_VL) * wv;
            }
        }
#pragma GCC unroll 8
        for (size_t b = 0; b < DW_BLOCK; b++)
            DW_FN(finish)(acc[b], residual ? residual + j + b * DW_VL : NULL, f, out + j + b * DW_VL, DW_VL);
    }
    for (; j < ow; j += DW_VL) {
        /* Two chains (even and odd tap rows) halve the FMA latency of a lone vector. */
        DW_VEC acc[2] = {DW_FN(splat)(bias), (DW_VEC){0}};
#pragma GCC unroll 8
        for (size_t kh = 0; kh < kh_count; kh++) {
            const DW_T *r = rows[kh] + j;
#pragma GCC unroll 8
            for (size_t kw = 0; kw < kw_count; kw++)
                acc[kh & 1] += DW_FN(loadu)(r + off[kw]) * DW_FN(splat)(w[kh * kw_count + kw]);
        }
        DW_FN(finish)(acc[0] + acc[1], residual ? residual + j : NULL, f, out + j, ow - j < DW_VL ? ow - j : DW_VL);
    }
}

DW_INLINE void DW_FN(kernel)(const fc_dwconv_plan *plan, size_t oh_begin, size_t oh_end, const DW_T *x,
                             const DW_T *weight, DW_T *out, const DW_EPILOGUE *ep, void *workspace,
                             const size_t kh_count, const size_t kw_count, const size_t sh, const size_t sw,
                             const size_t dh, const size_t dw) {
    const fc_conv2d_shape *s = &plan->shape;
    const fc_dwconv_workspace_layout *l = &plan->workspace;
    const size_t ih_count = s->in_height, iw_count = s->in_width, ow = s->out_width;
    const size_t phase_length = l->phase_length, row_elems = l->row_elems, slot_mask = l->slots - 1;
    DW_T *ring = workspace;
    const DW_T *zero_row = ring + l->slots * row_elems;
    ptrdiff_t *tags = (ptrdiff_t *)((char *)workspace + l->tags_offset);
    for (size_t i = 0; i < l->slots; i++) tags[i] = -1;

    const int local = kh_count <= DW_LOCAL_TAPS && kw_count <= DW_LOCAL_TAPS;
    const DW_T *local_rows[DW_LOCAL_TAPS];
    ptrdiff_t local_off[DW_LOCAL_TAPS];
    DW_T local_w[DW_LOCAL_TAPS * DW_LOCAL_TAPS];
    const DW_T **rows = local ? local_rows : (const DW_T **)((char *)workspace + l->pointers_offset);
    ptrdiff_t *off = local ? local_off : (ptrdiff_t *)((char *)workspace + l->offsets_offset);
    const DW_T *w = weight;
    if (local) {
        /* A copy the output stores cannot alias, so the weights stay in registers. */
        for (size_t t = 0; t < kh_count * kw_count; t++) local_w[t] = weight[t];
        w = local_w;
    }
    for (size_t kw = 0; kw < kw_count; kw++)
        off[kw] = (ptrdiff_t)((kw * dw % sw) * phase_length + kw * dw / sw);

    const DW_T inf = (DW_T)__builtin_inf();
    DW_FN(finish_params) f;
    f.has_slope = ep && ep->slope;
    f.slope = DW_FN(splat)(f.has_slope ? ep->slope[0] : 0);
    f.lo = DW_FN(splat)(ep ? ep->min : -inf);
    f.hi = DW_FN(splat)(ep ? ep->max : inf);
    const DW_T bias = ep && ep->bias ? ep->bias[0] : 0;
    const DW_T *residual = ep ? ep->residual : NULL;
    const ptrdiff_t residual_stride = ep ? ep->residual_row_stride : 0;

    for (size_t oh = oh_begin; oh < oh_end; oh++) {
        const ptrdiff_t ih0 = (ptrdiff_t)(oh * sh) - (ptrdiff_t)s->pad_top;
        for (size_t kh = 0; kh < kh_count; kh++) {
            const ptrdiff_t ih = ih0 + (ptrdiff_t)(kh * dh);
            if (ih < 0 || ih >= (ptrdiff_t)ih_count) {
                rows[kh] = zero_row;
                continue;
            }
            DW_T *slot = ring + ((size_t)ih & slot_mask) * row_elems;
            if (tags[(size_t)ih & slot_mask] != ih) {
                DW_FN(stage_row)(x + (size_t)ih * iw_count, iw_count, s->pad_left, sw, phase_length, slot);
                tags[(size_t)ih & slot_mask] = ih;
            }
            rows[kh] = slot;
        }
        DW_FN(row)(kh_count, kw_count, rows, off, w, bias, residual ? residual + (ptrdiff_t)oh * residual_stride : NULL,
                   &f, out + oh * ow, ow);
    }
}

#define DW_DEFINE_KERNEL(shape, kh, kw, sh, sw)                                                               \
    void DW_KERNEL(shape)(const fc_dwconv_plan *plan, size_t oh_begin, size_t oh_end, const DW_T *x,         \
                          const DW_T *weight, DW_T *out, const DW_EPILOGUE *ep, void *workspace) {            \
        DW_FN(kernel)(plan, oh_begin, oh_end, x, weight, out, ep, workspace, kh, kw, sh, sw, 1, 1);           \
    }

DW_DEFINE_KERNEL(3x3s1, 3, 3, 1, 1)
DW_DEFINE_KERNEL(3x3s2, 3, 3, 2, 2)
DW_DEFINE_KERNEL(5x5s1, 5, 5, 1, 1)
DW_DEFINE_KERNEL(5x5s2, 5, 5, 2, 2)

void DW_KERNEL(kxk)(const fc_dwconv_plan *plan, size_t oh_begin, size_t oh_end, const DW_T *x, const DW_T *weight,
                    DW_T *out, const DW_EPILOGUE *ep, void *workspace) {
    const fc_conv2d_shape *s = &plan->shape;
    DW_FN(kernel)(plan, oh_begin, oh_end, x, weight, out, ep, workspace, s->kernel_height, s->kernel_width,
                  s->stride_height, s->stride_width, s->dilation_height, s->dilation_width);
}

#undef DW_DEFINE_KERNEL
#undef DW_PASTE_
#undef DW_PASTE
#undef DW_FN
#undef DW_KERNEL
#undef DW_INLINE
#undef DW_BLOCK
#undef DW_LOCAL_TAPS
/* The including file sets these afresh for each dtype. */
#undef DW_T
#undef DW_SFX
#undef DW_EPILOGUE
#undef DW_VL
#undef DW_VEC
#undef DW_VMIN
#undef DW_VMAX
#undef DW_LOAD_WINDOW
#undef DW_STORE_PARTIAL
#undef DW_EVENS
#undef DW_ODDS
