# BatchNorm as a per-channel affine map: see src/ops/batchnorm.h.

cdef extern from "ops/batchnorm.h":
    size_t fc_f32_batchnorm_affine(size_t channels, const float *gamma, const float *beta, const float *mean,
                                   const float *var, const float *bias, double eps, float *scale,
                                   float *shift) nogil
    size_t fc_f64_batchnorm_affine(size_t channels, const double *gamma, const double *beta, const double *mean,
                                   const double *var, const double *bias, double eps, double *scale,
                                   double *shift) nogil


def batchnorm_affine(const real[::1] gamma, const real[::1] beta, const real[::1] mean, const real[::1] var,
                     const real[::1] bias, double eps,
                     real[::1] scale, real[::1] shift):  # OUT
    """Fills scale and shift; returns how many channels have var + eps <= 0 (or NaN)."""
    if real is float:
        return fc_f32_batchnorm_affine(gamma.shape[0], &gamma[0], &beta[0], &mean[0], &var[0], data_or_null(bias),
                                       eps, &scale[0], &shift[0])
    else:
        return fc_f64_batchnorm_affine(gamma.shape[0], &gamma[0], &beta[0], &mean[0], &var[0],
                                       data_or_null(bias), eps, &scale[0], &shift[0])
