/* Dense and grouped 2-D convolution, NCHW: a GEMM over a staged (padded, stride-phase) copy of
 * the input, read at per-tap offsets; see conv2d.c. */
#ifndef FASTCONV_OPS_CONV2D_H
#define FASTCONV_OPS_CONV2D_H

#include "common.h"
#include "dispatch.h"

/* All sizes already validated by the caller: every one > 0, groups dividing both channel
 * counts, out_height/out_width consistent with the padding (bottom/right padding is what
 * the output size implies), and no product overflowing. */
typedef struct {
    size_t batch, groups;
    size_t in_channels, in_height, in_width;
    size_t out_channels, out_height, out_width;
    size_t kernel_height, kernel_width;
    size_t stride_height, stride_width;
    size_t dilation_height, dilation_width;
    size_t pad_top, pad_left;
} fc_conv2d_shape;

/* weight: contiguous (out_channels, in_channels / groups, kernel_height, kernel_width).
 * packed: NULL, or the weights packed by fc_*_conv2d_pack_transposed for packed_channels
 * (used when the active ISA's transposed tile still has that width and suits the shape);
 * without, a call packs them itself where that pays (batches of small maps).
 * x: C-contiguous NCHW. ep: bias/slope per output channel; residual, if any, C-contiguous
 * in the output's shape (its row stride is set here); NULL for none. Uses the active ISA.
 * Returns FC_OK or FC_ENOMEM. */
int fc_f32_conv2d(const fc_conv2d_shape *shape, const float *x, const float *weight, const float *packed,
                  size_t packed_channels, float *out, fc_output_layout layout, const fc_f32_epilogue *ep);
int fc_f64_conv2d(const fc_conv2d_shape *shape, const double *x, const double *weight, const double *packed,
                  size_t packed_channels, double *out, fc_output_layout layout, const fc_f64_epilogue *ep);

/* Layers whose few pixels per row waste much of a pixel-wide tile run faster on transposed
 * tiles (pixels x output channels), which need the weights packed once, as plans do:
 * the channel width to pack for, or 0 if this shape is better off without. */
size_t fc_f32_conv2d_transposed_channels(const fc_conv2d_shape *shape);
size_t fc_f64_conv2d_transposed_channels(const fc_conv2d_shape *shape);

/* Packs weight for transposed tiles of `channels` output channels: per group, panels of
 * k_size rows of `channels` values (zero past the last channel), rows in (kh, channel block,
 * kw, channel) order (see conv2d.c); groups * ceil(out_channels / groups / channels) *
 * channels * k_size elements. */
void fc_f32_conv2d_pack_transposed(const fc_conv2d_shape *shape, size_t channels, const float *weight, float *packed);
void fc_f64_conv2d_pack_transposed(const fc_conv2d_shape *shape, size_t channels, const double *weight,
                                   double *packed);

/* How a call of this shape runs under the active ISA, given prepacked weights or not:
 * regular tiles over staged rows (or x itself), the same with each tap column staged
 * apart (narrow maps), transposed tiles, transposed tiles of consecutive output pixels
 * across rows (compact), or compact tiles that take the columns at the left and right
 * edges first, column by column, to skip the kernel columns that read padding there
 * (edges), or regular tiles that take each output row apart (rows). For tests and
 * diagnostics. */
enum {
    FC_CONV2D_REGULAR = 0,
    FC_CONV2D_EXPANDED = 1,
    FC_CONV2D_TRANSPOSED = 2,
    FC_CONV2D_COMPACT = 3,
    FC_CONV2D_EDGES = 4,
    FC_CONV2D_ROWS = 5
};
int fc_f32_conv2d_method(const fc_conv2d_shape *shape, int prepacked);
int fc_f64_conv2d_method(const fc_conv2d_shape *shape, int prepacked);

/* Bytes of workspace a call of this shape allocates with the current ISA and threads, given
 * prepacked weights (as plans pass) or not (then batches of small maps pack them per call). */
size_t fc_f32_conv2d_workspace_size(const fc_conv2d_shape *shape, int prepacked);
size_t fc_f64_conv2d_workspace_size(const fc_conv2d_shape *shape, int prepacked);

#endif
