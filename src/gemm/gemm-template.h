/* Template of the GEMM microkernel, instantiated once per (dtype, tile, ISA) by the
 * gemm__<isa>.c files, which compile it with that ISA's flags.
 *
 * Parameters (macros): GEMM_T (float/double), GEMM_VBYTES (vector register bytes; equal
 * to sizeof(GEMM_T) for the scalar kernel), GEMM_MR x GEMM_NR (tile: rows of output
 * channels x columns of pixels, NR a multiple of the vector length), GEMM_NAME,
 * GEMM_EPILOGUE (the epilogue struct type).
 *
 * The MR x NR accumulator tile lives in registers: MR * NR / VL vectors. Each k step loads
 * NR / VL vectors of the packed B row and broadcasts MR packed A values. */
#include <string.h>

#include "common.h"

#define GEMM_VL (GEMM_VBYTES / sizeof(GEMM_T))
#define GEMM_NV (GEMM_NR / GEMM_VL)
#define GEMM_PASTE_(a, b) a##b
#define GEMM_PASTE(a, b) GEMM_PASTE_(a, b)
#define GEMM_VEC GEMM_PASTE(GEMM_NAME, _vec)
#define GEMM_ROW GEMM_PASTE(GEMM_NAME, _row)

/* Unaligned, aliasing-safe vector of GEMM_VL elements. */
typedef GEMM_T GEMM_VEC __attribute__((vector_size(GEMM_VBYTES), aligned(sizeof(GEMM_T)), may_alias));

/* Applies the epilogue to n elements of one row; n is a constant in the full-tile call so
 * that the loop vectorizes to whole registers. */
static inline __attribute__((always_inline)) void GEMM_ROW(const GEMM_T *restrict acc, GEMM_T *restrict out,
                                                           size_t n, int accumulate, GEMM_T bias, GEMM_T slope,
                                                           int has_slope, const GEMM_T *restrict residual,
                                                           GEMM_T lo, GEMM_T hi) {
    for (size_t j = 0; j < n; j++) {
        GEMM_T v = acc[j] + bias;
        if (accumulate) v += out[j];
        if (residual) v += residual[j];
        if (has_slope) v = v < 0 ? v * slope : v;
        v = v < lo ? lo : v;
        v = v > hi ? hi : v;
        out[j] = v;
    }
}

void GEMM_NAME(size_t mr, size_t nr, size_t kc, const GEMM_T *restrict a, const GEMM_T *restrict b,
               size_t ldb, GEMM_T *restrict out, size_t ldo, int accumulate, const GEMM_EPILOGUE *ep) {
    GEMM_VEC acc[GEMM_MR][GEMM_NV];
#pragma GCC unroll 64
    for (size_t i = 0; i < GEMM_MR; i++)
#pragma GCC unroll 64
        for (size_t v = 0; v < GEMM_NV; v++) acc[i][v] = (GEMM_VEC){0};

    for (size_t k = 0; k < kc; k++) {
        GEMM_VEC bv[GEMM_NV];
#pragma GCC unroll 64
        for (size_t v = 0; v < GEMM_NV; v++) bv[v] = *(const GEMM_VEC *)(b + v * GEMM_VL);
#pragma GCC unroll 64
        for (size_t i = 0; i < GEMM_MR; i++) {
            const GEMM_T ai = a[i];
#pragma GCC unroll 64
            for (size_t v = 0; v < GEMM_NV; v++) acc[i][v] += ai * bv[v];
        }
        a += GEMM_MR;
        b += ldb;
    }

    /* The epilogue reads the accumulators back from a cache-line-aligned spill: cheap next
     * to the kc-long loop above, and it keeps one plain-C epilogue for every ISA. */
    GEMM_T tile[GEMM_MR][GEMM_NR] __attribute__((aligned(64)));
    memcpy(tile, acc, sizeof(tile));
    const GEMM_T inf = (GEMM_T)__builtin_inf();
    const GEMM_T lo = ep ? ep->min : -inf, hi = ep ? ep->max : inf;
    for (size_t i = 0; i < mr; i++) {
        const GEMM_T bias = ep && ep->bias ? ep->bias[i] : 0;
        const int has_slope = ep && ep->slope;
        const GEMM_T slope = has_slope ? ep->slope[i] : 0;
        const GEMM_T *residual = ep && ep->residual ? ep->residual + i * ep->residual_row_stride : NULL;
        if (nr == GEMM_NR)
            GEMM_ROW(tile[i], out + i * ldo, GEMM_NR, accumulate, bias, slope, has_slope, residual, lo, hi);
        else
            GEMM_ROW(tile[i], out + i * ldo, nr, accumulate, bias, slope, has_slope, residual, lo, hi);
    }
}

#undef GEMM_VL
#undef GEMM_NV
#undef GEMM_VEC
#undef GEMM_ROW
#undef GEMM_PASTE
#undef GEMM_PASTE_
/* The instantiating file sets these afresh for each kernel. */
#undef GEMM_T
#undef GEMM_MR
#undef GEMM_NR
#undef GEMM_NAME
#undef GEMM_EPILOGUE
