/* Template of the GEMM microkernel, instantiated once per (dtype, tile, ISA) by the
 * gemm__<isa>.c files, which compile it with that ISA's flags.
 *
 * Parameters (macros): GEMM_T (float/double), GEMM_VBYTES (vector register bytes; equal
 * to sizeof(GEMM_T) for the scalar kernel), GEMM_MR x GEMM_NR (tile: rows of output
 * channels x columns of pixels, NR a multiple of the vector length), GEMM_NAME,
 * GEMM_EPILOGUE (the epilogue struct type), and optionally GEMM_VMAX(v, lo) / GEMM_VMIN(v, hi):
 * the ISA's vector max/min returning v when v is NaN, which enable a register-only epilogue.
 *
 * The MR x NR accumulator tile lives in registers: MR * NR / VL vectors. Each k step loads
 * the NR / VL vectors of B row k (NR contiguous elements at b + b_offsets[k]) and
 * broadcasts the MR values of A column k (a[k + i * a_row_stride]: the weights as they are,
 * since reading them row by row runs as fast as a packed copy would, in cache or not). */
#include "gemm/gemm-template-begin.h"

/* Weight rows stream from L3 when a layer's weights outgrow L2, MR rows at once: more
 * streams than the hardware prefetcher follows, so each row is prefetched a few cache
 * lines ahead, once per line. */
#define GEMM_PREFETCH_EVERY (64 / sizeof(GEMM_T))
#define GEMM_PREFETCH_AHEAD (4 * GEMM_PREFETCH_EVERY)

void GEMM_NAME(size_t mr, size_t kc, const GEMM_T *restrict a, size_t a_row_stride, const GEMM_T *restrict b,
               const ptrdiff_t *restrict b_offsets, GEMM_T *restrict out, size_t out_row_stride,
               const fc_tile_run *restrict runs, size_t run_count, const GEMM_EPILOGUE *ep) {
    GEMM_VEC acc[GEMM_MR][GEMM_NV];
#pragma GCC unroll 64
    for (size_t i = 0; i < GEMM_MR; i++)
#pragma GCC unroll 64
        for (size_t v = 0; v < GEMM_NV; v++) acc[i][v] = (GEMM_VEC){0};

    for (size_t k = 0; k < kc; k++) {
        if (k % GEMM_PREFETCH_EVERY == 0)
#pragma GCC unroll 64
            for (size_t i = 0; i < GEMM_MR; i++) __builtin_prefetch(a + i * a_row_stride + GEMM_PREFETCH_AHEAD);
        const GEMM_T *restrict bk = b + b_offsets[k];
        GEMM_VEC bv[GEMM_NV];
#pragma GCC unroll 64
        for (size_t v = 0; v < GEMM_NV; v++) bv[v] = *(const GEMM_VEC *)(bk + v * GEMM_VL);
#pragma GCC unroll 64
        for (size_t i = 0; i < GEMM_MR; i++) {
            const GEMM_T ai = a[i * a_row_stride];
#pragma GCC unroll 64
            for (size_t v = 0; v < GEMM_NV; v++) acc[i][v] += ai * bv[v];
        }
        a++;
    }

#ifdef GEMM_VMAX
    /* The common cases stay in registers: a tile of MR rows with a scale, a bias, a residual
     * and a clamp (ReLU, ReLU6) to apply, but no slope. Stored whole as one run, its rows
     * are vector stores (and the residual's as contiguous as out's); stored in several runs
     * (a tile across rows of the B source, which hold columns that are dropped), each run
     * takes the lanes of each vector it covers by masked loads and stores, its tile column c
     * going to out + offset - column + c, where the ISA file lends its masked moves
     * (GEMM_LOAD_LANES, GEMM_STORE_LANES): AVX-512 only. There, the stem (7x7 s2 @224) had
     * spent 3 % of its time in the spill and memcpy calls below; AVX2's masked stores are
     * slower than those (ResNeXt g32 3x3 @56 and @28: -15 %). */
    if (mr == GEMM_MR && (!ep || !ep->slope)) {
        const GEMM_T inf = (GEMM_T)__builtin_inf();
        const GEMM_VEC lo = (GEMM_VEC){0} + (ep ? ep->min : -inf), hi = (GEMM_VEC){0} + (ep ? ep->max : inf);
        const GEMM_T *residual = ep ? ep->residual : NULL;
        const ptrdiff_t residual_stride = ep ? ep->residual_row_stride : 0;
        if (run_count == 1 && runs[0].length == GEMM_NR) {
            residual = residual ? residual + runs[0].offset : NULL;
            out += runs[0].offset;
#pragma GCC unroll 64
            for (size_t i = 0; i < GEMM_MR; i++) {
                const GEMM_T bias = ep && ep->bias ? ep->bias[i] : 0, scale = ep && ep->scale ? ep->scale[i] : 1;
#pragma GCC unroll 64
                for (size_t v = 0; v < GEMM_NV; v++) {
                    GEMM_VEC y = acc[i][v] * scale + bias;
                    if (residual) y += *(const GEMM_VEC *)(residual + (ptrdiff_t)i * residual_stride + v * GEMM_VL);
                    *(GEMM_VEC *)(out + i * out_row_stride + v * GEMM_VL) = GEMM_VMIN(GEMM_VMAX(y, lo), hi);
                }
            }
            return;
        }
#ifdef GEMM_STORE_LANES
#pragma GCC unroll 64
        for (size_t i = 0; i < GEMM_MR; i++) {
            const GEMM_T bias = ep && ep->bias ? ep->bias[i] : 0, scale = ep && ep->scale ? ep->scale[i] : 1;
            for (size_t r = 0; r < run_count; r++) {
                const size_t first = runs[r].column, end = first + runs[r].length;
                const ptrdiff_t shift = (ptrdiff_t)runs[r].offset - (ptrdiff_t)first;
#pragma GCC unroll 64
                for (size_t v = 0; v < GEMM_NV; v++) {
                    const size_t c0 = first > v * GEMM_VL ? first : v * GEMM_VL;
                    const size_t c1 = end < (v + 1) * GEMM_VL ? end : (v + 1) * GEMM_VL;
                    if (c0 >= c1) continue;
                    GEMM_VEC y = acc[i][v] * scale + bias;
                    if (residual)
                        y += GEMM_LOAD_LANES(residual + (ptrdiff_t)i * residual_stride + shift + (ptrdiff_t)c0,
                                             c0 - v * GEMM_VL, c1 - c0);
                    GEMM_STORE_LANES(out + i * out_row_stride + shift + (ptrdiff_t)c0, GEMM_VMIN(GEMM_VMAX(y, lo), hi),
                                     c0 - v * GEMM_VL, c1 - c0);
                }
            }
        }
        return;
#endif
    }
#endif

    /* The epilogue works on a cache-line-aligned spill of the accumulators, one simple
     * loop per step so that each vectorizes (GCC turns a fused loop with these branches
     * into slow code); cheap next to the kc-long loop above, and one plain-C epilogue
     * serves every ISA. Only the columns named by `runs` reach `out` (or read `residual`). */
    GEMM_T tile[GEMM_MR][GEMM_NR] __attribute__((aligned(64)));
    memcpy(tile, acc, sizeof(tile));
    for (size_t i = 0; i < mr; i++) {
        GEMM_T *restrict row = tile[i], *restrict out_row = out + i * out_row_stride;
        if (ep) {
            if (ep->scale) {
                const GEMM_T scale = ep->scale[i];
                for (size_t j = 0; j < GEMM_NR; j++) row[j] *= scale;
            }
            if (ep->bias) {
                const GEMM_T bias = ep->bias[i];
                for (size_t j = 0; j < GEMM_NR; j++) row[j] += bias;
            }
            if (ep->residual) {
                const GEMM_T *restrict residual = ep->residual + i * ep->residual_row_stride;
                for (size_t r = 0; r < run_count; r++)
                    for (size_t j = 0; j < runs[r].length; j++) row[runs[r].column + j] += residual[runs[r].offset + j];
            }
            if (ep->slope) {
                const GEMM_T slope = ep->slope[i];
                for (size_t j = 0; j < GEMM_NR; j++) row[j] = row[j] < 0 ? row[j] * slope : row[j];
            }
            const GEMM_T lo = ep->min, hi = ep->max;
            for (size_t j = 0; j < GEMM_NR; j++) row[j] = row[j] < lo ? lo : row[j];
            for (size_t j = 0; j < GEMM_NR; j++) row[j] = row[j] > hi ? hi : row[j];
        }
        for (size_t r = 0; r < run_count; r++)
            memcpy(out_row + runs[r].offset, row + runs[r].column, runs[r].length * sizeof(GEMM_T));
    }
}

#undef GEMM_PREFETCH_EVERY
#undef GEMM_PREFETCH_AHEAD
#undef GEMM_LOAD_LANES
#undef GEMM_STORE_LANES
#include "gemm/gemm-template-end.h"
