/* Template of the depthwise microkernels of one (dtype, ISA): included by dwconv__<isa>.c,
 * compiled with that ISA's flags, once per dtype. See dwconv.h for the method.
 *
 * The including file defines:
 *   DW_T, DW_SFX (f32/f64), DW_ISA (scalar/avx2/avx512f), DW_EPILOGUE (epilogue struct),
 *   DW_VL (elements per vector; 1 for scalar), DW_VEC (a GCC vector type of DW_VL DW_T,
 *   unaligned and may_alias), and the ISA hooks
 *     DW_VMIN(a, b), DW_VMAX(a, b)        lane-wise min / max, b when either is NaN (as x86's
 *                                         min/max: callers pass the value second so NaN survives)
 *     DW_LOAD_WINDOW(row, start, n)        lanes row[start + i] where 0 <= start + i < n,
 *                                          zero elsewhere; lanes outside are never read
 *     DW_STORE_PARTIAL(p, v, n)            the first n (< DW_VL) lanes of v
 *     DW_LOAD_MASKED(p, bits)              lanes p[i] where bit i of bits is set, zero
 *                                          elsewhere; lanes outside are never read
 *     DW_STORE_MASKED(p, v, bits)          lanes v[i] to p[i] where bit i of bits is set
 *   DW_IVEC, an integer vector type of DW_VEC's size (shuffle masks),
 *   and __builtin_shuffle masks over the 2 * DW_VL lanes of two vectors (a, b):
 *     DW_EVENS / DW_ODDS                   the even / odd lanes
 *     DW_FROM_PREV                         b's last lane, then a's first DW_VL - 1
 *     DW_FROM_NEXT                         a's last DW_VL - 1 lanes, then b's first
 *     DW_ZIP_LO / DW_ZIP_HI                a[0], b[0], a[1], b[1], ... of the low / high
 *                                          halves of a and b
 *   and optionally DW_SHIFT_UP(v, prev) / DW_SHIFT_DOWN(v, next), faster lane shifts than
 *   the shuffles with DW_FROM_PREV / DW_FROM_NEXT, DW_TRANSPOSE(v), a faster transpose of
 *   the DW_VL x DW_VL square v than the zips give (see transpose below), and faster lane
 *   selections than integer masks (the streamed method's):
 *     DW_SELECT(bits, v)                   lanes of v where bit i is set, zero elsewhere
 *     DW_BLEND(bits, a, b)                 lanes of b where bit i is set, of a elsewhere
 *     DW_SELECT_SHIFT_UP(bits, v, prev)    DW_SELECT(bits, DW_SHIFT_UP(v, prev)), and the
 *     DW_SELECT_SHIFT_DOWN(bits, v, next)  same down, in one instruction
 *   and, once per ISA for both dtypes, DW_KEEP(v), which pins a loaded vector in a register
 *   (see load_kept), and DW_STORE_HALVES(lo, hi, v), lanes [0, DW_VL / 2) of v to lo and
 *   the others to hi.
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
/* Interleaved squares of at most this many pixels are copied element by element. */
#define DW_SCALAR_TAIL (DW_VL / 8)
/* Kernels up to this many taps per side keep row pointers, tap offsets and weights in
 * local arrays the compiler can hold in registers; larger ones use the workspace. */
#define DW_LOCAL_TAPS 8

DW_INLINE DW_VEC DW_FN(loadu)(const DW_T *p) { return *(const DW_VEC *)p; }
DW_INLINE void DW_FN(storeu)(DW_T *p, DW_VEC v) { *(DW_VEC *)p = v; }
/* A load kept in a register: GCC would fold it into every FMA that uses it, loading it
 * once per FMA (the direct method's taps feed up to three output rows: -15 %). The vector
 * ISAs pin it with an empty asm. */
DW_INLINE DW_VEC DW_FN(load_kept)(const DW_T *p) {
    DW_VEC v = DW_FN(loadu)(p);
#ifdef DW_KEEP
    DW_KEEP(v);
#endif
    return v;
}
/* x - 0 is x for every x (0 + x is not, for x = -0): a plain broadcast. */
DW_INLINE DW_VEC DW_FN(splat)(DW_T x) { return x - (DW_VEC){0}; }

/* Lanes [start, start + DW_VL) of a row of n elements, zero outside it. */
DW_INLINE DW_VEC DW_FN(load_row)(const DW_T *row, ptrdiff_t start, size_t n) {
    if (start >= 0 && (size_t)start + DW_VL <= n) return DW_FN(loadu)(row + start);
    return DW_LOAD_WINDOW(row, start, n);
}

/* Stages one input row of w elements: phase p (at dst + p * phase_stride) gets padded
 * columns p, p + sw, p + 2 sw, ... (count of them, rounded up to whole vectors: the
 * excess lands on the next row, staged after, or in the slack); columns outside the
 * input are zero. w == 0 stages a row of zeros. */
DW_INLINE void DW_FN(stage_row)(const DW_T *restrict row, size_t w, size_t pad_left, size_t sw, size_t count,
                             size_t phase_stride, DW_T *restrict dst) {
    const ptrdiff_t pl = (ptrdiff_t)pad_left;
    if (sw == 1) {
        for (size_t k = 0; k < count; k += DW_VL)
            DW_FN(storeu)(dst + k, DW_FN(load_row)(row, (ptrdiff_t)k - pl, w));
        return;
    }
#if DW_VL > 1
    if (sw == 2) {
        for (size_t k = 0; k < count; k += DW_VL) {
            const ptrdiff_t start = 2 * (ptrdiff_t)k - pl;
            const DW_VEC a = DW_FN(load_row)(row, start, w), b = DW_FN(load_row)(row, start + DW_VL, w);
            DW_FN(storeu)(dst + k, __builtin_shuffle(a, b, DW_EVENS));
            DW_FN(storeu)(dst + phase_stride + k, __builtin_shuffle(a, b, DW_ODDS));
        }
        return;
    }
#endif
    for (size_t p = 0; p < sw; p++)
        for (size_t k = 0; k < count; k++) {
            const ptrdiff_t col = (ptrdiff_t)(k * sw + p) - pl;
            dst[p * phase_stride + k] = col >= 0 && col < (ptrdiff_t)w ? row[col] : 0;
        }
}

typedef struct {
    DW_VEC slope, lo, hi;
    int has_slope;
} DW_FN(finish_params);

/* The activation of the epilogue: PReLU / leaky slope, then the clamp. */
DW_INLINE DW_VEC DW_FN(activate)(DW_VEC v, const DW_FN(finish_params) *f) {
    const DW_VEC zero = {0};
    /* v < 0 ? v * slope : v, exactly: one of the two terms is zero. */
    if (f->has_slope) v = DW_VMAX(zero, v) + f->slope * DW_VMIN(zero, v);
    return DW_VMIN(f->hi, DW_VMAX(f->lo, v));
}

/* Stores the first n <= DW_VL lanes of v. */
DW_INLINE void DW_FN(store_lanes)(DW_T *out, DW_VEC v, size_t n) {
    if (n == DW_VL)
        DW_FN(storeu)(out, v);
    else
        DW_STORE_PARTIAL(out, v, n);
}

/* Epilogue of one vector (bias is already in acc) and its store; n <= DW_VL lanes. */
DW_INLINE void DW_FN(finish)(DW_VEC v, const DW_T *residual, const DW_FN(finish_params) *f, DW_T *out, size_t n) {
    if (residual) v += n == DW_VL ? DW_FN(loadu)(residual) : DW_LOAD_WINDOW(residual, 0, n);
    DW_FN(store_lanes)(out, DW_FN(activate)(v, f), n);
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

/* flat[f .. f + nb * DW_VL) = bias + sum over taps t of w[t] * src[off[t] + f ..]: nb
 * independent FMA chains. */
DW_INLINE void DW_FN(flat_block)(const size_t nb, const size_t taps, const ptrdiff_t *off, const DW_T *w, DW_T bias,
                                 const DW_T *src, DW_T *restrict flat, size_t f) {
    DW_VEC acc[DW_BLOCK];
#pragma GCC unroll 8
    for (size_t b = 0; b < nb; b++) acc[b] = DW_FN(splat)(bias);
#pragma GCC unroll 64
    for (size_t t = 0; t < taps; t++) {
        const DW_VEC wv = DW_FN(splat)(w[t]);
        const DW_T *p = src + off[t] + f;
#pragma GCC unroll 8
        for (size_t b = 0; b < nb; b++) acc[b] += DW_FN(loadu)(p + b * DW_VL) * wv;
    }
#pragma GCC unroll 8
    for (size_t b = 0; b < nb; b++) DW_FN(storeu)(flat + f + b * DW_VL, acc[b]);
}

/* Flat results of n positions, rounded up to whole vectors (flat and the staged band have
 * FC_DWCONV_SLACK elements of slack for that). */
DW_INLINE void DW_FN(flat)(const size_t taps, const ptrdiff_t *off, const DW_T *w, DW_T bias, const DW_T *src,
                           DW_T *restrict flat, size_t n) {
    size_t f = 0;
    for (; f + (DW_BLOCK - 1) * DW_VL < n; f += DW_BLOCK * DW_VL)
        DW_FN(flat_block)(DW_BLOCK, taps, off, w, bias, src, flat, f);
    /* 1 to 3 vectors left: a block of 2 and a single (whole vectors, into the slack). */
    if (f + DW_VL < n) {
        DW_FN(flat_block)(2, taps, off, w, bias, src, flat, f);
        f += 2 * DW_VL;
    }
    if (f < n) DW_FN(flat_block)(1, taps, off, w, bias, src, flat, f);
}

/* What every band of a call shares; bias, slope and residual are the current channel's. */
typedef struct {
    const fc_conv2d_shape *s;
    const fc_dwconv_workspace_layout *l;
    DW_FN(finish_params) f;
    DW_T bias;
    const DW_T *residual;
    ptrdiff_t residual_stride;
} DW_FN(call);

DW_INLINE void DW_FN(call_init)(DW_FN(call) *c, const fc_dwconv_plan *plan, const DW_EPILOGUE *ep) {
    const DW_T inf = (DW_T)__builtin_inf();
    c->s = &plan->shape;
    c->l = &plan->workspace;
    c->f.has_slope = ep && ep->slope;
    c->f.lo = DW_FN(splat)(ep ? ep->min : -inf);
    c->f.hi = DW_FN(splat)(ep ? ep->max : inf);
    c->residual_stride = ep ? ep->residual_row_stride : 0;
}

/* Points the call at channel i of the run. */
DW_INLINE void DW_FN(call_channel)(DW_FN(call) *c, const DW_EPILOGUE *ep, size_t i) {
    c->f.slope = DW_FN(splat)(c->f.has_slope ? ep->slope[i] : 0);
    c->bias = ep && ep->bias ? ep->bias[i] : 0;
    c->residual = ep && ep->residual ? ep->residual + (ptrdiff_t)(i * c->s->out_height) * c->residual_stride : NULL;
}

/* Stages phase rows [band, band + rows + reach_rows) of every row phase. */
DW_INLINE void DW_FN(stage_band)(const DW_FN(call) *c, const DW_T *x, size_t band, size_t rows, size_t sh, size_t sw,
                                 DW_T *staged) {
    const fc_conv2d_shape *s = c->s;
    const size_t pitch = c->l->pitch, phase_elems = c->l->phase_elems;
    for (size_t i = 0; i < rows + c->l->reach_rows; i++)
        for (size_t ph = 0; ph < sh; ph++) {
            const ptrdiff_t ih = (ptrdiff_t)((band + i) * sh + ph) - (ptrdiff_t)s->pad_top;
            const int inside = ih >= 0 && ih < (ptrdiff_t)s->in_height;
            DW_FN(stage_row)(inside ? x + (size_t)ih * s->in_width : x, inside ? s->in_width : 0, s->pad_left, sw,
                             pitch, phase_elems, staged + ph * sw * phase_elems + i * pitch);
        }
}

/* Narrow planes: each band computed in the flat space, then copied out through the epilogue. */
DW_INLINE void DW_FN(kernel_flat)(const DW_FN(call) *c, size_t oh_begin, size_t oh_end, const DW_T *x, const DW_T *w,
                                  DW_T *out, void *workspace, const size_t kh_count, const size_t kw_count,
                                  const size_t sh, const size_t sw, const size_t dh, const size_t dw) {
    const fc_dwconv_workspace_layout *l = c->l;
    const size_t pitch = l->pitch, phase_elems = l->phase_elems, ow = c->s->out_width, taps = kh_count * kw_count;
    DW_T *staged = workspace;
    DW_T *flat = (DW_T *)((char *)workspace + l->flat_offset);
    ptrdiff_t local_off[DW_LOCAL_TAPS * DW_LOCAL_TAPS];
    ptrdiff_t *off = taps <= DW_LOCAL_TAPS * DW_LOCAL_TAPS ? local_off
                                                          : (ptrdiff_t *)((char *)workspace + l->offsets_offset);
    for (size_t kh = 0; kh < kh_count; kh++)
        for (size_t kw = 0; kw < kw_count; kw++)
            off[kh * kw_count + kw] = (ptrdiff_t)(((kh * dh % sh) * sw + kw * dw % sw) * phase_elems +
                                                  kh * dh / sh * pitch + kw * dw / sw);
    for (size_t band = oh_begin; band < oh_end; band += l->band_rows) {
        const size_t rows = oh_end - band < l->band_rows ? oh_end - band : l->band_rows;
        DW_FN(stage_band)(c, x, band, rows, sh, sw, staged);
        DW_FN(flat)(taps, off, w, c->bias, staged, flat, rows * pitch);
        for (size_t r = 0; r < rows; r++) {
            const size_t oh = band + r;
            const DW_T *res_row = c->residual ? c->residual + (ptrdiff_t)oh * c->residual_stride : NULL;
            for (size_t j = 0; j < ow; j += DW_VL)
                DW_FN(finish)(DW_FN(loadu)(flat + r * pitch + j), res_row ? res_row + j : NULL, &c->f,
                              out + oh * ow + j, ow - j < DW_VL ? ow - j : DW_VL);
        }
    }
}

/* The direct method (see dwconv.h). */

#ifndef DW_SHIFT_UP
#define DW_SHIFT_UP(v, prev) __builtin_shuffle(v, prev, DW_FROM_PREV)
#define DW_SHIFT_DOWN(v, next) __builtin_shuffle(v, next, DW_FROM_NEXT)
#endif

/* Output vectors per row of a direct strip, at most, at stride 1 and 2: wider strips load
 * and shift fewer vectors per output (the neighbours' lanes come along). 4 at stride 1
 * spill (three rows of accumulators); AVX2's 16 registers take the same widths, spilling
 * a little, and run faster than with strips of 2 (96@112 s2 +33 %). An ISA may set its
 * own (these and DW_DIRECT_TAP_LOADS are per ISA: they stay defined for the next dtype). */
#ifndef DW_DIRECT_VECTORS_S1
#define DW_DIRECT_VECTORS_S1 3
#define DW_DIRECT_VECTORS_S2 4
#endif
#define DW_DIRECT_VECTORS 4 /* the larger */
#ifndef DW_DIRECT_TAP_LOADS
#define DW_DIRECT_TAP_LOADS 1 /* see direct_taps */
#endif
/* Lanes per channel when a vector holds two channels' rows (none in scalar code, which
 * never pairs: 1 keeps its unused pair code well formed). */
#define DW_HALF (DW_VL > 1 ? DW_VL / 2 : 1)

/* Bits of the lanes of elements [start, start + DW_VL) of a row of n elements that lie
 * inside it. */
DW_INLINE unsigned DW_FN(window_bits)(ptrdiff_t start, size_t n) {
    const ptrdiff_t lo = start < 0 ? -start : 0, end = (ptrdiff_t)n - start, hi = end < DW_VL ? end : DW_VL;
    return lo >= hi ? 0 : ((1u << hi) - 1u) & ~((1u << lo) - 1u);
}

/* Lanes [0, DW_HALF) of a, then lanes [0, DW_HALF) of b. */
DW_INLINE DW_VEC DW_FN(halves)(DW_VEC a, DW_VEC b) {
    DW_IVEC lanes;
#pragma GCC unroll 16
    for (size_t k = 0; k < DW_VL; k++) lanes[k] = k < DW_HALF ? k : DW_VL + k - DW_HALF;
    return __builtin_shuffle(a, b, lanes);
}

/* Lanes [0, DW_HALF) of v to lo, the others to hi: two half-width stores, which Zen 4
 * takes beside the FMAs, where two full-width ones (masked or not) cost about 3.5 FMAs. */
DW_INLINE void DW_FN(store_halves)(DW_T *lo, DW_T *hi, DW_VEC v) {
#ifdef DW_STORE_HALVES
    DW_STORE_HALVES(lo, hi, v);
#else
    memcpy(lo, &v, DW_HALF * sizeof(DW_T));
    memcpy(hi, (const DW_T *)&v + DW_HALF, DW_HALF * sizeof(DW_T));
#endif
}

/* Lanes `bits` of p in the lower half of a vector, the same lanes of p + pair in the upper
 * half (bits < 1 << DW_HALF): a row of each of two channels. One mask for both loads: a
 * second one, shifted, cost 6 % on 7x7 planes. */
DW_INLINE DW_VEC DW_FN(pair_load)(const DW_T *p, ptrdiff_t pair, unsigned bits) {
    return DW_FN(halves)(DW_LOAD_MASKED(p, bits), DW_LOAD_MASKED(p + pair, bits));
}

/* Where a direct strip reads and writes. A strip of output vectors [j, j + nb) loads, from
 * each input row: at stride 1, each vector's three tap columns, lanes tap_bits (those
 * inside the row); at stride 2, the 2 nb + 1 vectors from vector 2 j - 1 on, lanes `bits`.
 * Paired strips compute two channels at once, the second (`pair_x`, `pair_out` and
 * `pair_residual` elements on) in the upper DW_HALF lanes. The shape's sizes are copied in, signed, so that strips
 * keep them in registers (read through the plan, they cost paired 7x7 planes 10 %). */
typedef struct {
    unsigned bits[2 * DW_DIRECT_VECTORS + 1], tap_bits[DW_DIRECT_VECTORS][3];
    ptrdiff_t pair_x, pair_out, pair_residual;
    size_t pair_whole_rows; /* pairs: output rows [0, pair_whole_rows) store whole halves */
    DW_VEC lo, hi; /* the clamp, copied in: read through the call, they were reloaded after every store */
    ptrdiff_t in_height, in_width, pad_top;
    size_t out_width;
} DW_FN(direct_strip);

/* The three tap columns (left, center, right) of each of a strip's nb output vectors in
 * input row `row` (its column j DW_VL sw on). Stride 1: masked loads a column apart, which
 * the load ports take in parallel with the FMAs, where lane shifts would compete with them
 * (AVX-512 on Zen 4: +4-15 % on 28-112 wide rows); or, where an ISA's masked loads are
 * slow (DW_DIRECT_TAP_LOADS 0), the row's vectors and their neighbours' lanes. Stride 2:
 * lane shifts of the loaded row, its even columns (center), odd ones (right) and the odd
 * ones a lane on (left). Paired (stride 2, nb == 1), the second channel's row is the
 * vector after the first channel's: the even and odd columns of each land in its half.
 * Only the loads of a strip's first column and of its last vector are masked; the others
 * lie inside the row (direct_strips sees to it) and load whole, each kmovw of a mask
 * costing about an FMA on Zen 4. */
DW_INLINE void DW_FN(direct_taps)(const size_t nb, const size_t sw, const int paired, const int tail,
                                  const DW_FN(direct_strip) *st, const DW_T *row, DW_VEC taps[][3]) {
    DW_VEC in[2 * DW_DIRECT_VECTORS + 1] = {{0}}; /* nb + 2 or 2 nb + 1 of them used */
    if (sw == 1 && DW_DIRECT_TAP_LOADS) {
#pragma GCC unroll 8
        for (size_t v = 0; v < nb; v++)
#pragma GCC unroll 3
            for (size_t t = 0; t < 3; t++)
                taps[v][t] = (v == 0 && t == 0) || (tail && v + 1 == nb)
                                 ? DW_LOAD_MASKED(row + v * DW_VL + t - 1, st->tap_bits[v][t])
                                 : DW_FN(load_kept)(row + v * DW_VL + t - 1);
        return;
    }
    row -= DW_VL;
    if (sw == 1) {
#pragma GCC unroll 8
        for (size_t k = 0; k < nb + 2; k++)
            in[k] = k == 0 || (tail && k >= nb) ? DW_LOAD_MASKED(row + k * DW_VL, st->bits[k])
                                      : DW_FN(load_kept)(row + k * DW_VL);
#pragma GCC unroll 8
        for (size_t v = 0; v < nb; v++) {
            taps[v][0] = DW_SHIFT_UP(in[v + 1], in[v]);
            taps[v][1] = in[v + 1];
            taps[v][2] = DW_SHIFT_DOWN(in[v + 1], in[v + 2]);
        }
        return;
    }
    if (paired) {
        /* The first channel's row, then the second's, in place of the vector after it
         * (outside the narrow row). */
        in[1] = DW_LOAD_MASKED(row + DW_VL, st->bits[1]);
        in[2] = DW_LOAD_MASKED(row + DW_VL + st->pair_x, st->bits[1]);
    } else {
#pragma GCC unroll 16
        for (size_t k = 0; k < 2 * nb + 1; k++)
            in[k] = k == 0 || (tail && k + 1 >= 2 * nb) ? DW_LOAD_MASKED(row + k * DW_VL, st->bits[k])
                                                        : DW_FN(load_kept)(row + k * DW_VL);
    }
    DW_VEC prev_odd = in[0];
#pragma GCC unroll 8
    for (size_t v = 0; v < nb; v++) {
        taps[v][1] = __builtin_shuffle(in[2 * v + 1], in[2 * v + 2], DW_EVENS);
        taps[v][2] = __builtin_shuffle(in[2 * v + 1], in[2 * v + 2], DW_ODDS);
        taps[v][0] = DW_SHIFT_UP(taps[v][2], prev_odd);
        prev_odd = taps[v][2];
    }
}

/* acc[v] += the taps of output vector v times the weights of one kernel row. */
DW_INLINE void DW_FN(direct_add)(const size_t nb, DW_VEC *acc, DW_VEC taps[][3], const DW_VEC *w) {
#pragma GCC unroll 8
    for (size_t v = 0; v < nb; v++) {
        acc[v] += taps[v][0] * w[0];
        acc[v] += taps[v][1] * w[1];
        acc[v] += taps[v][2] * w[2];
    }
}

/* The epilogue and store of output row o of a pair (see fc_dwconv_pairs_fit). `whole`: each
 * half stored whole, its lanes past the row landing on rows stored later. */
DW_INLINE void DW_FN(pair_store)(const int whole, const int clamp_only, const DW_FN(call) *c,
                                 const DW_FN(direct_strip) *st, DW_VEC a, size_t o, DW_T *out) {
    const size_t ow = st->out_width;
    const unsigned bits = (1u << ow) - 1u;
    if (!clamp_only && c->residual)
        a += DW_FN(pair_load)(c->residual + (ptrdiff_t)o * c->residual_stride, st->pair_residual, bits);
    a = clamp_only ? DW_VMIN(st->hi, DW_VMAX(st->lo, a)) : DW_FN(activate)(a, &c->f);
    DW_T *row = out + o * ow;
    if (whole) {
        DW_FN(store_halves)(row, row + st->pair_out, a);
    } else {
        DW_STORE_MASKED(row, a, bits);
        DW_STORE_MASKED(row + st->pair_out - DW_HALF, a, bits << DW_HALF);
    }
}

/* The epilogue and store of output row o of a strip. */
DW_INLINE void DW_FN(direct_store)(const size_t nb, const int paired, const int tail, const int clamp_only,
                                   const DW_FN(call) *c, const DW_FN(direct_strip) *st, DW_VEC *acc, size_t o,
                                   size_t j, DW_T *out) {
    const size_t ow = st->out_width;
    const DW_VEC lo = st->lo, hi = st->hi;
#pragma GCC unroll 8
    for (size_t v = 0; v < nb; v++) {
        const size_t col = (j + v) * DW_VL;
        if (col >= ow) break;
        const size_t n = v + 1 < nb || !tail || ow - col >= DW_VL ? DW_VL : ow - col;
        if (paired) {
            DW_FN(pair_store)(o < st->pair_whole_rows, clamp_only, c, st, acc[v], o, out);
        } else if (clamp_only) {
            DW_FN(store_lanes)(out + o * ow + col, DW_VMIN(hi, DW_VMAX(lo, acc[v])), n);
        } else {
            DW_FN(finish)(acc[v], c->residual ? c->residual + (ptrdiff_t)o * c->residual_stride + col : NULL, &c->f,
                          out + o * ow + col, n);
        }
    }
}

/* Output row oh of a strip: its sums so far from the carry, plus its last kernel row (and,
 * at stride 2, the middle one), whose products with the other kernel rows go on to the
 * carry of the next rows. `checked`: the input rows may lie outside the plane. */
DW_INLINE void DW_FN(direct_row)(const size_t nb, const size_t sw, const int paired, const int tail,
                                 const int clamp_only, const int checked, const DW_FN(call) *c, const DW_FN(direct_strip) *st,
                                 const DW_T *base, const DW_VEC *wv, DW_VEC bias, DW_VEC carry[][DW_DIRECT_VECTORS],
                                 size_t oh, size_t j, DW_T *out) {
    const ptrdiff_t ih = (ptrdiff_t)(oh * sw) - st->pad_top; /* the row of kernel row 0 */
    const ptrdiff_t H = st->in_height, W = st->in_width;
    DW_VEC acc[DW_DIRECT_VECTORS], taps[DW_DIRECT_VECTORS][3];
#pragma GCC unroll 8
    for (size_t v = 0; v < nb; v++) {
        acc[v] = carry[0][v];
        carry[0][v] = sw == 1 ? carry[1][v] : bias;
        carry[1][v] = bias;
    }
    if (sw == 2 && (!checked || (ih + 1 >= 0 && ih + 1 < H))) {
        DW_FN(direct_taps)(nb, sw, paired, tail, st, base + (ih + 1) * W, taps);
        DW_FN(direct_add)(nb, acc, taps, wv + 3);
    }
    if (!checked || (ih + 2 >= 0 && ih + 2 < H)) {
        DW_FN(direct_taps)(nb, sw, paired, tail, st, base + (ih + 2) * W, taps);
        DW_FN(direct_add)(nb, acc, taps, wv + 6);
        if (sw == 1) {
            DW_FN(direct_add)(nb, carry[0], taps, wv + 3);
            DW_FN(direct_add)(nb, carry[1], taps, wv);
        } else {
            DW_FN(direct_add)(nb, carry[0], taps, wv);
        }
    }
    DW_FN(direct_store)(nb, paired, tail, clamp_only, c, st, acc, oh, j, out);
}

/* The strip of nb output vectors from vector j (a pair's fields are pair_strip_init's). */
DW_INLINE void DW_FN(direct_strip_init)(DW_FN(direct_strip) *st, const DW_FN(call) *c, size_t nb, size_t sw,
                                        size_t j) {
    st->lo = c->f.lo;
    st->hi = c->f.hi;
    st->in_height = (ptrdiff_t)c->s->in_height;
    st->in_width = (ptrdiff_t)c->s->in_width;
    st->pad_top = (ptrdiff_t)c->s->pad_top;
    st->out_width = c->s->out_width;
    const ptrdiff_t start = (ptrdiff_t)(j * sw * DW_VL);
    for (size_t k = 0; k < 2 * nb + 1; k++)
        st->bits[k] = DW_FN(window_bits)(start + ((ptrdiff_t)k - 1) * DW_VL, c->s->in_width);
    for (size_t v = 0; v < nb; v++)
        for (size_t t = 0; t < 3; t++)
            st->tap_bits[v][t] = DW_FN(window_bits)(start + (ptrdiff_t)(v * DW_VL + t) - 1, c->s->in_width);
}

/* Output rows [oh_begin, oh_end) of a strip of nb output vectors from vector j, an output
 * row at a time (paired: the strip `pair`). Each input row is loaded and shifted once: its
 * products with the kernel rows go to the accumulators of the output rows it feeds (three
 * at stride 1, one or two at stride 2), carried over to the next iterations. */
DW_INLINE void DW_FN(direct_rows)(const size_t nb, const size_t sw, const int paired, const int tail,
                                  const int clamp_only, const DW_FN(call) *c, const DW_FN(direct_strip) *pair,
                                  const DW_T *x, const DW_VEC *wv, DW_VEC bias, size_t oh_begin, size_t oh_end,
                                  size_t j, DW_T *out) {
    DW_FN(direct_strip) st;
    if (paired)
        st = *pair;
    else
        DW_FN(direct_strip_init)(&st, c, nb, sw, j);
    const ptrdiff_t start = (ptrdiff_t)(j * sw * DW_VL);
    const DW_T *base = x + start;
    const ptrdiff_t H = st.in_height, W = st.in_width;
    DW_VEC taps[DW_DIRECT_VECTORS][3];
    /* carry[0]: the sums of output row oh so far, carry[1] of row oh + 1 (stride 1). */
    DW_VEC carry[2][DW_DIRECT_VECTORS];
#pragma GCC unroll 8
    for (size_t v = 0; v < nb; v++) carry[0][v] = carry[1][v] = bias;
    /* Input row ih feeds output rows (ih + pad_top - kh) / sw for kernel rows kh. */
    const ptrdiff_t ih0 = (ptrdiff_t)(oh_begin * sw) - st.pad_top;
    if (ih0 >= 0 && ih0 < H) {
        DW_FN(direct_taps)(nb, sw, paired, tail, &st, base + ih0 * W, taps);
        DW_FN(direct_add)(nb, carry[0], taps, wv);
    }
    if (sw == 1 && ih0 + 1 >= 0 && ih0 + 1 < H) {
        DW_FN(direct_taps)(nb, sw, paired, tail, &st, base + (ih0 + 1) * W, taps);
        DW_FN(direct_add)(nb, carry[0], taps, wv + 3);
        DW_FN(direct_add)(nb, carry[1], taps, wv);
    }
    /* The output rows whose new input rows (ih + 1 and ih + 2 at stride 2, ih + 2 at
     * stride 1) all lie inside the plane, [inner_begin, inner_end), test none: at stride
     * 2, +12-16 % on 14 and 28 wide rows. */
    const ptrdiff_t first_new = sw == 2 ? 1 : 2;
    ptrdiff_t inner_begin = -fc_dwconv_floor_div(first_new - st.pad_top, (ptrdiff_t)sw);
    ptrdiff_t inner_end = fc_dwconv_floor_div(H + st.pad_top - 3, (ptrdiff_t)sw) + 1;
    if (inner_begin < (ptrdiff_t)oh_begin) inner_begin = (ptrdiff_t)oh_begin;
    if (inner_begin > (ptrdiff_t)oh_end) inner_begin = (ptrdiff_t)oh_end;
    if (inner_end > (ptrdiff_t)oh_end) inner_end = (ptrdiff_t)oh_end;
    if (inner_end < inner_begin) inner_end = inner_begin;
    size_t oh = oh_begin;
    for (; oh < (size_t)inner_begin; oh++)
        DW_FN(direct_row)(nb, sw, paired, tail, clamp_only, 1, c, &st, base, wv, bias, carry, oh, j, out);
    for (; oh < (size_t)inner_end; oh++)
        DW_FN(direct_row)(nb, sw, paired, tail, clamp_only, 0, c, &st, base, wv, bias, carry, oh, j, out);
    for (; oh < oh_end; oh++)
        DW_FN(direct_row)(nb, sw, paired, tail, clamp_only, 1, c, &st, base, wv, bias, carry, oh, j, out);
}

/* Output rows [oh_begin, oh_end) of one channel, in strips of DW_DIRECT_VECTORS_S1 or _S2
 * output vectors (the last may have fewer). */
DW_INLINE void DW_FN(direct_strips)(const size_t sw, const int clamp_only, const DW_FN(call) *c, const DW_T *x,
                                    const DW_VEC *wv, DW_VEC bias, size_t oh_begin, size_t oh_end, DW_T *out) {
    const size_t vectors = (c->s->out_width + DW_VL - 1) / DW_VL, w = c->s->in_width;
    /* A strip loads all but its first and last vectors' columns whole (direct_taps), which
     * lie inside the row unless right padding of 2 or more adds a vector past it: such rows
     * go a vector a strip, every load masked. */
    const int whole_inside = sw == 1 ? DW_VL * (vectors - 1) < w : 2 * DW_VL * (vectors - 1) <= w;
    const size_t most = !whole_inside ? 1 : sw == 1 ? DW_DIRECT_VECTORS_S1 : DW_DIRECT_VECTORS_S2;
    for (size_t j = 0, nb; j < vectors; j += nb) {
        nb = vectors - j < most ? vectors - j : most;
        /* Strips before the last of the row load their last vector whole too. */
        if (nb >= 4 && j + nb < vectors)
            DW_FN(direct_rows)(4, sw, 0, 0, clamp_only, c, NULL, x, wv, bias, oh_begin, oh_end, j, out);
        else if (nb >= 4)
            DW_FN(direct_rows)(4, sw, 0, 1, clamp_only, c, NULL, x, wv, bias, oh_begin, oh_end, j, out);
        else if (nb == 3 && j + nb < vectors)
            DW_FN(direct_rows)(3, sw, 0, 0, clamp_only, c, NULL, x, wv, bias, oh_begin, oh_end, j, out);
        else if (nb == 3)
            DW_FN(direct_rows)(3, sw, 0, 1, clamp_only, c, NULL, x, wv, bias, oh_begin, oh_end, j, out);
        else if (nb == 2)
            DW_FN(direct_rows)(2, sw, 0, 1, clamp_only, c, NULL, x, wv, bias, oh_begin, oh_end, j, out);
        else
            DW_FN(direct_rows)(1, sw, 0, 1, clamp_only, c, NULL, x, wv, bias, oh_begin, oh_end, j, out);
    }
}

/* A pair's strip: at stride 1 input rows [0, whole_in) load whole, and output rows
 * [fast[0], fast[1]) load and store whole, their input rows inside the plane
 * (pair_strip_init). */
typedef struct {
    DW_FN(direct_strip) strip;
    ptrdiff_t whole_in;
    size_t fast[2];
} DW_FN(pair_strip);

/* The taps of input row ih of a pair at stride 1 (pair_rows_s1). Whole loads where they
 * stay inside the plane, the lanes past the rows then cleared: a load under a mask cost
 * about an FMA more on Zen 4 (+5-18 % on 7 wide rows). */
DW_INLINE void DW_FN(pair_taps)(const int whole, const DW_FN(pair_strip) *ps, DW_IVEC keep, const DW_T *x,
                                ptrdiff_t ih, DW_VEC taps[][3]) {
    const DW_FN(direct_strip) *st = &ps->strip;
    const DW_T *row = x + ih * st->in_width;
    const DW_VEC zero = {0};
    if (whole || ih < ps->whole_in)
        taps[0][1] = (DW_VEC)((DW_IVEC)DW_FN(halves)(DW_FN(loadu)(row), DW_FN(loadu)(row + st->pair_x)) & keep);
    else
        taps[0][1] = DW_FN(pair_load)(row, st->pair_x, st->bits[1]);
    taps[0][0] = DW_SHIFT_UP(taps[0][1], zero);
    taps[0][2] = DW_SHIFT_DOWN(taps[0][1], zero);
}

/* Output row oh of a pair at stride 1: its sums so far from the carry, plus its last
 * kernel row, whose products with the other rows go on to the carry. `fast`: its input row
 * lies inside the plane and loads whole, and the row stores whole (pair_fast). */
DW_INLINE void DW_FN(pair_row)(const int fast, const int clamp_only, const DW_FN(call) *c,
                               const DW_FN(pair_strip) *ps, DW_IVEC keep, const DW_T *x, const DW_VEC *wv,
                               DW_VEC bias, DW_VEC *carry, size_t oh, DW_T *out) {
    const DW_FN(direct_strip) *st = &ps->strip;
    const ptrdiff_t ih = (ptrdiff_t)oh - st->pad_top + 2;
    DW_VEC acc = carry[0], taps[1][3];
    carry[0] = carry[1];
    carry[1] = bias;
    if (fast || (ih >= 0 && ih < st->in_height)) {
        DW_FN(pair_taps)(fast, ps, keep, x, ih, taps);
        DW_FN(direct_add)(1, &acc, taps, wv + 6);
        DW_FN(direct_add)(1, &carry[0], taps, wv + 3);
        DW_FN(direct_add)(1, &carry[1], taps, wv);
    }
    DW_FN(pair_store)(fast || oh < st->pair_whole_rows, clamp_only, c, st, acc, oh, out);
}

/* Output rows [oh_begin, oh_end) of two channels at stride 1 whose rows fit half a vector
 * with a lane to spare (7x7 float32 on AVX-512): each row of the first channel in the lower
 * half of a vector, of the second in the upper half, zeros between, so that one lane shift
 * each way gives the left and right taps of both. Sums carried as in direct_rows. */
DW_INLINE void DW_FN(pair_rows_s1)(const int clamp_only, const DW_FN(call) *c, const DW_FN(pair_strip) *psp,
                                   DW_IVEC keep, const DW_T *x, const DW_VEC *wv, DW_VEC bias, size_t oh_begin,
                                   size_t oh_end, DW_T *out) {
    const DW_FN(pair_strip) ps = *psp;
    DW_VEC carry[2] = {bias, bias}, taps[1][3];
    /* Output row oh reads input rows oh - pad_top + kh. */
    const ptrdiff_t first = (ptrdiff_t)oh_begin - ps.strip.pad_top;
    for (ptrdiff_t ih = first; ih < first + 2; ih++) {
        if (ih < 0 || ih >= ps.strip.in_height) continue;
        DW_FN(pair_taps)(0, &ps, keep, x, ih, taps);
        DW_FN(direct_add)(1, &carry[0], taps, ih == first ? wv : wv + 3);
        if (ih > first) DW_FN(direct_add)(1, &carry[1], taps, wv);
    }
    size_t oh = oh_begin;
    for (; oh < ps.fast[0]; oh++) DW_FN(pair_row)(0, clamp_only, c, &ps, keep, x, wv, bias, carry, oh, out);
    for (; oh < ps.fast[1]; oh++) DW_FN(pair_row)(1, clamp_only, c, &ps, keep, x, wv, bias, carry, oh, out);
    for (; oh < oh_end; oh++) DW_FN(pair_row)(0, clamp_only, c, &ps, keep, x, wv, bias, carry, oh, out);
}

/* Where a pair's rows load and store whole (the direct method's pairs at stride 1 and 2).
 * `followed`: another plane of the call follows the pair's, at least a plane on, which
 * whole loads past the pair's planes may then read. */
DW_INLINE void DW_FN(pair_strip_init)(DW_FN(pair_strip) *ps, const DW_FN(call) *c, size_t sw, size_t oh_begin,
                                      size_t oh_end, ptrdiff_t pair_x, ptrdiff_t pair_out, int followed) {
    DW_FN(direct_strip) *st = &ps->strip;
    DW_FN(direct_strip_init)(st, c, 1, sw, 0);
    st->pair_x = pair_x;
    st->pair_out = pair_out;
    st->pair_residual = (ptrdiff_t)c->s->out_height * c->residual_stride;
    const ptrdiff_t H = st->in_height, W = st->in_width, ow = (ptrdiff_t)st->out_width;
    /* A whole half stored at row o spills into the rows after it, which come later, up to
     * element o ow + DW_HALF: it must not pass the end of row oh_end - 1. */
    const ptrdiff_t spill = (DW_HALF + ow - 1) / ow - 1;
    st->pair_whole_rows = (ptrdiff_t)oh_end > spill ? oh_end - (size_t)spill : 0;
    /* A whole vector from the start of row ih stays inside the plane, or reaches at most
     * DW_VL - W elements into the plane of the channel after (planes are pair_x apart). */
    if (followed && H * W + W >= DW_VL)
        ps->whole_in = H;
    else
        ps->whole_in = H * W >= DW_VL ? (H * W - DW_VL) / W + 1 : 0;
    /* Output row oh reads input row oh - pad_top + 2 last. */
    ptrdiff_t begin = st->pad_top - 2, end = (ps->whole_in < H ? ps->whole_in : H) + st->pad_top - 2;
    if (begin < (ptrdiff_t)oh_begin) begin = (ptrdiff_t)oh_begin;
    if (end > (ptrdiff_t)st->pair_whole_rows) end = (ptrdiff_t)st->pair_whole_rows;
    if (end > (ptrdiff_t)oh_end) end = (ptrdiff_t)oh_end;
    if (end < begin) end = begin;
    ps->fast[0] = (size_t)begin;
    ps->fast[1] = (size_t)end;
}

/* Output rows [oh_begin, oh_end) of channels [0, channels) of the call: a channel at a
 * time in strips of output vectors (direct_strips), or two at a time where their rows fit
 * half a vector (fc_dwconv_pairs_fit); weights in registers. */
DW_INLINE void DW_FN(kernel_direct)(DW_FN(call) *c, size_t channels, size_t oh_begin, size_t oh_end, const DW_T *x,
                                    ptrdiff_t x_channel_stride, const DW_T *weight, DW_T *out,
                                    ptrdiff_t out_channel_stride, const DW_EPILOGUE *ep, const size_t sw) {
    /* Without a slope or a residual the epilogue is a clamp, in registers. */
    const int clamp_only = !(ep && (ep->slope || ep->residual));
    const int pairs = fc_dwconv_pairs_fit(c->s, DW_VL);
    DW_FN(pair_strip) pair_strip[2]; /* pairs followed by another channel, and the last */
    DW_IVEC keep; /* pairs at stride 1: the lanes of each half that hold a row */
    for (size_t k = 0; k < DW_VL; k++) keep[k] = k % DW_HALF < c->s->in_width ? -1 : 0;
    if (pairs) {
        /* The outputs of one input plane (a multiplier: planes 0 apart) are followed by nothing. */
        const int followed = x_channel_stride >= (ptrdiff_t)(c->s->in_height * c->s->in_width);
        DW_FN(pair_strip_init)(&pair_strip[0], c, sw, oh_begin, oh_end, x_channel_stride, out_channel_stride,
                               followed);
        DW_FN(pair_strip_init)(&pair_strip[1], c, sw, oh_begin, oh_end, x_channel_stride, out_channel_stride, 0);
    }
    DW_VEC wv[9];
    for (size_t i = 0; i < channels;) {
        DW_FN(call_channel)(c, ep, i);
        const DW_T *xi = x + (ptrdiff_t)i * x_channel_stride, *w = weight + i * 9;
        DW_T *oi = out + (ptrdiff_t)i * out_channel_stride;
        if (pairs && i + 1 < channels) {
            const DW_T next_bias = ep && ep->bias ? ep->bias[i + 1] : 0;
            if (c->f.has_slope) c->f.slope = DW_FN(halves)(c->f.slope, DW_FN(splat)(ep->slope[i + 1]));
#pragma GCC unroll 9
            for (size_t t = 0; t < 9; t++) wv[t] = DW_FN(halves)(DW_FN(splat)(w[t]), DW_FN(splat)(w[9 + t]));
            const DW_VEC bias = DW_FN(halves)(DW_FN(splat)(c->bias), DW_FN(splat)(next_bias));
            if (sw == 1 && clamp_only)
                DW_FN(pair_rows_s1)(1, c, &pair_strip[i + 2 >= channels], keep, xi, wv, bias, oh_begin, oh_end, oi);
            else if (sw == 1)
                DW_FN(pair_rows_s1)(0, c, &pair_strip[i + 2 >= channels], keep, xi, wv, bias, oh_begin, oh_end, oi);
            else if (clamp_only)
                DW_FN(direct_rows)(1, sw, 1, 1, 1, c, &pair_strip[0].strip, xi, wv, bias, oh_begin, oh_end, 0, oi);
            else
                DW_FN(direct_rows)(1, sw, 1, 1, 0, c, &pair_strip[0].strip, xi, wv, bias, oh_begin, oh_end, 0, oi);
            i += 2;
            continue;
        }
#pragma GCC unroll 9
        for (size_t t = 0; t < 9; t++) wv[t] = DW_FN(splat)(w[t]);
        const DW_VEC bias = DW_FN(splat)(c->bias);
        if (clamp_only)
            DW_FN(direct_strips)(sw, 1, c, xi, wv, bias, oh_begin, oh_end, oi);
        else
            DW_FN(direct_strips)(sw, 0, c, xi, wv, bias, oh_begin, oh_end, oi);
        i++;
    }
}

/* The direct method at stride 1 and 2, compiled once each, apart from the methods that
 * call it: inlined into the streamed method's fallback, it changed the register
 * allocation of the streamed method's own loops (-6 %). */
#define DW_DIRECT_KERNEL(name, sw)                                                                                    \
    static __attribute__((noinline)) void DW_FN(name)(DW_FN(call) * c, size_t channels, size_t oh_begin,               \
                                                      size_t oh_end, const DW_T *x, ptrdiff_t x_channel_stride,       \
                                                      const DW_T *weight, DW_T *out, ptrdiff_t out_channel_stride,    \
                                                      const DW_EPILOGUE *ep) {                                        \
        DW_FN(kernel_direct)(c, channels, oh_begin, oh_end, x, x_channel_stride, weight, out, out_channel_stride, ep, \
                             sw);                                                                                     \
    }
DW_DIRECT_KERNEL(kernel_direct_s1, 1)
DW_DIRECT_KERNEL(kernel_direct_s2, 2)
#undef DW_DIRECT_KERNEL

/* The streamed method (see dwconv.h). */

#ifndef DW_SELECT
/* All ones in the lanes whose bit is set. */
DW_INLINE DW_IVEC DW_FN(lane_mask)(unsigned bits) {
    DW_IVEC m;
#pragma GCC unroll 16
    for (size_t k = 0; k < DW_VL; k++) m[k] = -(__typeof__(m[0]))((bits >> k) & 1u);
    return m;
}
#define DW_SELECT(bits, v) ((DW_VEC)((DW_IVEC)(v) & DW_FN(lane_mask)(bits)))
#define DW_BLEND(bits, a, b) \
    ((DW_VEC)(((DW_IVEC)(a) & ~DW_FN(lane_mask)(bits)) | ((DW_IVEC)(b) & DW_FN(lane_mask)(bits))))
#endif
#ifndef DW_SELECT_SHIFT_UP
#define DW_SELECT_SHIFT_UP(bits, v, prev) DW_SELECT(bits, DW_SHIFT_UP(v, prev))
#define DW_SELECT_SHIFT_DOWN(bits, v, next) DW_SELECT(bits, DW_SHIFT_DOWN(v, next))
#endif

/* Where the taps of the lanes of a stream's vector fall inside their plane: bit l of
 * `left` is set iff lane l has a column to its left, and so on. A vector's bits depend
 * only on where in a plane its lane 0 is: there are plane / gcd(plane, DW_VL) of them. */
typedef struct {
    uint16_t left, right, above, below;
} DW_FN(stream_edges);

/* Bytes of the edges' bit strings over positions [0, plane + DW_VL) (bit p: position p of
 * a plane, p - plane of the next one), and a word of slack for reading 32 bits anywhere. */
#define DW_STREAM_BIT_BYTES ((FC_DWCONV_STREAM_MAX_PIXELS + DW_VL + 7) / 8 + 4)

/* Bits [p, p + DW_VL) of a bit string. */
DW_INLINE unsigned DW_FN(stream_bits)(const uint8_t *bits, size_t p) {
    uint32_t word;
    memcpy(&word, bits + p / 8, sizeof word);
    return (word >> (p % 8)) & ((1u << DW_VL) - 1u);
}

/* Entries of a stream's edges table: a vector's phases, then those of a run of vectors
 * inside one plane again (stream_wrap). */
#define DW_STREAM_EDGES (FC_DWCONV_STREAM_MAX_PIXELS + FC_DWCONV_STREAM_MAX_PIXELS / DW_VL)

/* The edges of the vectors whose lane 0 is position q DW_VL % plane, q < the returned
 * count (the phases), repeated up to DW_STREAM_EDGES entries. */
DW_INLINE size_t DW_FN(stream_edges_init)(DW_FN(stream_edges) *edges, size_t height, size_t width) {
    uint8_t bits[4][DW_STREAM_BIT_BYTES] = {{0}}; /* left, right, above, below */
    const size_t plane = height * width;
    for (size_t p = 0, row = 0, col = 0; p < plane + DW_VL; p++) {
        const uint8_t bit = (uint8_t)(1u << (p % 8));
        if (col > 0) bits[0][p / 8] |= bit;
        if (col + 1 < width) bits[1][p / 8] |= bit;
        if (row > 0) bits[2][p / 8] |= bit;
        if (row + 1 < height) bits[3][p / 8] |= bit;
        if (++col == width) {
            col = 0;
            if (++row == height) row = 0;
        }
    }
    size_t count = 0, pos = 0;
    do {
        edges[count].left = (uint16_t)DW_FN(stream_bits)(bits[0], pos);
        edges[count].right = (uint16_t)DW_FN(stream_bits)(bits[1], pos);
        edges[count].above = (uint16_t)DW_FN(stream_bits)(bits[2], pos);
        edges[count].below = (uint16_t)DW_FN(stream_bits)(bits[3], pos);
        count++;
        pos = (pos + DW_VL) % plane;
    } while (pos != 0);
    for (size_t q = count; q < count + plane / DW_VL && q < DW_STREAM_EDGES; q++) edges[q] = edges[q - count];
    return count;
}

/* Vector u of a stream: its three kernel rows' sums (each over the three columns), the
 * edges of its lanes, and the slopes of their channels. */
typedef struct {
    DW_VEC sum[3], slope;
    const DW_FN(stream_edges) *edges;
} DW_FN(stream_vector);

/* A stream's next vector to sum: its lane 0 is position `pos` of channel `ch`, whose
 * weights (and bias and slope, where the epilogue has them) are splat in registers;
 * its edges are edges[phase]. */
typedef struct {
    size_t ch, pos, phase;
    DW_VEC w[9], bias, slope;
} DW_FN(stream_cursor);

DW_INLINE void DW_FN(stream_channel)(DW_FN(stream_cursor) *k, const DW_T *weight, const DW_T *bias,
                                     const DW_T *slope) {
#pragma GCC unroll 9
    for (size_t t = 0; t < 9; t++) k->w[t] = DW_FN(splat)(weight[k->ch * 9 + t]);
    if (bias) k->bias = DW_FN(splat)(bias[k->ch]);
    if (slope) k->slope = DW_FN(splat)(slope[k->ch]);
}

/* What a stream's vectors share. */
typedef struct {
    const DW_FN(stream_edges) *edges;
    size_t phases, plane, channels;
    const DW_T *weight, *bias, *slope;
} DW_FN(stream);

/* The weights (w, b, slope) of the cursor's vector: its channel's, or, for a vector that
 * holds the end of one plane and the start of the next (`spans`), the two channels'
 * blended; the cursor then moves on to the next channel. */
DW_INLINE void DW_FN(stream_weights)(const int spans, DW_FN(stream_cursor) *k, const DW_FN(stream) *st, DW_VEC *w,
                                     DW_VEC *b, DW_VEC *slope) {
#pragma GCC unroll 9
    for (size_t t = 0; t < 9; t++) w[t] = k->w[t];
    *b = k->bias;
    *slope = k->slope;
    if (!spans) return;
    const unsigned lanes = ((1u << DW_VL) - 1u) & ~((1u << (st->plane - k->pos)) - 1u);
    k->ch++;
    DW_FN(stream_channel)(k, st->weight, st->bias, st->slope);
#pragma GCC unroll 9
    for (size_t t = 0; t < 9; t++) w[t] = DW_BLEND(lanes, w[t], k->w[t]);
    if (st->bias) *b = DW_BLEND(lanes, *b, k->bias);
    if (st->slope) *slope = DW_BLEND(lanes, *slope, k->slope);
}

/* The sums of the cursor's vector, whose input is cur (prev and next its neighbours), with
 * its weights; moves the cursor on a vector (stream_wrap then takes it into range). */
DW_INLINE void DW_FN(stream_sums)(const int spans, DW_FN(stream_cursor) *k, const DW_FN(stream) *st, DW_VEC prev,
                                  DW_VEC cur, DW_VEC next, DW_FN(stream_vector) *sv) {
    DW_VEC w[9], b;
    DW_FN(stream_weights)(spans, k, st, w, &b, &sv->slope);
    sv->edges = &st->edges[k->phase];
    const DW_VEC left = DW_SELECT_SHIFT_UP(sv->edges->left, cur, prev);
    const DW_VEC right = DW_SELECT_SHIFT_DOWN(sv->edges->right, cur, next);
    sv->sum[0] = left * w[0] + cur * w[1] + right * w[2];
    sv->sum[1] = b + left * w[3] + cur * w[4] + right * w[5];
    sv->sum[2] = left * w[6] + cur * w[7] + right * w[8];
    k->phase++;
    k->pos += DW_VL;
}

/* Brings the cursor's phase and position back into range after stream_sums (a run of
 * them inside one plane: the edges table has room for the run's phases), into the next
 * channel at a plane's end (already there after a vector that spans two planes). */
DW_INLINE void DW_FN(stream_wrap)(const int spanned, DW_FN(stream_cursor) *k, const DW_FN(stream) *st) {
    if (k->phase >= st->phases) k->phase -= st->phases;
    if (k->pos >= st->plane) {
        k->pos -= st->plane;
        if (!spanned && ++k->ch < st->channels) DW_FN(stream_channel)(k, st->weight, st->bias, st->slope);
    }
}

/* A stream in flight: input vectors u - 1, u, u + 1 (prev, cur, next) and the sums of
 * vectors u - 1, u (done, now); the cursor is at vector u + 1. */
typedef struct {
    DW_VEC prev, cur, next;
    DW_FN(stream_vector) done, now;
    DW_FN(stream_cursor) k;
} DW_FN(stream_state);

/* Output vector u: sums vector u + 1 (with its weights: `spans` as in stream_weights, or
 * -1 to tell at run time; `wrap`: stream_wrap after), then adds to vector u's middle row
 * sums those of the rows above and below. `whole`: vectors u to u + 2 lie inside the n
 * elements of the stream. */
DW_INLINE void DW_FN(stream_step)(const int clamp_only, const int whole, const int spans, const int wrap,
                                  DW_FN(stream_state) *z, const DW_FN(stream) *st, const DW_IVEC from_above,
                                  const DW_IVEC from_below, DW_VEC lo, DW_VEC hi, const DW_T *x, const DW_T *residual,
                                  DW_T *out, size_t u, size_t n) {
    const size_t vectors = (n + DW_VL - 1) / DW_VL;
    const DW_VEC zero = {0};
    z->prev = z->cur;
    z->cur = z->next;
    z->next = whole ? DW_FN(loadu)(x + (u + 2) * DW_VL)
                    : DW_LOAD_MASKED(x + (u + 2) * DW_VL, DW_FN(window_bits)((ptrdiff_t)(u + 2) * DW_VL, n));
    DW_FN(stream_vector) later = z->done; /* past the last vector: never read (no lane of it has a row below) */
    if (spans >= 0 || u + 1 < vectors) {
        const int spanning = spans >= 0 ? spans : z->k.pos + DW_VL > st->plane && z->k.ch + 1 < st->channels;
        if (spanning)
            DW_FN(stream_sums)(1, &z->k, st, z->prev, z->cur, z->next, &later);
        else
            DW_FN(stream_sums)(0, &z->k, st, z->prev, z->cur, z->next, &later);
        if (wrap) DW_FN(stream_wrap)(spanning, &z->k, st);
    }
    const DW_FN(stream_vector) *now = &z->now;
    DW_VEC v = now->sum[1] + DW_SELECT(now->edges->above, __builtin_shuffle(z->done.sum[0], now->sum[0], from_above)) +
               DW_SELECT(now->edges->below, __builtin_shuffle(now->sum[2], later.sum[2], from_below));
    const unsigned lanes = whole ? (1u << DW_VL) - 1u : DW_FN(window_bits)((ptrdiff_t)u * DW_VL, n);
    if (!clamp_only) {
        if (residual) v += whole ? DW_FN(loadu)(residual + u * DW_VL) : DW_LOAD_MASKED(residual + u * DW_VL, lanes);
        if (st->slope) v = DW_VMAX(zero, v) + now->slope * DW_VMIN(zero, v);
    }
    v = DW_VMIN(hi, DW_VMAX(lo, v));
    if (whole)
        DW_FN(storeu)(out + u * DW_VL, v);
    else
        DW_STORE_MASKED(out + u * DW_VL, v, lanes);
    z->done = z->now;
    z->now = later;
}

/* Output channels [0, channels) of a run whose planes follow each other in x, out and the
 * residual: one stream of channels * plane elements, in vectors that run across row and
 * plane ends. An output vector is the sum of its middle kernel row's sums and the sums of
 * the rows above and below, out_width lanes back and on (masked at the plane's edges).
 * Most vectors go in runs inside one plane, whose weights stay put; the last few, where
 * loads and stores are partial, test everything. */
DW_INLINE void DW_FN(stream_run)(const int clamp_only, const DW_FN(call) *c, const DW_FN(stream_edges) *edges,
                                 size_t phases, size_t channels, const DW_T *x, const DW_T *weight, DW_T *out,
                                 const DW_EPILOGUE *ep) {
    const size_t width = c->s->out_width, plane = c->s->out_height * width, n = channels * plane;
    const size_t vectors = (n + DW_VL - 1) / DW_VL, whole_steps = n / DW_VL >= 2 ? n / DW_VL - 2 : 0;
    const DW_T *residual = ep ? ep->residual : NULL;
    const DW_FN(stream) st = {edges, phases, plane, channels, weight, ep ? ep->bias : NULL, ep ? ep->slope : NULL};
    const DW_VEC zero = {0}, lo = c->f.lo, hi = c->f.hi;
    DW_IVEC from_above, from_below; /* lane l: lane l - width, l + width of (previous, this, next) */
#pragma GCC unroll 16
    for (size_t l = 0; l < DW_VL; l++) {
        from_above[l] = DW_VL + l - width;
        from_below[l] = l + width;
    }
    DW_FN(stream_state) z = {zero, zero, zero, {{zero, zero, zero}, zero, edges}, {{zero, zero, zero}, zero, edges},
                             {0, 0, 0, {{0}}, zero, zero}};
    DW_FN(stream_channel)(&z.k, weight, st.bias, st.slope);
    z.cur = DW_LOAD_MASKED(x, DW_FN(window_bits)(0, n));
    z.next = DW_LOAD_MASKED(x + DW_VL, DW_FN(window_bits)(DW_VL, n));
    DW_FN(stream_sums)(0, &z.k, &st, z.prev, z.cur, z.next, &z.now); /* plane >= DW_VL: vector 0 spans none */
    DW_FN(stream_wrap)(0, &z.k, &st);
    size_t u = 0;
    while (u < whole_steps) {
        if (z.k.pos + DW_VL > plane) {
            DW_FN(stream_step)(clamp_only, 1, 1, 1, &z, &st, from_above, from_below, lo, hi, x, residual, out, u++, n);
            continue;
        }
        /* The cursor's run of vectors inside its plane. */
        size_t run = (plane - z.k.pos) / DW_VL;
        if (run > whole_steps - u) run = whole_steps - u;
        for (const size_t end = u + run; u < end; u++)
            DW_FN(stream_step)(clamp_only, 1, 0, 0, &z, &st, from_above, from_below, lo, hi, x, residual, out, u, n);
        DW_FN(stream_wrap)(0, &z.k, &st);
    }
    for (; u < vectors; u++)
        DW_FN(stream_step)(clamp_only, 0, -1, 1, &z, &st, from_above, from_below, lo, hi, x, residual, out, u, n);
}

/* Runs of channels whose planes follow each other (in x, out and the residual) go as one
 * stream; others a channel at a time. */
DW_INLINE void DW_FN(kernel_streamed)(DW_FN(call) *c, size_t channels, const DW_T *x, ptrdiff_t x_channel_stride,
                                      const DW_T *weight, DW_T *out, ptrdiff_t out_channel_stride,
                                      const DW_EPILOGUE *ep) {
    const ptrdiff_t plane = (ptrdiff_t)(c->s->out_height * c->s->out_width);
    if (ep && ep->residual && ep->residual_row_stride != (ptrdiff_t)c->s->out_width) {
        /* A residual whose rows are not out_width apart: no stream (the direct method,
         * which streamed shapes fit, takes any). */
        DW_FN(kernel_direct_s1)(c, channels, 0, c->s->out_height, x, x_channel_stride, weight, out, out_channel_stride,
                                ep);
        return;
    }
    const int clamp_only = !(ep && (ep->slope || ep->residual));
    DW_FN(stream_edges) edges[DW_STREAM_EDGES];
    const size_t phases = DW_FN(stream_edges_init)(edges, c->s->out_height, c->s->out_width);
    const size_t run = x_channel_stride == plane && out_channel_stride == plane ? channels : 1;
    for (size_t i = 0; i < channels; i += run) {
        DW_EPILOGUE channel_ep;
        const DW_EPILOGUE *cep = NULL;
        if (ep) {
            channel_ep = *ep;
            channel_ep.bias = ep->bias ? ep->bias + i : NULL;
            channel_ep.slope = ep->slope ? ep->slope + i : NULL;
            channel_ep.residual = ep->residual ? ep->residual + (ptrdiff_t)i * plane : NULL;
            cep = &channel_ep;
        }
        const DW_T *xi = x + (ptrdiff_t)i * x_channel_stride, *wi = weight + i * 9;
        DW_T *oi = out + (ptrdiff_t)i * out_channel_stride;
        if (clamp_only)
            DW_FN(stream_run)(1, c, edges, phases, run, xi, wi, oi, cep);
        else
            DW_FN(stream_run)(0, c, edges, phases, run, xi, wi, oi, cep);
    }
}

/* The interleaved method (see dwconv.h). */

/* Transposes the DW_VL x DW_VL square v (v[i] lane j <- v[j] lane i): the ISA's own, or
 * log2(DW_VL) rounds of zipping v[i] with v[i + DW_VL / 2] (the perfect-shuffle transpose). */
DW_INLINE void DW_FN(transpose)(DW_VEC *v) {
#ifdef DW_TRANSPOSE
    DW_TRANSPOSE(v);
    return;
#endif
#pragma GCC unroll 4
    for (size_t half = DW_VL / 2; half > 0; half /= 2) {
        DW_VEC t[DW_VL];
#pragma GCC unroll 16
        for (size_t i = 0; i < DW_VL / 2; i++) {
            t[2 * i] = __builtin_shuffle(v[i], v[i + DW_VL / 2], DW_ZIP_LO);
            t[2 * i + 1] = __builtin_shuffle(v[i], v[i + DW_VL / 2], DW_ZIP_HI);
        }
#pragma GCC unroll 16
        for (size_t i = 0; i < DW_VL; i++) v[i] = t[i];
    }
}

/* v[c] = elements [start, start + DW_VL) of row c (rows `stride` apart, n elements) for
 * c < nc, zero for the rest. The common case, whole vectors of a whole group, has no
 * test per vector. */
DW_INLINE void DW_FN(load_square)(DW_VEC *v, const DW_T *x, ptrdiff_t stride, size_t start, size_t n, size_t nc) {
    if (nc == DW_VL && start + DW_VL <= n) {
#pragma GCC unroll 16
        for (size_t c = 0; c < DW_VL; c++) v[c] = DW_FN(loadu)(x + (ptrdiff_t)c * stride + start);
        return;
    }
    for (size_t c = 0; c < DW_VL; c++)
        v[c] = c < nc ? DW_FN(load_row)(x + (ptrdiff_t)c * stride, (ptrdiff_t)start, n) : (DW_VEC){0};
}

/* Channels [0, nc) of a group (planes x_channel_stride apart) into the interior of the
 * padded plane, a square of channels x pixels at a time; input pixel p goes to padded
 * pixel positions[p]. */
DW_INLINE void DW_FN(interleave_input)(size_t n, const uint32_t *positions, const DW_T *x,
                                       ptrdiff_t x_channel_stride, size_t nc, DW_T *padded) {
    for (size_t p = 0; p < n; p += DW_VL) {
        if (n - p <= DW_SCALAR_TAIL) {
            /* A few pixels left: element by element beats a whole transpose. */
            for (size_t k = p; k < n; k++)
                for (size_t c = 0; c < DW_VL; c++)
                    padded[(size_t)positions[k] * DW_VL + c] = c < nc ? x[(ptrdiff_t)c * x_channel_stride + k] : 0;
            return;
        }
        DW_VEC v[DW_VL];
        DW_FN(load_square)(v, x, x_channel_stride, p, n, nc);
        DW_FN(transpose)(v);
        if (p + DW_VL <= n) {
#pragma GCC unroll 16
            for (size_t k = 0; k < DW_VL; k++) DW_FN(storeu)(padded + (size_t)positions[p + k] * DW_VL, v[k]);
        } else {
            for (size_t k = 0; p + k < n; k++) DW_FN(storeu)(padded + (size_t)positions[p + k] * DW_VL, v[k]);
        }
    }
}

/* wv[t] = the weights of tap t of channels [0, nc) (taps apart from weight; zero past nc),
 * a square of channels x taps at a time. */
DW_INLINE void DW_FN(interleave_weights)(const DW_T *weight, size_t taps, size_t nc, DW_VEC *wv) {
    for (size_t t0 = 0; t0 < taps; t0 += DW_VL) {
        DW_VEC v[DW_VL];
        DW_FN(load_square)(v, weight, (ptrdiff_t)taps, t0, taps, nc);
        DW_FN(transpose)(v);
        for (size_t k = 0; k < DW_VL && t0 + k < taps; k++) wv[t0 + k] = v[k];
    }
}

/* nb consecutive output pixels of a row, whose first taps of each kernel row kh are at
 * rows[kh] (pixels sw apart): nb independent FMA chains, activated if `activation`. */
DW_INLINE void DW_FN(interleaved_block)(const size_t nb, const size_t kh_count, const size_t kw_count,
                                        const size_t sw, const size_t dw, const DW_T *const *rows, const DW_VEC *wv,
                                        DW_VEC bias, const DW_FN(finish_params) *activation,
                                        DW_T *restrict results) {
    DW_VEC acc[DW_BLOCK];
#pragma GCC unroll 8
    for (size_t b = 0; b < nb; b++) acc[b] = bias;
#pragma GCC unroll 8
    for (size_t kh = 0; kh < kh_count; kh++)
#pragma GCC unroll 8
        for (size_t kw = 0; kw < kw_count; kw++)
#pragma GCC unroll 8
            for (size_t b = 0; b < nb; b++)
                acc[b] += DW_FN(loadu)(rows[kh] + (kw * dw + b * sw) * DW_VL) * wv[kh * kw_count + kw];
#pragma GCC unroll 8
    for (size_t b = 0; b < nb; b++)
        DW_FN(storeu)(results + b * DW_VL, activation ? DW_FN(activate)(acc[b], activation) : acc[b]);
}

/* Channels [0, nc) of the results back to their planes (channel i of the call is
 * group_first + i): through the epilogue if there is a residual, else already activated. */
DW_INLINE void DW_FN(deinterleave_output)(DW_FN(call) *c, const DW_EPILOGUE *ep, int has_residual,
                                          size_t group_first, size_t nc, const DW_T *results, DW_T *out,
                                          ptrdiff_t out_channel_stride) {
    const size_t n = c->s->out_height * c->s->out_width;
    for (size_t p = 0; p < n; p += DW_VL) {
        if (!has_residual && n - p <= DW_SCALAR_TAIL) {
            for (size_t k = p; k < n; k++)
                for (size_t i = 0; i < nc; i++) out[(ptrdiff_t)i * out_channel_stride + k] = results[k * DW_VL + i];
            return;
        }
        DW_VEC v[DW_VL];
#pragma GCC unroll 16
        for (size_t k = 0; k < DW_VL; k++) v[k] = DW_FN(loadu)(results + (p + k) * DW_VL);
        DW_FN(transpose)(v);
        const size_t lanes = n - p < DW_VL ? n - p : DW_VL;
        if (!has_residual && nc == DW_VL && lanes == DW_VL) {
#pragma GCC unroll 16
            for (size_t i = 0; i < DW_VL; i++) DW_FN(storeu)(out + (ptrdiff_t)i * out_channel_stride + p, v[i]);
            continue;
        }
        if (!has_residual) {
            for (size_t i = 0; i < nc; i++)
                DW_FN(store_lanes)(out + (ptrdiff_t)i * out_channel_stride + p, v[i], lanes);
            continue;
        }
        for (size_t i = 0; i < nc; i++) {
            DW_FN(call_channel)(c, ep, group_first + i);
            DW_FN(finish)(v[i], c->residual ? c->residual + p : NULL, &c->f,
                          out + (ptrdiff_t)i * out_channel_stride + p, lanes);
        }
    }
}

/* Channels in groups of DW_VL, each interleaved, convolved and deinterleaved. */
DW_INLINE void DW_FN(kernel_interleaved)(DW_FN(call) *c, size_t channels, const DW_T *x, ptrdiff_t x_channel_stride,
                                         const DW_T *weight, DW_T *out, ptrdiff_t out_channel_stride,
                                         const DW_EPILOGUE *ep, void *workspace, const size_t kh_count,
                                         const size_t kw_count, const size_t sh, const size_t sw, const size_t dh,
                                         const size_t dw) {
    const fc_conv2d_shape *s = c->s;
    const fc_dwconv_workspace_layout *l = c->l;
    const size_t taps = kh_count * kw_count, pw = l->padded_width, oh_count = s->out_height, ow = s->out_width;
    DW_T *padded = workspace;
    DW_T *results = (DW_T *)((char *)workspace + l->results_offset);
    const int has_residual = ep && ep->residual;
    const uint32_t *positions = (const uint32_t *)((char *)workspace + l->positions_offset);
    DW_VEC wv[FC_DWCONV_INTERLEAVED_MAX_TAPS];
    const DW_T *rows[FC_DWCONV_INTERLEAVED_MAX_TAPS];
    for (size_t g = 0; g < channels; g += DW_VL) {
        const size_t nc = channels - g < DW_VL ? channels - g : DW_VL;
        DW_FN(interleave_weights)(weight + g * taps, taps, nc, wv);
        const DW_VEC bias = ep && ep->bias ? DW_FN(load_row)(ep->bias + g, 0, nc) : (DW_VEC){0};
        /* Without a residual, the whole epilogue (the group's slopes) goes before the transpose. */
        DW_FN(finish_params) group_activation = c->f;
        if (c->f.has_slope) group_activation.slope = DW_FN(load_row)(ep->slope + g, 0, nc);
        const DW_FN(finish_params) *activation = has_residual ? NULL : &group_activation;
        DW_FN(interleave_input)(s->in_height * s->in_width, positions, x + (ptrdiff_t)g * x_channel_stride,
                                x_channel_stride, nc, padded);
        for (size_t oh = 0; oh < oh_count; oh++) {
            for (size_t kh = 0; kh < kh_count; kh++) rows[kh] = padded + (oh * sh + kh * dh) * pw * DW_VL;
            DW_T *res = results + oh * ow * DW_VL;
            size_t j = 0;
            for (; j + DW_BLOCK <= ow; j += DW_BLOCK) {
                DW_FN(interleaved_block)(DW_BLOCK, kh_count, kw_count, sw, dw, rows, wv, bias, activation,
                                         res + j * DW_VL);
                for (size_t kh = 0; kh < kh_count; kh++) rows[kh] += DW_BLOCK * sw * DW_VL;
            }
            /* 1 to DW_BLOCK - 1 pixels left: one block of them. */
            res += j * DW_VL;
            switch (ow - j) {
            case 3: DW_FN(interleaved_block)(3, kh_count, kw_count, sw, dw, rows, wv, bias, activation, res); break;
            case 2: DW_FN(interleaved_block)(2, kh_count, kw_count, sw, dw, rows, wv, bias, activation, res); break;
            case 1: DW_FN(interleaved_block)(1, kh_count, kw_count, sw, dw, rows, wv, bias, activation, res); break;
            default: break;
            }
        }
        DW_FN(deinterleave_output)(c, ep, has_residual, g, nc, results, out + (ptrdiff_t)g * out_channel_stride,
                                   out_channel_stride);
    }
}

/* Wide planes: row by row, epilogue in registers. */
DW_INLINE void DW_FN(kernel_rows)(const DW_FN(call) *c, size_t oh_begin, size_t oh_end, const DW_T *x, const DW_T *w,
                                  DW_T *out, void *workspace, const size_t kh_count, const size_t kw_count,
                                  const size_t sh, const size_t sw, const size_t dh, const size_t dw) {
    const fc_dwconv_workspace_layout *l = c->l;
    const size_t pitch = l->pitch, phase_elems = l->phase_elems, ow = c->s->out_width;
    DW_T *staged = workspace;
    const int local = kh_count <= DW_LOCAL_TAPS && kw_count <= DW_LOCAL_TAPS;
    const DW_T *local_rows[DW_LOCAL_TAPS];
    ptrdiff_t local_off[DW_LOCAL_TAPS];
    const DW_T **rows = local ? local_rows : (const DW_T **)((char *)workspace + l->pointers_offset);
    ptrdiff_t *off = local ? local_off : (ptrdiff_t *)((char *)workspace + l->offsets_offset);
    for (size_t kw = 0; kw < kw_count; kw++) off[kw] = (ptrdiff_t)((kw * dw % sw) * phase_elems + kw * dw / sw);
    for (size_t band = oh_begin; band < oh_end; band += l->band_rows) {
        const size_t band_rows = oh_end - band < l->band_rows ? oh_end - band : l->band_rows;
        DW_FN(stage_band)(c, x, band, band_rows, sh, sw, staged);
        for (size_t r = 0; r < band_rows; r++) {
            const size_t oh = band + r;
            for (size_t kh = 0; kh < kh_count; kh++)
                rows[kh] = staged + (kh * dh % sh) * sw * phase_elems + (r + kh * dh / sh) * pitch;
            DW_FN(row)(kh_count, kw_count, rows, off, w, c->bias,
                       c->residual ? c->residual + (ptrdiff_t)oh * c->residual_stride : NULL, &c->f, out + oh * ow,
                       ow);
        }
    }
}

/* The taps of one channel: a copy the output stores cannot alias, so that the weights stay
 * in registers, when they fit in `local`. */
DW_INLINE const DW_T *DW_FN(channel_weights)(const DW_T *w, size_t taps, DW_T *local) {
    if (taps > DW_LOCAL_TAPS * DW_LOCAL_TAPS) return w;
    for (size_t t = 0; t < taps; t++) local[t] = w[t];
    return local;
}

/* Splits one input plane into the planar phase planes (rows `pitch` apart): see dwconv.h. */
DW_INLINE void DW_FN(stage_planes)(const fc_conv2d_shape *s, const fc_dwconv_workspace_layout *l, const DW_T *x,
                                   const size_t sh, const size_t sw, DW_T *staged) {
    /* A row is read on into the rows after it, up to the plane's end: those lanes land in
     * phase columns past the input's, which no unmasked lane reads, so whole vectors do. */
    for (size_t ph = 0; ph < sh && ph < s->in_height; ph++)
        for (size_t i = 0; i * sh + ph < s->in_height; i++)
            DW_FN(stage_row)(x + (i * sh + ph) * s->in_width, (s->in_height - i * sh - ph) * s->in_width, 0, sw,
                             l->pitch, l->phase_elems, staged + ph * sw * l->phase_elems + i * l->pitch);
}

/* Lanes of output vector v whose tap t falls inside the input. */
DW_INLINE unsigned DW_FN(tap_mask)(const uint16_t *masks, size_t taps, size_t v, size_t t) {
    const size_t first = v * DW_VL;
    const unsigned word = masks[first / FC_DWCONV_MASK_BITS * taps + t];
    return DW_VL == FC_DWCONV_MASK_BITS ? word : (word >> (first % FC_DWCONV_MASK_BITS)) & ((1u << DW_VL) - 1u);
}

/* Output vectors [v, v + nb) of a planar plane of n outputs: nb independent FMA chains,
 * epilogue in registers. */
DW_INLINE void DW_FN(planar_block)(const DW_FN(call) *c, const size_t nb, const size_t taps, const ptrdiff_t *off,
                                   const uint16_t *masks, const DW_T *w, const DW_T *src, DW_T *out, size_t v,
                                   size_t n) {
    DW_VEC acc[DW_BLOCK];
#pragma GCC unroll 8
    for (size_t b = 0; b < nb; b++) acc[b] = DW_FN(splat)(c->bias);
#pragma GCC unroll 64
    for (size_t t = 0; t < taps; t++) {
        const DW_VEC wv = DW_FN(splat)(w[t]);
#pragma GCC unroll 8
        for (size_t b = 0; b < nb; b++)
            acc[b] += DW_LOAD_MASKED(src + off[t] + (v + b) * DW_VL, DW_FN(tap_mask)(masks, taps, v + b, t)) * wv;
    }
#pragma GCC unroll 8
    for (size_t b = 0; b < nb; b++) {
        const size_t first = (v + b) * DW_VL;
        DW_FN(finish)(acc[b], c->residual ? c->residual + first : NULL, &c->f, out + first,
                      n - first < DW_VL ? n - first : DW_VL);
    }
}

/* Whole planes in the flat output space, straight from the input or from its phase planes. */
DW_INLINE void DW_FN(kernel_planar)(DW_FN(call) *c, size_t channels, const DW_T *x, ptrdiff_t x_channel_stride,
                                    const DW_T *weight, DW_T *out, ptrdiff_t out_channel_stride,
                                    const DW_EPILOGUE *ep, void *workspace, const size_t taps, const size_t sh,
                                    const size_t sw) {
    const fc_dwconv_workspace_layout *l = c->l;
    const size_t n = c->s->out_height * c->s->out_width, vectors = (n + DW_VL - 1) / DW_VL;
    DW_T *staged = workspace;
    const ptrdiff_t *workspace_off = (const ptrdiff_t *)((char *)workspace + l->offsets_offset);
    const uint16_t *masks = (const uint16_t *)((char *)workspace + l->masks_offset);
    ptrdiff_t local_off[DW_LOCAL_TAPS * DW_LOCAL_TAPS];
    const ptrdiff_t *off = workspace_off;
    if (taps <= DW_LOCAL_TAPS * DW_LOCAL_TAPS) {
        for (size_t t = 0; t < taps; t++) local_off[t] = workspace_off[t];
        off = local_off;
    }
    DW_T local_w[DW_LOCAL_TAPS * DW_LOCAL_TAPS];
    for (size_t i = 0; i < channels; i++) {
        DW_FN(call_channel)(c, ep, i);
        const DW_T *plane = x + (ptrdiff_t)i * x_channel_stride;
        if (l->staged) {
            DW_FN(stage_planes)(c->s, l, plane, sh, sw, staged);
            plane = staged;
        }
        const DW_T *w = DW_FN(channel_weights)(weight + i * taps, taps, local_w);
        DW_T *out_plane = out + (ptrdiff_t)i * out_channel_stride;
        size_t v = 0;
        for (; v + DW_BLOCK <= vectors; v += DW_BLOCK)
            DW_FN(planar_block)(c, DW_BLOCK, taps, off, masks, w, plane, out_plane, v, n);
        /* 1 to 3 vectors left: a block of 2 and a single. */
        if (v + 2 <= vectors) {
            DW_FN(planar_block)(c, 2, taps, off, masks, w, plane, out_plane, v, n);
            v += 2;
        }
        if (v < vectors) DW_FN(planar_block)(c, 1, taps, off, masks, w, plane, out_plane, v, n);
    }
}

DW_INLINE void DW_FN(kernel)(const fc_dwconv_plan *plan, size_t channels, size_t oh_begin, size_t oh_end,
                             const DW_T *x, ptrdiff_t x_channel_stride, const DW_T *weight, DW_T *out,
                             ptrdiff_t out_channel_stride, const DW_EPILOGUE *ep, void *workspace,
                             const size_t kh_count, const size_t kw_count, const size_t sh, const size_t sw,
                             const size_t dh, const size_t dw) {
    DW_FN(call) c;
    DW_FN(call_init)(&c, plan, ep);
    const size_t taps = kh_count * kw_count;
    if (plan->workspace.direct) {
        (sw == 1 ? DW_FN(kernel_direct_s1) : DW_FN(kernel_direct_s2))(&c, channels, oh_begin, oh_end, x,
                                                                      x_channel_stride, weight, out,
                                                                      out_channel_stride, ep);
        return;
    }
    if (plan->workspace.interleaved) {
        DW_FN(kernel_interleaved)(&c, channels, x, x_channel_stride, weight, out, out_channel_stride, ep, workspace,
                                  kh_count, kw_count, sh, sw, dh, dw);
        return;
    }
    if (plan->workspace.planar) {
        DW_FN(kernel_planar)(&c, channels, x, x_channel_stride, weight, out, out_channel_stride, ep, workspace, taps,
                             sh, sw);
        return;
    }
    DW_T local_w[DW_LOCAL_TAPS * DW_LOCAL_TAPS];
    for (size_t i = 0; i < channels; i++) {
        DW_FN(call_channel)(&c, ep, i);
        const DW_T *w = DW_FN(channel_weights)(weight + i * taps, taps, local_w);
        const DW_T *plane = x + (ptrdiff_t)i * x_channel_stride;
        DW_T *out_plane = out + (ptrdiff_t)i * out_channel_stride;
        if (plan->workspace.flat)
            DW_FN(kernel_flat)(&c, oh_begin, oh_end, plane, w, out_plane, workspace, kh_count, kw_count, sh, sw, dh,
                               dw);
        else
            DW_FN(kernel_rows)(&c, oh_begin, oh_end, plane, w, out_plane, workspace, kh_count, kw_count, sh, sw, dh,
                               dw);
    }
}

/* `streams`: the kernel carries the streamed method (streamed plans are 3x3s1; in the
 * others the method is not compiled in). */
#define DW_DEFINE_KERNEL(shape, kh, kw, sh, sw, streams)                                                      \
    void DW_KERNEL(shape)(const fc_dwconv_plan *plan, size_t channels, size_t oh_begin, size_t oh_end,         \
                          const DW_T *x, ptrdiff_t x_channel_stride, const DW_T *weight, DW_T *out,            \
                          ptrdiff_t out_channel_stride, const DW_EPILOGUE *ep, void *workspace) {              \
        if (streams && plan->workspace.streamed) {                                                            \
            DW_FN(call) c;                                                                                    \
            DW_FN(call_init)(&c, plan, ep);                                                                   \
            DW_FN(kernel_streamed)(&c, channels, x, x_channel_stride, weight, out, out_channel_stride, ep);   \
            return;                                                                                           \
        }                                                                                                     \
        DW_FN(kernel)(plan, channels, oh_begin, oh_end, x, x_channel_stride, weight, out, out_channel_stride,  \
                      ep, workspace, kh, kw, sh, sw, 1, 1);                                                    \
    }

DW_DEFINE_KERNEL(3x3s1, 3, 3, 1, 1, 1)
DW_DEFINE_KERNEL(3x3s2, 3, 3, 2, 2, 0)
DW_DEFINE_KERNEL(5x5s1, 5, 5, 1, 1, 0)
DW_DEFINE_KERNEL(5x5s2, 5, 5, 2, 2, 0)

void DW_KERNEL(kxk)(const fc_dwconv_plan *plan, size_t channels, size_t oh_begin, size_t oh_end, const DW_T *x,
                    ptrdiff_t x_channel_stride, const DW_T *weight, DW_T *out, ptrdiff_t out_channel_stride,
                    const DW_EPILOGUE *ep, void *workspace) {
    const fc_conv2d_shape *s = &plan->shape;
    DW_FN(kernel)(plan, channels, oh_begin, oh_end, x, x_channel_stride, weight, out, out_channel_stride, ep, workspace,
                  s->kernel_height, s->kernel_width, s->stride_height, s->stride_width, s->dilation_height,
                  s->dilation_width);
}

#undef DW_DEFINE_KERNEL
#undef DW_PASTE_
#undef DW_PASTE
#undef DW_FN
#undef DW_KERNEL
#undef DW_INLINE
#undef DW_BLOCK
#undef DW_LOCAL_TAPS
#undef DW_SCALAR_TAIL
#undef DW_DIRECT_VECTORS
#undef DW_HALF
#undef DW_STREAM_BIT_BYTES
#undef DW_STREAM_EDGES
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
#undef DW_LOAD_MASKED
#undef DW_EVENS
#undef DW_ODDS
#undef DW_FROM_PREV
#undef DW_FROM_NEXT
#undef DW_ZIP_LO
#undef DW_ZIP_HI
#undef DW_TRANSPOSE
#undef DW_STORE_MASKED
#undef DW_IVEC
#undef DW_SHIFT_UP
#undef DW_SHIFT_DOWN
#undef DW_SELECT
#undef DW_SELECT_SHIFT_UP
#undef DW_SELECT_SHIFT_DOWN
#undef DW_BLEND
