/* Standalone activations over NCHW-like arrays: y = clamp(x < 0 ? x * slope[c] : x, lo, hi). */
#ifndef FASTCONV_OPS_ACTIVATION_H
#define FASTCONV_OPS_ACTIVATION_H

#include <stddef.h>

/* x, y: `planes` contiguous planes of plane_size elements (y may be x); plane p belongs to
 * channel p % channels and uses slope[p % channels], or slope 1 when `slope` is NULL. */
void fc_f32_activation(size_t planes, size_t plane_size, size_t channels, const float *x, float *y,
                       const float *slope, float lo, float hi);
void fc_f64_activation(size_t planes, size_t plane_size, size_t channels, const double *x, double *y,
                       const double *slope, double lo, double hi);

#endif
