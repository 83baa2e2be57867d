# BatchNorm as a per-channel affine map: see src/ops/batchnorm.h.

cdef extern from "ops/batchnorm.h":
    size_t fc_f32_batchnorm_affine(size_t channels, const float *gamma, const float *beta, const float *mean,
                                   const float *var, const float *bias, double eps, float *scale,
                                   float *shift) nogil
    size_t fc_f64_batchnorm_affine(size_t channels, const double *gamma, const double *beta, const double *mean,
                                   const double *var, const double *bias, double eps, double *scale,
                                   double *shift) nogil


def batchnorm_affine(const real[::1] gamma not None, const real[::1] beta not None, const real[::1] mean not None,
                     const real[::1] var not None, const real[::1] bias, double eps,
                     real[::1] scale not None, real[::1] shift not None):  # OUT
    """Fills scale and shift; returns how many channels have var + eps <= 0 (or NaN).
    ValueError unless every vector has scale's length."""
    cdef Py_ssize_t n = scale.shape[0]
    if not (gamma.shape[0] == beta.shape[0] == mean.shape[0] == var.shape[0] == shift.shape[0] == n) or (
            bias is not None and bias.shape[0] != n):
        raise ValueError("BatchNorm vectors of different lengths")
    if real is float:
        return fc_f32_batchnorm_affine(n, &gamma[0], &beta[0], &mean[0], &var[0], data_or_null(bias), eps,
                                       &scale[0], &shift[0])
    else:
        return fc_f64_batchnorm_affine(n, &gamma[0], &beta[0], &mean[0], &var[0], data_or_null(bias), eps,
                                       &scale[0], &shift[0])
