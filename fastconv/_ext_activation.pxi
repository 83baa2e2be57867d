# Standalone activations: see src/ops/activation.h.

cdef extern from "ops/activation.h":
    void fc_f32_activation(size_t planes, size_t plane_size, size_t channels, const float *x, float *y,
                           const float *slope, float lo, float hi) nogil
    void fc_f64_activation(size_t planes, size_t plane_size, size_t channels, const double *x, double *y,
                           const double *slope, double lo, double hi) nogil


def activation(const real[::1] x, real[::1] y,  # y: OUT, may be x
               size_t planes, size_t channels, const real[::1] slope, double lower, double upper):
    cdef size_t plane_size = x.shape[0] // planes if planes else 0
    with nogil:
        if real is float:
            fc_f32_activation(planes, plane_size, channels, &x[0], &y[0], data_or_null(slope), <float>lower,
                              <float>upper)
        else:
            fc_f64_activation(planes, plane_size, channels, &x[0], &y[0], data_or_null(slope), lower, upper)
