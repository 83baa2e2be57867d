"""conv2d: validation, shape math and the epilogue, in front of the compiled kernels."""
import functools
from dataclasses import dataclass

import numpy as np

from . import _ext
from ._validation import (as_input, cached_by_arguments, check_out, check_product, int_pair, output_size,
                          padding_amounts)


@dataclass(frozen=True)
class ConvGeometry:
    """Every size of one conv2d call, derived once from the arguments."""

    batch: int
    groups: int
    in_channels: int
    in_height: int
    in_width: int
    out_channels: int
    out_height: int
    out_width: int
    kernel_height: int
    kernel_width: int
    stride_height: int
    stride_width: int
    dilation_height: int
    dilation_width: int
    pad_top: int
    pad_bottom: int
    pad_left: int
    pad_right: int

    @functools.cached_property  # the geometry is frozen: derived values are computed once
    def out_shape(self):
        return (self.batch, self.out_channels, self.out_height, self.out_width)

    @functools.cached_property
    def is_depthwise(self):
        """One input channel per group, each feeding out_channels / in_channels outputs:
        such layers run on the direct depthwise kernels (src/dwconv/)."""
        return self.groups == self.in_channels

    @property
    def flops(self):
        """Multiply-adds x 2 of the convolution (bias and epilogue not counted)."""
        k = self.in_channels // self.groups * self.kernel_height * self.kernel_width
        return 2 * self.batch * self.out_channels * self.out_height * self.out_width * k

    def c_shape(self):
        """The fc_conv2d_shape struct for the C layer (an _ext.ConvShape, built once per geometry)."""
        return self._c_shape

    @functools.cached_property
    def _c_shape(self):
        fields = ("batch", "groups", "in_channels", "in_height", "in_width", "out_channels",
                  "out_height", "out_width", "kernel_height", "kernel_width", "stride_height",
                  "stride_width", "dilation_height", "dilation_width", "pad_top", "pad_left")
        return _ext.ConvShape({f: getattr(self, f) for f in fields})


@cached_by_arguments(shape_arguments=2)
def conv_geometry(x_shape, weight_shape, stride, padding, dilation, groups):
    """Validates the hyper-parameters against the shapes of x (N, C, H, W) and weight
    (Cout, C/groups, KH, KW) and derives every size of the call."""
    n, cin, h, w = x_shape
    cout, cin_g, kh, kw = weight_shape
    if isinstance(groups, (bool, np.bool_)) or not isinstance(groups, (int, np.integer)):
        raise TypeError(f"groups must be an int, got {groups!r}")
    groups = int(groups)
    if groups < 1:
        raise ValueError(f"groups must be >= 1, got {groups}")
    if cin < 1:
        raise ValueError(f"x must have at least one channel, got shape {tuple(x_shape)}")
    if cin % groups or cout % groups:
        raise ValueError(f"groups={groups} must divide both x's channels ({cin}) and weight's "
                         f"output channels ({cout})")
    if cin_g != cin // groups:
        raise ValueError(f"weight must have in_channels / groups = {cin // groups} input channels "
                         f"(axis 1), got shape {tuple(weight_shape)}")
    if kh < 1 or kw < 1:
        raise ValueError(f"weight must have a non-empty kernel, got shape {tuple(weight_shape)}")
    sh, sw = int_pair(stride, "stride", 1)
    dh, dw = int_pair(dilation, "dilation", 1)
    extent = (dh * (kh - 1) + 1, dw * (kw - 1) + 1)
    top, bottom, left, right = padding_amounts(padding, extent, (sh, sw))
    oh = output_size(h, top, bottom, extent[0], sh, "padding/kernel height")
    ow = output_size(w, left, right, extent[1], sw, "padding/kernel width")
    check_product((n, cout, oh, ow), "the output")
    check_product((cout, cin_g, kh, kw), "the weights")
    return ConvGeometry(n, groups, cin, h, w, cout, oh, ow, kh, kw, sh, sw, dh, dw,
                        top, bottom, left, right)


# The epilogue's (slope, lower bound, upper bound) without an activation.
NO_ACTIVATION = (None, -float("inf"), float("inf"))


def parse_activation(activation, out_channels, dtype):
    """(slope per output channel or None, lower bound, upper bound) of the epilogue."""
    inf = float("inf")
    if activation is None:
        return NO_ACTIVATION
    if isinstance(activation, str):
        name, arg = activation.lower(), None
    elif isinstance(activation, tuple) and len(activation) == 2 and isinstance(activation[0], str):
        name, arg = activation[0].lower(), activation[1]
    else:
        raise TypeError(f"activation must be None, 'relu', 'relu6', ('leaky_relu', slope), "
                        f"('prelu', alpha) or ('clamp', (low, high)), got {activation!r}")
    if name == "relu" and arg is None:
        return None, 0.0, inf
    if name == "relu6" and arg is None:
        return None, 0.0, 6.0
    if name == "leaky_relu":
        slope = 0.01 if arg is None else _real_scalar(arg, "activation slope")
        return np.full(out_channels, slope, dtype=dtype), -inf, inf
    if name == "prelu" and arg is not None:
        alpha = as_input(arg, "activation alpha", dtype=dtype).reshape(-1)
        if alpha.size == 1:
            alpha = np.full(out_channels, alpha[0], dtype=dtype)
        if alpha.shape != (out_channels,):
            raise ValueError(f"activation alpha must be a scalar or have {out_channels} values "
                             f"(one per output channel), got {alpha.size}")
        return alpha, -inf, inf
    if name == "clamp" and arg is not None:
        if not (isinstance(arg, (tuple, list)) and len(arg) == 2):
            raise TypeError(f"('clamp', bounds) needs bounds = (low, high), got {arg!r}")
        low = -inf if arg[0] is None else _real_scalar(arg[0], "clamp low")
        high = inf if arg[1] is None else _real_scalar(arg[1], "clamp high")
        if low > high:
            raise ValueError(f"clamp bounds must have low <= high, got {arg!r}")
        return None, low, high
    raise ValueError(f"activation {activation!r} is not one of None, 'relu', 'relu6', "
                     f"('leaky_relu', slope), ('prelu', alpha), ('clamp', (low, high))")


def _real_scalar(value, argname):
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{argname} must be a real number, got {value!r}")
    value = float(value)
    if value != value:
        raise ValueError(f"{argname} must not be NaN")
    return value


def conv2d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1, *, out=None,
           activation=None, residual=None):
    """2-D convolution (cross-correlation) of NCHW ``x`` with ``weight``, as
    ``torch.nn.functional.conv2d``.

    Parameters
    ----------
    x : array_like, shape (N, C_in, H, W)
        float32 or float64 (the fast path is float32). float16 and integer inputs are
        computed, and returned, in float32. Any strides or byte order.
    weight : array_like, shape (C_out, C_in / groups, KH, KW)
        Cast to the dtype of the result.
    bias : array_like, shape (C_out,), optional
    stride, dilation : int or (int, int)
    padding : int, (ph, pw), ((top, bottom), (left, right)), 'valid' or 'same'
        'same' needs stride 1; when the total padding is odd the extra row/column goes at
        the bottom/right (ONNX SAME_UPPER; PyTorch does the same).
    groups : int
        Divides both C_in and C_out.
    out : ndarray, optional
        Written in place and returned: the exact result shape and dtype, each (H, W) plane
        C-contiguous. A channel slice of a bigger buffer (``buf[:, c0:c1]``) works, so
        branches of a block can write straight into their part of a concatenation.
    activation : None, 'relu', 'relu6', ('leaky_relu', slope), ('prelu', alpha) or ('clamp', (low, high))
        Applied to each output element while it is still in registers. ``alpha`` is a
        scalar or one value per output channel.
    residual : array_like of the output's shape, optional
        Added after the bias, before the activation (ResNet's ``relu(conv(x) + identity)``).

    Returns
    -------
    ndarray, shape (N, C_out, OH, OW), dtype of x (float32 for float16/integer input)
    """
    x = as_input(x, "x", ndim=4)
    weight = as_input(weight, "weight", ndim=4, dtype=x.dtype)
    geometry = conv_geometry(x.shape, weight.shape, stride, padding, dilation, groups)
    bias = check_bias(bias, geometry.out_channels, x.dtype)
    slope, lower, upper = NO_ACTIVATION if activation is None else parse_activation(
        activation, geometry.out_channels, x.dtype)
    return run_conv2d(geometry, x, weight, bias, slope, lower, upper, residual, out)


def check_bias(bias, out_channels, dtype):
    """``bias`` (or None) as an array of ``out_channels`` values of ``dtype``."""
    if bias is None:
        return None
    bias = as_input(bias, "bias", ndim=1, dtype=dtype)
    if len(bias) != out_channels:  # it is 1-D: its length is its shape, read without building a tuple
        raise ValueError(f"bias must have shape ({out_channels},), got {bias.shape}")
    return bias


# The float32 and float64 specializations of the compiled calls, picked by dtype here
# rather than by Cython's matching of every argument's type on each call.
_KERNELS = {np.dtype(name): (_ext.conv2d[ctype], _ext.dwconv2d[ctype])
            for name, ctype in (("float32", "float"), ("float64", "double"))}


def run_conv2d(geometry, x, weight, bias, slope, lower, upper, residual, out, packed=None, packed_channels=0,
               scale=None):
    """Checks residual and out against the geometry and runs the kernel; every other
    argument is already validated and cast to x's dtype. ``packed``: weights a plan packed
    for transposed tiles of ``packed_channels`` channels (see Conv2d). ``scale``: per output
    channel, multiplies the convolution before the bias."""
    dtype = x.dtype
    if residual is not None:
        residual = as_input(residual, "residual", ndim=4, dtype=dtype)
        if residual.shape != geometry.out_shape:
            raise ValueError(f"residual must have the output's shape {geometry.out_shape}, got {residual.shape}")
    if out is None:
        out = np.empty(geometry.out_shape, dtype=dtype)
    else:
        check_out(out, geometry.out_shape, dtype, (x, weight, bias, residual),
                  ("x", "weight", "bias", "residual"))
    if out.size:
        residual_flat = None if residual is None else residual.reshape(-1)
        if geometry.is_depthwise:  # those kernels take no scale; their weights are small to fold
            if scale is not None:
                weight = weight * scale[:, None, None, None]
            _KERNELS[dtype][1](geometry.c_shape(), x, weight, out, bias, slope, residual_flat, lower, upper)
        else:
            _KERNELS[dtype][0](geometry.c_shape(), x, weight, packed, packed_channels, out, scale, bias, slope,
                        residual_flat, lower, upper)
    return out
