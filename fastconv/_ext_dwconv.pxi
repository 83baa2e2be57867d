# dwconv2d: see src/ops/dwconv2d.h. fc_conv2d_shape from _ext_conv.pxi.

cdef extern from "ops/dwconv2d.h":
    int fc_f32_dwconv2d(const fc_conv2d_shape *shape, const float *x, const float *weight, float *out,
                        fc_output_layout layout, const fc_f32_epilogue *ep) nogil
    int fc_f64_dwconv2d(const fc_conv2d_shape *shape, const double *x, const double *weight, double *out,
                        fc_output_layout layout, const fc_f64_epilogue *ep) nogil


def dwconv2d(ConvShape shape not None,
             const real[:, :, :, ::1] x,
             const real[:, :, :, ::1] weight,
             real[:, :, :, :] out,  # OUT: (H, W) planes contiguous (checked by the caller), may be a channel slice
             const real[::1] bias,
             const real[::1] slope,
             const real[::1] residual,  # flattened C-contiguous array of out's shape
             double lower, double upper):
    """Depthwise conv2d (groups == in_channels); same arguments as ``conv2d``."""
    cdef fc_output_layout layout = output_layout(out)
    cdef int status
    cdef fc_f32_epilogue ep32
    cdef fc_f64_epilogue ep64
    with nogil:
        if real is float:
            ep32 = f32_epilogue(None, bias, slope, residual, lower, upper)
            status = fc_f32_dwconv2d(&shape.s, &x[0, 0, 0, 0], &weight[0, 0, 0, 0], &out[0, 0, 0, 0], layout, &ep32)
        else:
            ep64 = f64_epilogue(None, bias, slope, residual, lower, upper)
            status = fc_f64_dwconv2d(&shape.s, &x[0, 0, 0, 0], &weight[0, 0, 0, 0], &out[0, 0, 0, 0], layout, &ep64)
    check_status(status)
