/* 2-D pooling, NCHW: max, average, global max/average and adaptive average. */
#ifndef FASTCONV_OPS_POOL2D_H
#define FASTCONV_OPS_POOL2D_H

#include <stdint.h>

#include "common.h"

/* All sizes already validated by the caller: every one > 0, out_height/out_width those of
 * torch (ceil_mode included: no window starts in the bottom/right padding), padding at
 * most half the kernel, no product overflowing. The padding is the same on both sides of
 * an axis, as torch's. The adaptive pool ignores kernel, stride, dilation and padding. */
typedef struct {
    size_t batch, channels;
    size_t in_height, in_width;
    size_t out_height, out_width;
    size_t kernel_height, kernel_width;
    size_t stride_height, stride_width;
    size_t dilation_height, dilation_width;
    size_t pad_height, pad_width;
} fc_pool2d_shape;

/* indices: NULL, or C-contiguous (batch, channels, out_height, out_width), which then
 * receives the flat position (ih * in_width + iw) in its input plane of each output, as
 * torch's return_indices: the first maximum in row-major order, or the last NaN.
 * Return FC_OK or FC_ENOMEM. */
int fc_f32_max_pool2d(const fc_pool2d_shape *shape, const float *x, float *out, fc_output_layout layout,
                      int64_t *indices);
int fc_f64_max_pool2d(const fc_pool2d_shape *shape, const double *x, double *out, fc_output_layout layout,
                      int64_t *indices);

/* Each window's sum divided by divisor_override if it is not 0, else by the window's size
 * clipped to the padded input (count_include_pad) or to the input. No dilation. */
int fc_f32_avg_pool2d(const fc_pool2d_shape *shape, const float *x, float *out, fc_output_layout layout,
                      int count_include_pad, int64_t divisor_override);
int fc_f64_avg_pool2d(const fc_pool2d_shape *shape, const double *x, double *out, fc_output_layout layout,
                      int count_include_pad, int64_t divisor_override);

/* Bins [floor(i * in / out), ceil((i + 1) * in / out)) along each axis, as torch. */
int fc_f32_adaptive_avg_pool2d(const fc_pool2d_shape *shape, const float *x, float *out,
                               fc_output_layout layout);
int fc_f64_adaptive_avg_pool2d(const fc_pool2d_shape *shape, const double *x, double *out,
                               fc_output_layout layout);

/* One value per (n, c) plane of plane_size elements, its mean (average != 0) or its
 * maximum (NaN if the plane holds one), stored at out + n * batch_stride + c * channel_stride. */
void fc_f32_global_pool2d(int average, size_t batch, size_t channels, size_t plane_size, const float *x, float *out,
                          fc_output_layout layout);
void fc_f64_global_pool2d(int average, size_t batch, size_t channels, size_t plane_size, const double *x,
                          double *out, fc_output_layout layout);

#endif
