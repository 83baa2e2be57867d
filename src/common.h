/* Shared definitions of the fastconv C layer: types, epilogue parameters, status codes.
 * C only; no Python headers anywhere under src/. */
#ifndef FASTCONV_COMMON_H
#define FASTCONV_COMMON_H

#include <stddef.h>
#include <stdint.h>

#define FC_OK 0
#define FC_ENOMEM 1

/* Alignment of every buffer fastconv allocates: one cache line, one zmm register. */
#define FC_ALIGN 64

/* Where an operator's NCHW output goes: plane (n, c) starts at out + n * batch_stride +
 * c * channel_stride and is C-contiguous (out_height * out_width elements), so a channel
 * slice of a larger buffer works as well as a whole array (zero-copy concatenation). */
typedef struct {
    ptrdiff_t batch_stride, channel_stride;
} fc_output_layout;

/* What happens to an output tile while it is still in registers, in this order:
 *   v = acc * scale[row] + bias[row] + residual[row][col]
 *   v = v < 0 ? v * slope[row] : v          (LeakyReLU / PReLU)
 *   v = min(max(v, min), max)               (ReLU, ReLU6, clamp)
 * Every pointer may be NULL; min = -inf, max = +inf disable the clamp. `scale` (a BatchNorm
 * applied in the epilogue instead of folded into the weights) is last so that positional
 * initializers leave it NULL; the depthwise kernels do not apply it (their callers fold).
 * Pointers refer to the first row/column of the tile or operator they are given to. */
#define FC_DEFINE_EPILOGUE(T, name)                                                         \
    typedef struct {                                                                        \
        const T *bias;                                                                      \
        const T *slope;                                                                     \
        const T *residual;                                                                  \
        ptrdiff_t residual_row_stride;                                                      \
        T min, max;                                                                         \
        const T *scale;                                                                     \
    } name

FC_DEFINE_EPILOGUE(float, fc_f32_epilogue);
FC_DEFINE_EPILOGUE(double, fc_f64_epilogue);

/* A run of contiguous tile columns [column, column + length) that is stored at
 * offset..offset+length of each output row (the tile's other columns are discarded). */
typedef struct {
    size_t column, length, offset;
} fc_tile_run;

/* The GEMM microkernel: an MR x NR tile of out = a * b over kc steps, then the epilogue
 * (NULL: plain store), stored to rows 0..mr-1 (out_row_stride apart) through `runs`.
 * A: MR rows of kc elements, a_row_stride apart, all readable (rows >= mr are computed
 * and dropped); B row k: NR contiguous elements at b + b_offsets[k], all readable. mr <= MR. (Function types: `fc_f32_gemm_ukernel name;` declares a kernel.) */
typedef void fc_f32_gemm_ukernel(size_t mr, size_t kc, const float *a, size_t a_row_stride, const float *b, const ptrdiff_t *b_offsets,
                                    float *out, size_t out_row_stride, const fc_tile_run *runs, size_t run_count,
                                    const fc_f32_epilogue *ep);
typedef void fc_f64_gemm_ukernel(size_t mr, size_t kc, const double *a, size_t a_row_stride, const double *b, const ptrdiff_t *b_offsets,
                                    double *out, size_t out_row_stride, const fc_tile_run *runs, size_t run_count,
                                    const fc_f64_epilogue *ep);

/* Most edge pixels per side of a transposed tile that skip taps on their own: a 1x7
 * kernel's padding of 3. */
#define FC_MAX_EDGE_PIXELS 3

/* The steps at the ends of each run of k of a transposed tile whose taps read padding for
 * some of its edge pixels only. A run starts with lead[FC_MAX_EDGE_PIXELS - 1] steps that
 * skip the tile's first FC_MAX_EDGE_PIXELS pixels, ..., then lead[0] steps that skip its
 * pixel 0; it ends with trail[0] steps that skip its last pixel, ..., then
 * trail[FC_MAX_EDGE_PIXELS - 1] steps that skip its last FC_MAX_EDGE_PIXELS pixels. */
typedef struct {
    size_t lead[FC_MAX_EDGE_PIXELS], trail[FC_MAX_EDGE_PIXELS];
} fc_tile_edges;

/* The transposed GEMM microkernel: an MR-pixel x NR-channel tile. a: B source, row k's mr
 * (<= MR) pixels at a + a_offsets[k], consecutive (pixels NULL) or at pixels[0..MR) from
 * there (all MR readable: the kernel reads MR pixels); w: rows of NR packed weights, one
 * per k. The tile sums k_runs runs of kc steps, run r over k in [r * k_run_stride, ... + kc)
 * (a tile near the padding skips the taps that read only zeros for all its pixels); with
 * `edges` (else NULL), each run's first and last steps skip some edge pixels (taps that
 * read only zeros for those pixels, see fc_tile_edges).
 * Channels 0..nc-1 (out_channel_stride apart) are stored through `runs` as the regular
 * kernel's rows are (tile pixels [column, column + length) to offset..offset+length of the
 * channel's plane; the others are dropped). The epilogue's bias/slope/scale are per channel; its
 * residual is laid out as out, residual_row_stride apart per channel. */
typedef void fc_f32_gemm_transposed_ukernel(size_t mr, size_t nc, size_t kc, size_t k_runs, size_t k_run_stride,
                                            const fc_tile_edges *edges, const float *a, const ptrdiff_t *a_offsets,
                                            const ptrdiff_t *pixels, const float *w, float *out,
                                            size_t out_channel_stride, const fc_tile_run *runs, size_t run_count,
                                            const fc_f32_epilogue *ep);
typedef void fc_f64_gemm_transposed_ukernel(size_t mr, size_t nc, size_t kc, size_t k_runs, size_t k_run_stride,
                                            const fc_tile_edges *edges, const double *a, const ptrdiff_t *a_offsets,
                                            const ptrdiff_t *pixels, const double *w, double *out,
                                            size_t out_channel_stride, const fc_tile_run *runs, size_t run_count,
                                            const fc_f64_epilogue *ep);

#endif
