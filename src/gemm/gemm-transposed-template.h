/* Template of the transposed GEMM microkernel: an MR x NR tile of MR pixels by NR output
 * channels, for layers whose few pixels per row would leave much of a pixel-wide tile
 * empty (7x7, 14x14 maps): vectors run along the output channels, so every lane works.
 * Instantiated per (dtype, tile, ISA) next to the regular kernel, with the same macros
 * (GEMM_T, GEMM_VBYTES, GEMM_MR, GEMM_NR, GEMM_NAME, GEMM_EPILOGUE).
 *
 * Each k step loads NR / VL vectors of packed weights (w: kc rows of NR channels) and
 * broadcasts MR pixels of B row k: consecutive ones at a + a_offsets[k], or, for tiles of
 * consecutive output pixels that cross rows of the B source, each at its own offset from
 * there. The tile is stored transposed: each run of channel c's pixels is contiguous in its
 * output plane. */
#include "gemm/gemm-template-begin.h"

/* Lane-wise choice between vectors: mask from a vector comparison (all ones or zero). */
#define GEMM_SELECT(mask, a, b) \
    ((GEMM_VEC)(((GEMM_IVEC)(a) & (mask)) | ((GEMM_IVEC)(b) & ~(mask))))
/* Lanes [first, first + n) of a vector from / to p[0, n): the ISA's masked load and store,
 * lane by lane where it has none. */
#ifndef GEMM_LOAD_LANES
#define GEMM_LOAD_LANES(p, first, n) GEMM_PASTE(GEMM_NAME, _load_lanes)(p, first, n)
static inline GEMM_VEC GEMM_PASTE(GEMM_NAME, _load_lanes)(const GEMM_T *p, size_t first, size_t n) {
    GEMM_VEC v = {0};
    for (size_t i = 0; i < n; i++) v[first + i] = p[i];
    return v;
}
#define GEMM_STORE_LANES(p, v, first, n) GEMM_PASTE(GEMM_NAME, _store_lanes)(p, v, first, n)
static inline void GEMM_PASTE(GEMM_NAME, _store_lanes)(GEMM_T *p, GEMM_VEC v, size_t first, size_t n) {
    for (size_t i = 0; i < n; i++) p[i] = v[first + i];
}
#endif

/* The tile is stored through VL x VL blocks transposed in registers. A block holds VL / SLOT
 * channel vectors of SLOT pixels each: SLOT is VL, or for tiles of fewer pixels the power
 * of two that holds them, so that small tiles share a transpose among several vectors. */
#define GEMM_SLOT                                                                                                   \
    (GEMM_MR >= GEMM_VL ? GEMM_VL                                                                                  \
                        : GEMM_MR <= 1 ? 1 : GEMM_MR <= 2 ? 2 : GEMM_MR <= 4 ? 4 : GEMM_MR <= 8 ? 8 : 16)
#define GEMM_GROUPS (GEMM_VL / GEMM_SLOT)
/* Most pixels past a tile's last whole block that are stored element by element. */
#define GEMM_ELEMENT_STORE_PIXELS 2

static inline GEMM_IVEC GEMM_PASTE(GEMM_NAME, _lane_numbers)(void) {
    static const GEMM_INT numbers[16] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
    GEMM_IVEC lane;
    memcpy(&lane, numbers, sizeof(lane));
    return lane;
}

/* Transposes a VL x VL block held as VL vectors (lane j of rows[i] <-> lane i of rows[j]) by
 * swapping, for each bit b, bit b of the row with bit b of the lane: log2(VL) rounds of
 * two-vector shuffles on constant patterns. */
static inline void GEMM_PASTE(GEMM_NAME, _transpose)(GEMM_VEC *rows) {
    const GEMM_IVEC lane = GEMM_PASTE(GEMM_NAME, _lane_numbers)();
#pragma GCC unroll 8
    for (size_t b = 1; b < GEMM_VL; b *= 2) {
        /* Lane e of the pair's new first row keeps its own lane e, or takes lane e - b of
         * the second row (index VL + e - b) where bit b of e is set; the new second row
         * takes lane e + b of the first, or keeps its own. */
        const GEMM_IVEC high = (lane & (GEMM_INT)b) != 0;
        const GEMM_IVEC keep = lane + (high & (GEMM_INT)(GEMM_VL - b)), take = keep + (GEMM_INT)b;
#pragma GCC unroll 64
        for (size_t i = 0; i < GEMM_VL; i++)
            if (!(i & b)) {
                const GEMM_VEC x = rows[i], y = rows[i + b];
                rows[i] = __builtin_shuffle(x, y, keep);
                rows[i + b] = __builtin_shuffle(x, y, take);
            }
    }
}

/* Per-channel values for a transposed block's vector: slot g gets values[c + g * VL]
 * (zero past nc). */
static inline GEMM_VEC GEMM_PASTE(GEMM_NAME, _per_channel)(const GEMM_T *values, size_t c, size_t nc,
                                                           GEMM_IVEC slot) {
    if (GEMM_GROUPS == 1) return (GEMM_VEC){0} + values[c];
    GEMM_VEC v = {0};
    for (size_t g = 0; g < GEMM_GROUPS && c + g * GEMM_VL < nc; g++)
        v = GEMM_SELECT(slot == (GEMM_INT)g, (GEMM_VEC){0} + values[c + g * GEMM_VL], v);
    return v;
}

/* The epilogue's activation of a vector: times slope where negative (if `sloped`), then the
 * clamp to [lo, hi]; a NaN compares false throughout and is kept. */
static inline GEMM_VEC GEMM_PASTE(GEMM_NAME, _activate)(GEMM_VEC y, int sloped, GEMM_VEC slope, GEMM_VEC lo,
                                                        GEMM_VEC hi) {
    const GEMM_VEC zero = {0};
    if (sloped) y = GEMM_SELECT(y < zero, y * slope, y);
    y = GEMM_SELECT(y < lo, lo, y);
    return GEMM_SELECT(y > hi, hi, y);
}

/* The part of a run that falls in the block of n pixels from p0: its length (0: none), its
 * first element's offset in a channel's plane and its lane in slot g of the block. A run
 * of the `whole` tile covers the block. */
static inline size_t GEMM_PASTE(GEMM_NAME, _clip)(const fc_tile_run *run, int whole, size_t p0, size_t n, size_t g,
                                                  size_t *offset, size_t *lane) {
    const size_t first = whole || run->column < p0 ? p0 : run->column;
    const size_t end = whole || run->column + run->length > p0 + n ? p0 + n : run->column + run->length;
    *offset = run->offset + (first - run->column);
    *lane = g * GEMM_SLOT + (first - p0);
    return first < end ? end - first : 0;
}

/* Epilogue and store of the accumulated tile by transposed blocks, so that a channel's pixels
 * take one vector through the epilogue and one masked store per run; inlined twice, for a
 * tile stored whole as one run (the common case: no clipping of runs to blocks) or not. */
static inline __attribute__((always_inline)) void GEMM_PASTE(GEMM_NAME, _store)(
    GEMM_VEC acc[GEMM_MR][GEMM_NV], size_t mr, size_t nc, GEMM_T *restrict out, size_t out_channel_stride,
    const fc_tile_run *restrict runs, size_t run_count, const GEMM_EPILOGUE *ep, const int whole) {
    const GEMM_T inf = (GEMM_T)__builtin_inf();
    const GEMM_VEC zero = {0}, lo = zero + (ep ? ep->min : -inf), hi = zero + (ep ? ep->max : inf);
    const GEMM_IVEC slot = GEMM_PASTE(GEMM_NAME, _lane_numbers)() / GEMM_SLOT;
    const size_t runs_used = whole ? 1 : run_count;
    /* Without a residual, the epilogue runs before the transposes, on the accumulators, whose
     * lanes are channels: per-channel values are then plain vector loads. */
    const int early = ep && !ep->residual;
    const GEMM_VEC one = zero + 1;
    if (early)
#pragma GCC unroll 64
        for (size_t v = 0; v < GEMM_NV; v++) {
            if (v * GEMM_VL >= nc) break;
            const size_t lanes = nc - v * GEMM_VL < GEMM_VL ? nc - v * GEMM_VL : GEMM_VL;
            const GEMM_VEC scale = ep->scale ? GEMM_LOAD_LANES(ep->scale + v * GEMM_VL, 0, lanes) : one;
            const GEMM_VEC bias = ep->bias ? GEMM_LOAD_LANES(ep->bias + v * GEMM_VL, 0, lanes) : zero;
            const GEMM_VEC slope = ep->slope ? GEMM_LOAD_LANES(ep->slope + v * GEMM_VL, 0, lanes) : one;
#pragma GCC unroll 64
            for (size_t i = 0; i < GEMM_MR; i++)
                acc[i][v] = GEMM_PASTE(GEMM_NAME, _activate)(acc[i][v] * scale + bias, ep->slope != NULL, slope, lo, hi);
        }
#pragma GCC unroll 64
    for (size_t v = 0; v < GEMM_NV; v += GEMM_GROUPS)
#pragma GCC unroll 64
        for (size_t p0 = 0; p0 < GEMM_MR && p0 < mr; p0 += GEMM_SLOT) {
            const size_t n = mr - p0 < GEMM_SLOT ? mr - p0 : GEMM_SLOT;
            /* The few pixels past the last whole block (17 = 16 + 1) element by element: a
             * transpose of a block this empty costs more than its stores. */
            if (GEMM_MR % GEMM_VL && p0 + GEMM_SLOT > GEMM_MR && GEMM_MR % GEMM_VL <= GEMM_ELEMENT_STORE_PIXELS &&
                whole && (!ep || early)) {
                for (size_t q = 0; q < n; q++)
                    for (size_t j = 0; j < GEMM_VL && v * GEMM_VL + j < nc; j++)
                        out[(v * GEMM_VL + j) * out_channel_stride + runs->offset + p0 + q] = acc[p0 + q][v][j];
                continue;
            }
            GEMM_VEC block[GEMM_VL]; /* row g * SLOT + q: pixel p0 + q of channel vector v + g */
#pragma GCC unroll 64
            for (size_t r = 0; r < GEMM_VL; r++)
                block[r] = p0 + r % GEMM_SLOT < GEMM_MR && v + r / GEMM_SLOT < GEMM_NV
                               ? acc[p0 + r % GEMM_SLOT][v + r / GEMM_SLOT]
                               : zero;
            GEMM_PASTE(GEMM_NAME, _transpose)(block); /* slot g of block[j]: channel (v + g) * VL + j */
            for (size_t j = 0, c = v * GEMM_VL; j < GEMM_VL && c < nc; j++, c++) {
                GEMM_VEC y = block[j];
                size_t offset, lane, count;
                if (ep && !early) {
                    if (ep->scale) y *= GEMM_PASTE(GEMM_NAME, _per_channel)(ep->scale, c, nc, slot);
                    if (ep->bias) y += GEMM_PASTE(GEMM_NAME, _per_channel)(ep->bias, c, nc, slot);
                    if (ep->residual)
                        for (size_t g = 0; g < GEMM_GROUPS && c + g * GEMM_VL < nc; g++)
                            for (size_t r = 0; r < runs_used; r++)
                                if ((count = GEMM_PASTE(GEMM_NAME, _clip)(runs + r, whole, p0, n, g, &offset, &lane)))
                                    y += GEMM_LOAD_LANES(
                                        ep->residual + (c + g * GEMM_VL) * ep->residual_row_stride + offset, lane,
                                        count);
                    const GEMM_VEC slope = ep->slope ? GEMM_PASTE(GEMM_NAME, _per_channel)(ep->slope, c, nc, slot) : one;
                    y = GEMM_PASTE(GEMM_NAME, _activate)(y, ep->slope != NULL, slope, lo, hi);
                }
                for (size_t g = 0; g < GEMM_GROUPS && c + g * GEMM_VL < nc; g++)
                    for (size_t r = 0; r < runs_used; r++)
                        if ((count = GEMM_PASTE(GEMM_NAME, _clip)(runs + r, whole, p0, n, g, &offset, &lane)))
                            GEMM_STORE_LANES(out + (c + g * GEMM_VL) * out_channel_stride + offset, y, lane, count);
            }
        }
}

/* The k loop: pixel i of B row k at a + a_offsets[k] + i, or + pixels[i]; inlined once
 * for each (consecutive pixels address by constant displacements, other pixels by their
 * offsets, which the loop keeps in registers as far as there are registers), and for each
 * count of edge pixels skipped: the first skip_lo or the last skip_hi. */
static inline __attribute__((always_inline)) void GEMM_PASTE(GEMM_NAME, _accumulate)(
    GEMM_VEC acc[GEMM_MR][GEMM_NV], size_t kc, const GEMM_T *restrict a, const ptrdiff_t *restrict a_offsets,
    const ptrdiff_t *restrict pixels, const GEMM_T *restrict w, const size_t skip_lo, const size_t skip_hi) {
    ptrdiff_t at[GEMM_MR];
#pragma GCC unroll 64
    for (size_t i = 0; i < GEMM_MR; i++) at[i] = pixels ? pixels[i] : (ptrdiff_t)i;
    for (size_t k = 0; k < kc; k++) {
        const GEMM_T *restrict ak = a + a_offsets[k];
        GEMM_VEC wv[GEMM_NV];
#pragma GCC unroll 64
        for (size_t v = 0; v < GEMM_NV; v++) wv[v] = *(const GEMM_VEC *)(w + v * GEMM_VL);
#pragma GCC unroll 64
        for (size_t i = 0; i < GEMM_MR; i++) {
            if (i < skip_lo || i + skip_hi >= GEMM_MR) continue;
            const GEMM_T ai = ak[at[i]];
#pragma GCC unroll 64
            for (size_t v = 0; v < GEMM_NV; v++) acc[i][v] += ai * wv[v];
        }
        w += GEMM_NR;
    }
}

/* The tile over k_runs runs of kc steps (see fc_f32_gemm_transposed_ukernel); with edges,
 * each run's first and last steps skip edge pixels: at most one per side (skip = 1, three k
 * loops a run) or several (skip = 2, seven). */
static inline __attribute__((always_inline)) void GEMM_PASTE(GEMM_NAME, _tile)(
    size_t mr, size_t nc, size_t kc, size_t k_runs, size_t k_run_stride, const fc_tile_edges *edges,
    const GEMM_T *restrict a, const ptrdiff_t *restrict a_offsets, const ptrdiff_t *restrict pixels,
    const GEMM_T *restrict w, GEMM_T *restrict out, size_t out_channel_stride, const fc_tile_run *restrict runs,
    size_t run_count, const GEMM_EPILOGUE *ep, const int skip) {
    GEMM_VEC acc[GEMM_MR][GEMM_NV];
#pragma GCC unroll 64
    for (size_t i = 0; i < GEMM_MR; i++)
#pragma GCC unroll 64
        for (size_t v = 0; v < GEMM_NV; v++) acc[i][v] = (GEMM_VEC){0};
    _Static_assert(FC_MAX_EDGE_PIXELS == 3, "one k loop per count of pixels skipped");
    const size_t *lead = skip ? edges->lead : NULL, *trail = skip ? edges->trail : NULL;
    for (size_t r = 0; r < k_runs; r++, a_offsets += k_run_stride, w += k_run_stride * GEMM_NR) {
        if (skip == 2) {
            size_t k = 0;
            const size_t inner = kc - lead[0] - lead[1] - lead[2] - trail[0] - trail[1] - trail[2];
            const size_t steps[7] = {lead[2], lead[1], lead[0], inner, trail[0], trail[1], trail[2]};
#pragma GCC unroll 7
            for (size_t part = 0; part < 7; k += steps[part], part++)
                if (steps[part])
                    GEMM_PASTE(GEMM_NAME, _accumulate)(acc, steps[part], a, a_offsets + k, pixels, w + k * GEMM_NR,
                                                       part < 3 ? 3 - part : 0, part > 3 ? part - 3 : 0);
        } else if (skip == 1) {
            const size_t inner = kc - lead[0] - trail[0];
            GEMM_PASTE(GEMM_NAME, _accumulate)(acc, lead[0], a, a_offsets, pixels, w, 1, 0);
            GEMM_PASTE(GEMM_NAME, _accumulate)(acc, inner, a, a_offsets + lead[0], pixels, w + lead[0] * GEMM_NR, 0, 0);
            GEMM_PASTE(GEMM_NAME, _accumulate)(acc, trail[0], a, a_offsets + lead[0] + inner, pixels,
                                               w + (lead[0] + inner) * GEMM_NR, 0, 1);
        } else if (pixels) {
            GEMM_PASTE(GEMM_NAME, _accumulate)(acc, kc, a, a_offsets, pixels, w, 0, 0);
        } else { /* consecutive pixels: at constant displacements */
            GEMM_PASTE(GEMM_NAME, _accumulate)(acc, kc, a, a_offsets, NULL, w, 0, 0);
        }
    }

    if (run_count == 1 && runs->column == 0 && runs->length == mr)
        GEMM_PASTE(GEMM_NAME, _store)(acc, mr, nc, out, out_channel_stride, runs, run_count, ep, 1);
    else
        GEMM_PASTE(GEMM_NAME, _store)(acc, mr, nc, out, out_channel_stride, runs, run_count, ep, 0);
}

/* Tiles of several runs of k, and tiles that skip edge pixels, compiled apart from the
 * common tile of one run: a loop over runs around the k loop costs the k loop registers
 * (measured 2 % slower on 1x7 128->128 @17). Tiles that skip several edge pixels (seven k
 * loops) are compiled apart from those that skip one (three): in one function, 3x3 s2
 * 256->512 @14 ran 3 % slower. */
static __attribute__((noinline)) void GEMM_PASTE(GEMM_NAME, _runs)(
    size_t mr, size_t nc, size_t kc, size_t k_runs, size_t k_run_stride, const GEMM_T *restrict a,
    const ptrdiff_t *restrict a_offsets, const ptrdiff_t *restrict pixels, const GEMM_T *restrict w,
    GEMM_T *restrict out, size_t out_channel_stride, const fc_tile_run *restrict runs, size_t run_count,
    const GEMM_EPILOGUE *ep) {
    GEMM_PASTE(GEMM_NAME, _tile)(mr, nc, kc, k_runs, k_run_stride, NULL, a, a_offsets, pixels, w, out,
                                 out_channel_stride, runs, run_count, ep, 0);
}

/* Pixels of one row at a column stride, or consecutive ones. */
#define GEMM_EDGES_FUNCTION(name, skip)                                                                              \
    static __attribute__((noinline)) void GEMM_PASTE(GEMM_NAME, name)(                                              \
        size_t mr, size_t nc, size_t kc, size_t k_runs, size_t k_run_stride, const fc_tile_edges *edges,            \
        const GEMM_T *restrict a, const ptrdiff_t *restrict a_offsets, const ptrdiff_t *restrict pixels,            \
        const GEMM_T *restrict w, GEMM_T *restrict out, size_t out_channel_stride,                                  \
        const fc_tile_run *restrict runs, size_t run_count, const GEMM_EPILOGUE *ep) {                              \
        if (pixels)                                                                                                 \
            GEMM_PASTE(GEMM_NAME, _tile)(mr, nc, kc, k_runs, k_run_stride, edges, a, a_offsets, pixels, w, out,     \
                                         out_channel_stride, runs, run_count, ep, skip);                            \
        else                                                                                                        \
            GEMM_PASTE(GEMM_NAME, _tile)(mr, nc, kc, k_runs, k_run_stride, edges, a, a_offsets, NULL, w, out,       \
                                         out_channel_stride, runs, run_count, ep, skip);                            \
    }
GEMM_EDGES_FUNCTION(_edges, 1)
GEMM_EDGES_FUNCTION(_wide_edges, 2)
#undef GEMM_EDGES_FUNCTION

void GEMM_NAME(size_t mr, size_t nc, size_t kc, size_t k_runs, size_t k_run_stride, const fc_tile_edges *edges,
               const GEMM_T *restrict a, const ptrdiff_t *restrict a_offsets, const ptrdiff_t *restrict pixels,
               const GEMM_T *restrict w, GEMM_T *restrict out, size_t out_channel_stride,
               const fc_tile_run *restrict runs, size_t run_count, const GEMM_EPILOGUE *ep) {
    if (edges && (edges->lead[1] | edges->lead[2] | edges->trail[1] | edges->trail[2]))
        GEMM_PASTE(GEMM_NAME, _wide_edges)(mr, nc, kc, k_runs, k_run_stride, edges, a, a_offsets, pixels, w, out,
                                           out_channel_stride, runs, run_count, ep);
    else if (edges)
        GEMM_PASTE(GEMM_NAME, _edges)(mr, nc, kc, k_runs, k_run_stride, edges, a, a_offsets, pixels, w, out,
                                      out_channel_stride, runs, run_count, ep);
    else if (k_runs == 1)
        GEMM_PASTE(GEMM_NAME, _tile)(mr, nc, kc, 1, 0, NULL, a, a_offsets, pixels, w, out, out_channel_stride, runs,
                                     run_count, ep, 0);
    else
        GEMM_PASTE(GEMM_NAME, _runs)(mr, nc, kc, k_runs, k_run_stride, a, a_offsets, pixels, w, out,
                                     out_channel_stride, runs, run_count, ep);
}

#undef GEMM_SELECT
#undef GEMM_LOAD_LANES
#undef GEMM_STORE_LANES
#undef GEMM_SLOT
#undef GEMM_GROUPS
#undef GEMM_ELEMENT_STORE_PIXELS
#include "gemm/gemm-template-end.h"
