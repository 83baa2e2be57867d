# conv2d: see src/ops/conv2d.h.

cdef extern from "ops/conv2d.h":
    ctypedef struct fc_conv2d_shape:
        size_t batch, groups
        size_t in_channels, in_height, in_width
        size_t out_channels, out_height, out_width
        size_t kernel_height, kernel_width
        size_t stride_height, stride_width
        size_t dilation_height, dilation_width
        size_t pad_top, pad_left
    size_t fc_f32_conv2d_workspace_size(const fc_conv2d_shape *shape, int prepacked)
    size_t fc_f64_conv2d_workspace_size(const fc_conv2d_shape *shape, int prepacked)
    int fc_f32_conv2d(const fc_conv2d_shape *shape, const float *x, const float *weight, const float *packed,
                      size_t packed_channels, float *out, fc_output_layout layout,
                      const fc_f32_epilogue *ep) nogil
    int fc_f64_conv2d(const fc_conv2d_shape *shape, const double *x, const double *weight, const double *packed,
                      size_t packed_channels, double *out, fc_output_layout layout,
                      const fc_f64_epilogue *ep) nogil
    int fc_f32_conv2d_method(const fc_conv2d_shape *shape, int prepacked)
    int fc_f64_conv2d_method(const fc_conv2d_shape *shape, int prepacked)
    size_t fc_f32_conv2d_transposed_channels(const fc_conv2d_shape *shape)
    size_t fc_f64_conv2d_transposed_channels(const fc_conv2d_shape *shape)
    void fc_f32_conv2d_pack_transposed(const fc_conv2d_shape *shape, size_t channels, const float *weight,
                                       float *packed) nogil
    void fc_f64_conv2d_pack_transposed(const fc_conv2d_shape *shape, size_t channels, const double *weight,
                                       double *packed) nogil


cdef class ConvShape:
    """An fc_conv2d_shape, converted once from a dict of its fields (ConvGeometry keeps
    one) instead of on every call."""
    cdef fc_conv2d_shape s

    def __cinit__(self, dict fields):
        self.s = fields

    def __reduce__(self):  # pickled with the geometry that caches it
        return ConvShape, (self.s,)


cdef inline fc_f32_epilogue f32_epilogue(const float[::1] scale, const float[::1] bias, const float[::1] slope,
                                         const float[::1] residual, double lower, double upper) noexcept nogil:
    cdef fc_f32_epilogue ep
    ep.scale, ep.bias = data_or_null(scale), data_or_null(bias)
    ep.slope, ep.residual = data_or_null(slope), data_or_null(residual)
    ep.residual_row_stride = 0
    ep.min, ep.max = <float>lower, <float>upper
    return ep


cdef inline fc_f64_epilogue f64_epilogue(const double[::1] scale, const double[::1] bias, const double[::1] slope,
                                         const double[::1] residual, double lower, double upper) noexcept nogil:
    cdef fc_f64_epilogue ep
    ep.scale, ep.bias = data_or_null(scale), data_or_null(bias)
    ep.slope, ep.residual = data_or_null(slope), data_or_null(residual)
    ep.residual_row_stride = 0
    ep.min, ep.max = lower, upper
    return ep


def conv2d(ConvShape shape not None,
           const real[:, :, :, ::1] x,
           const real[:, :, :, ::1] weight,
           const real[::1] packed,  # None, or weight packed for `packed_channels`-wide transposed tiles
           size_t packed_channels,
           real[:, :, :, :] out,  # OUT: planes C-contiguous (checked in Python); may be a channel slice
           const real[::1] scale,
           const real[::1] bias,
           const real[::1] slope,
           const real[::1] residual,  # flattened C-contiguous array of out's shape
           double lower, double upper):
    cdef fc_output_layout layout = output_layout(out)
    cdef int status
    cdef fc_f32_epilogue ep32
    cdef fc_f64_epilogue ep64
    with nogil:
        if real is float:
            ep32 = f32_epilogue(scale, bias, slope, residual, lower, upper)
            status = fc_f32_conv2d(&shape.s, &x[0, 0, 0, 0], &weight[0, 0, 0, 0], data_or_null(packed),
                                   packed_channels, &out[0, 0, 0, 0], layout, &ep32)
        else:
            ep64 = f64_epilogue(scale, bias, slope, residual, lower, upper)
            status = fc_f64_conv2d(&shape.s, &x[0, 0, 0, 0], &weight[0, 0, 0, 0], data_or_null(packed),
                                   packed_channels, &out[0, 0, 0, 0], layout, &ep64)
    check_status(status)


def conv2d_workspace_size(ConvShape shape not None, str dtype, bint prepacked):
    """Bytes of workspace a conv2d call of this shape allocates (current ISA and threads)."""
    if dtype == "float32":
        return fc_f32_conv2d_workspace_size(&shape.s, prepacked)
    return fc_f64_conv2d_workspace_size(&shape.s, prepacked)


def conv2d_transposed_channels(ConvShape shape not None, str dtype):
    """Channel width to pack weights for transposed tiles on this shape (active ISA), or 0."""
    if dtype == "float32":
        return fc_f32_conv2d_transposed_channels(&shape.s)
    return fc_f64_conv2d_transposed_channels(&shape.s)


def conv2d_pack_transposed(ConvShape shape not None, size_t channels, const real[:, :, :, ::1] weight,
                           real[::1] packed):  # OUT
    with nogil:
        if real is float:
            fc_f32_conv2d_pack_transposed(&shape.s, channels, &weight[0, 0, 0, 0], &packed[0])
        else:
            fc_f64_conv2d_pack_transposed(&shape.s, channels, &weight[0, 0, 0, 0], &packed[0])


CONV2D_METHODS = ("regular", "expanded", "transposed", "compact", "edges", "rows")


def conv2d_method(ConvShape shape not None, str dtype, bint prepacked):
    """How a conv2d call of this shape runs under the active ISA: one of CONV2D_METHODS."""
    if dtype == "float32":
        return CONV2D_METHODS[fc_f32_conv2d_method(&shape.s, prepacked)]
    return CONV2D_METHODS[fc_f64_conv2d_method(&shape.s, prepacked)]
