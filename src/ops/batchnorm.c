#include "ops/batchnorm.h"

#include <math.h>

#define BATCHNORM_AFFINE(T, sfx)                                                                                 \
    size_t fc_##sfx##_batchnorm_affine(size_t channels, const T *gamma, const T *beta, const T *mean,           \
                                       const T *var, const T *bias, double eps, T *scale, T *shift) {           \
        size_t invalid = 0;                                                                                      \
        for (size_t c = 0; c < channels; c++) {                                                                  \
            const double variance = (double)var[c] + eps;                                                        \
            invalid += !(variance > 0); /* NaN counts as invalid too */                                          \
            const double s = (double)gamma[c] / sqrt(variance);                                                  \
            scale[c] = (T)s;                                                                                     \
            shift[c] = (T)(((bias ? (double)bias[c] : 0.0) - (double)mean[c]) * s + (double)beta[c]);           \
        }                                                                                                        \
        return invalid;                                                                                          \
    }

BATCHNORM_AFFINE(float, f32)
BATCHNORM_AFFINE(double, f64)
