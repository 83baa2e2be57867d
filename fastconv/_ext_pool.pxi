# Pooling: see src/ops/pool2d.h.
from libc.stdint cimport int64_t

cdef extern from "ops/pool2d.h":
    ctypedef struct fc_pool2d_shape:
        size_t batch, channels
        size_t in_height, in_width
        size_t out_height, out_width
        size_t kernel_height, kernel_width
        size_t stride_height, stride_width
        size_t dilation_height, dilation_width
        size_t pad_height, pad_width
    int fc_f32_max_pool2d(const fc_pool2d_shape *shape, const float *x, float *out,
                          fc_output_layout layout, int64_t *indices) nogil
    int fc_f64_max_pool2d(const fc_pool2d_shape *shape, const double *x, double *out,
                          fc_output_layout layout, int64_t *indices) nogil
    int fc_f32_avg_pool2d(const fc_pool2d_shape *shape, const float *x, float *out,
                          fc_output_layout layout, int count_include_pad, int64_t divisor_override) nogil
    int fc_f64_avg_pool2d(const fc_pool2d_shape *shape, const double *x, double *out,
                          fc_output_layout layout, int count_include_pad, int64_t divisor_override) nogil
    int fc_f32_adaptive_avg_pool2d(const fc_pool2d_shape *shape, const float *x, float *out,
                                   fc_output_layout layout) nogil
    int fc_f64_adaptive_avg_pool2d(const fc_pool2d_shape *shape, const double *x, double *out,
                                   fc_output_layout layout) nogil
    void fc_f32_global_pool2d(int average, size_t batch, size_t channels, size_t plane_size, const float *x,
                              float *out, fc_output_layout layout) nogil
    void fc_f64_global_pool2d(int average, size_t batch, size_t channels, size_t plane_size, const double *x,
                              double *out, fc_output_layout layout) nogil


cdef class PoolShape:
    """An fc_pool2d_shape, converted once from a dict of its fields."""
    cdef fc_pool2d_shape s

    def __cinit__(self, dict fields):
        self.s = fields

    def __reduce__(self):  # pickled with the geometry that caches it
        return PoolShape, (self.s,)


def max_pool2d(PoolShape shape not None,
               const real[:, :, :, ::1] x,
               real[:, :, :, :] out,  # OUT: planes C-contiguous (checked in Python); may be a channel slice
               int64_t[:, :, :, ::1] indices):  # OUT: None, or C-contiguous in out's shape
    cdef fc_output_layout layout = output_layout(out)
    cdef int64_t *indices_ptr = &indices[0, 0, 0, 0] if indices is not None else NULL
    cdef int status
    with nogil:
        if real is float:
            status = fc_f32_max_pool2d(&shape.s, &x[0, 0, 0, 0], &out[0, 0, 0, 0], layout, indices_ptr)
        else:
            status = fc_f64_max_pool2d(&shape.s, &x[0, 0, 0, 0], &out[0, 0, 0, 0], layout, indices_ptr)
    check_status(status)


def avg_pool2d(PoolShape shape not None,
               const real[:, :, :, ::1] x,
               real[:, :, :, :] out,  # OUT: planes C-contiguous (checked in Python); may be a channel slice
               bint count_include_pad,
               int64_t divisor_override):  # 0: none
    cdef fc_output_layout layout = output_layout(out)
    cdef int status
    with nogil:
        if real is float:
            status = fc_f32_avg_pool2d(&shape.s, &x[0, 0, 0, 0], &out[0, 0, 0, 0], layout, count_include_pad,
                                       divisor_override)
        else:
            status = fc_f64_avg_pool2d(&shape.s, &x[0, 0, 0, 0], &out[0, 0, 0, 0], layout, count_include_pad,
                                       divisor_override)
    check_status(status)


def adaptive_avg_pool2d(PoolShape shape not None,
                        const real[:, :, :, ::1] x,
                        real[:, :, :, :] out):  # OUT: planes C-contiguous (checked in Python); may be a channel slice
    cdef fc_output_layout layout = output_layout(out)
    cdef int status
    with nogil:
        if real is float:
            status = fc_f32_adaptive_avg_pool2d(&shape.s, &x[0, 0, 0, 0], &out[0, 0, 0, 0], layout)
        else:
            status = fc_f64_adaptive_avg_pool2d(&shape.s, &x[0, 0, 0, 0], &out[0, 0, 0, 0], layout)
    check_status(status)


def global_pool2d(str kind,  # "max" or "avg"
                  const real[:, :, :, ::1] x,
                  real[:, :, :, :] out):  # OUT: (N, C, 1, 1), may be a channel slice
    cdef fc_output_layout layout = output_layout(out)
    cdef size_t batch = x.shape[0], channels = x.shape[1], plane_size = x.shape[2] * x.shape[3]
    cdef int average = kind == "avg"
    with nogil:
        if real is float:
            fc_f32_global_pool2d(average, batch, channels, plane_size, &x[0, 0, 0, 0], &out[0, 0, 0, 0], layout)
        else:
            fc_f64_global_pool2d(average, batch, channels, plane_size, &x[0, 0, 0, 0], &out[0, 0, 0, 0], layout)
