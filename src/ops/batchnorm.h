/* Inference BatchNorm as a per-channel affine map, for the conv epilogue. */
#ifndef FASTCONV_OPS_BATCHNORM_H
#define FASTCONV_OPS_BATCHNORM_H

#include <stddef.h>

/* scale = gamma / sqrt(var + eps) and shift = (bias - mean) * scale + beta per channel
 * (bias NULL: zero), computed in double, so that bn(y + bias) = y * scale + shift.
 * Returns the number of channels whose var + eps is not > 0 (nothing is valid then). */
size_t fc_f32_batchnorm_affine(size_t channels, const float *gamma, const float *beta, const float *mean,
                               const float *var, const float *bias, double eps, float *scale, float *shift);
size_t fc_f64_batchnorm_affine(size_t channels, const double *gamma, const double *beta, const double *mean,
                               const double *var, const double *bias, double eps, double *scale, double *shift);

#endif
