/* Depthwise 2-D convolution, NCHW: groups == in_channels, and each input channel c feeds
 * output channels c * multiplier .. c * multiplier + multiplier - 1. Direct kernels from
 * src/dwconv/, threads over (image, output channel) planes, and over row blocks of each
 * plane when there are too few planes to go round. */
#ifndef FASTCONV_OPS_DWCONV2D_H
#define FASTCONV_OPS_DWCONV2D_H

#include "common.h"
#include "ops/conv2d.h"

/* s: as for fc_conv2d, with groups == in_channels and out_channels a multiple of it.
 * weight: contiguous (out_channels, 1, kernel_height, kernel_width). x: C-contiguous NCHW.
 * ep: bias/slope per output channel; residual, if any, C-contiguous in the output's shape.
 * Returns FC_OK or FC_ENOMEM (workspace). */
int fc_f32_dwconv2d(const fc_conv2d_shape *s, const float *x, const float *weight, float *out,
                    fc_output_layout layout, const fc_f32_epilogue *ep);
int fc_f64_dwconv2d(const fc_conv2d_shape *s, const double *x, const double *weight, double *out,
                    fc_output_layout layout, const fc_f64_epilogue *ep);

#endif
