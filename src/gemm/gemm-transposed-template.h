/* Template of the transposed GEMM microkernel: an MR x NR tile of MR pixels by NR output
 * channels, for layers whose few pixels per row would leave much of a pixel-wide tile
 * empty (7x7, 14x14 maps): vectors run along the output channels, so every lane works.
 * Instantiated per (dtype, tile, ISA) next to the regular kernel, with the same macros
 * (GEMM_T, GEMM_VBYTES, GEMM_MR, GEMM_NR, GEMM_NAME, GEMM_EPILOGUE).
 *
 * Each k step loads NR / VL vectors of packed weights (w: kc rows of NR channels) and
 * broadcasts MR consecutive pixels of B row k (at a + a_offsets[k]). The tile is stored
 * transposed: channel c's MR pixels are contiguous in its output plane. */
#include "gemm/gemm-template-begin.h"

void GEMM_NAME(size_t mr, size_t nc, size_t kc, const GEMM_T *restrict a, const ptrdiff_t *restrict a_offsets,
               const GEMM_T *restrict w, GEMM_T *restrict out, size_t out_channel_stride, const GEMM_EPILOGUE *ep) {
    GEMM_VEC acc[GEMM_MR][GEMM_NV];
#pragma GCC unroll 64
    for (size_t i = 0; i < GEMM_MR; i++)
#pragma GCC unroll 64
        for (size_t v = 0; v < GEMM_NV; v++) acc[i][v] = (GEMM_VEC){0};

    for (size_t k = 0; k < kc; k++) {
        const GEMM_T *restrict ak = a + a_offsets[k];
        GEMM_VEC wv[GEMM_NV];
#pragma GCC unroll 64
        for (size_t v = 0; v < GEMM_NV; v++) wv[v] = *(const GEMM_VEC *)(w + v * GEMM_VL);
#pragma GCC unroll 64
        for (size_t i = 0; i < GEMM_MR; i++) {
            const GEMM_T ai = ak[i];
#pragma GCC unroll 64
            for (size_t v = 0; v < GEMM_NV; v++) acc[i][v] += ai * wv[v];
        }
        w += GEMM_NR;
    }

    /* Epilogue on the spilled tile, vectorized along channels (row i holds NR channels),
     * then the transposed store. */
    GEMM_T tile[GEMM_MR][GEMM_NR] __attribute__((aligned(64)));
    memcpy(tile, acc, sizeof(tile));
    if (ep) {
        for (size_t i = 0; i < mr; i++) {
            GEMM_T *restrict row = tile[i];
            if (ep->scale)
                for (size_t c = 0; c < nc; c++) row[c] *= ep->scale[c];
            if (ep->bias)
                for (size_t c = 0; c < nc; c++) row[c] += ep->bias[c];
            if (ep->residual)
                for (size_t c = 0; c < nc; c++) row[c] += ep->residual[c * ep->residual_row_stride + i];
            if (ep->slope)
                for (size_t c = 0; c < nc; c++) row[c] = row[c] < 0 ? row[c] * ep->slope[c] : row[c];
            const GEMM_T lo = ep->min, hi = ep->max;
            for (size_t c = 0; c < GEMM_NR; c++) row[c] = row[c] < lo ? lo : row[c];
            for (size_t c = 0; c < GEMM_NR; c++) row[c] = row[c] > hi ? hi : row[c];
        }
    }
    for (size_t c = 0; c < nc; c++)
        for (size_t i = 0; i < mr; i++) out[c * out_channel_stride + i] = tile[i][c];
}

#include "gemm/gemm-template-end.h"
