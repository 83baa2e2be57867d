"""Pooling: validation, shape math and dtype handling in front of the compiled kernels."""
from dataclasses import dataclass

import numpy as np

from . import _ext
from ._validation import MAX_DIM, as_input, cached_by_arguments, check_out, check_product, int_pair, output_size


@dataclass(frozen=True)
class PoolGeometry:
    """Every size of one windowed pooling call, derived once from the arguments."""

    batch: int
    channels: int
    in_height: int
    in_width: int
    out_height: int
    out_width: int
    kernel_height: int = 1
    kernel_width: int = 1
    stride_height: int = 1
    stride_width: int = 1
    dilation_height: int = 1
    dilation_width: int = 1
    pad_height: int = 0
    pad_width: int = 0

    @property
    def out_shape(self):
        return (self.batch, self.channels, self.out_height, self.out_width)

    def c_shape(self):
        """The fc_pool2d_shape struct for the C layer (an _ext.PoolShape)."""
        return _ext.PoolShape({f: getattr(self, f) for f in self.__dataclass_fields__})


def _check_spatial(x, argname="x"):
    n, c, h, w = x.shape
    if c < 1 or h < 1 or w < 1:
        raise ValueError(f"{argname} must have non-empty channel and spatial axes (only the batch may be 0), "
                         f"got shape {x.shape}")


def _check_bool(value, argname):
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{argname} must be a bool, got {value!r}")
    return bool(value)


def _pooled_size(size, pad, extent, stride, axis, ceil_mode):
    """Output length along one axis, as torch: with ceil_mode, a last window that would
    start in the right/bottom padding is dropped."""
    out = output_size(size, pad, pad, extent, stride, f"kernel_size/padding {axis}", ceil_mode)
    if ceil_mode and (out - 1) * stride >= size + pad:
        out -= 1
    return out


@cached_by_arguments(shape_arguments=1)
def pool_geometry(x_shape, kernel_size, stride, padding, dilation, ceil_mode):
    """(PoolGeometry, its c_shape()) after validating the window arguments against x's
    shape (N, C, H, W)."""
    n, c, h, w = x_shape
    kh, kw = int_pair(kernel_size, "kernel_size", 1)
    if stride is None or (isinstance(stride, (tuple, list)) and len(stride) == 0):
        sh, sw = kh, kw  # torch's default: non-overlapping windows
    else:
        sh, sw = int_pair(stride, "stride", 1)
    ph, pw = int_pair(padding, "padding", 0)
    dh, dw = int_pair(dilation, "dilation", 1)
    if ph > kh // 2 or pw > kw // 2:
        raise ValueError(f"padding must be at most half of kernel_size, got padding {(ph, pw)} "
                         f"for kernel_size {(kh, kw)}")
    ceil_mode = _check_bool(ceil_mode, "ceil_mode")
    oh = _pooled_size(h, ph, dh * (kh - 1) + 1, sh, "height", ceil_mode)
    ow = _pooled_size(w, pw, dw * (kw - 1) + 1, sw, "width", ceil_mode)
    check_product((n, c, oh, ow), "the output")
    geometry = PoolGeometry(n, c, h, w, oh, ow, kh, kw, sh, sw, dh, dw, ph, pw)
    return geometry, geometry.c_shape()


def _output(out, shape, dtype, x):
    if out is None:
        return np.empty(shape, dtype=dtype)
    return check_out(out, shape, dtype, (x,), ("x",))


def max_pool2d(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False,
               *, out=None):
    """2-D max pooling of NCHW ``x``, as ``torch.nn.functional.max_pool2d``.

    Parameters
    ----------
    x : array_like, shape (N, C, H, W)
        float32 or float64 (the fast path is float32). float16 and integer inputs are
        computed, and returned, in float32. Any strides or byte order.
    kernel_size : int or (int, int)
    stride : int or (int, int), optional
        Defaults to ``kernel_size``.
    padding : int or (int, int)
        Implicit -inf on both sides of each axis; at most half the kernel size.
    dilation : int or (int, int)
    ceil_mode : bool
        Round the output size up, keeping a last partial window unless it would start in
        the bottom/right padding.
    return_indices : bool
        Also return, for each output, the flat position ``ih * W + iw`` of its maximum in
        its (H, W) input plane (torch's indices: the first maximum, or the last NaN).
    out : ndarray, optional
        Written in place and returned: the exact result shape and dtype, each (H, W) plane
        C-contiguous; a channel slice of a bigger buffer (``buf[:, c0:c1]``) works.

    Returns
    -------
    ndarray, shape (N, C, OH, OW), dtype of x (float32 for float16/integer input)
        NaN wherever the window holds a NaN.
    ndarray of int64, same shape
        Only with ``return_indices``.
    """
    x = as_input(x, "x", ndim=4)
    _check_spatial(x)
    return_indices = _check_bool(return_indices, "return_indices")
    geometry, c_shape = pool_geometry(x.shape, kernel_size, stride, padding, dilation, ceil_mode)
    out = _output(out, geometry.out_shape, x.dtype, x)
    indices = np.empty(geometry.out_shape, dtype=np.int64) if return_indices else None
    if out.size:
        _ext.max_pool2d(c_shape, x, out, indices)
    return (out, indices) if return_indices else out


def avg_pool2d(x, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
               divisor_override=None, *, out=None):
    """2-D average pooling of NCHW ``x``, as ``torch.nn.functional.avg_pool2d``.

    Parameters
    ----------
    x : array_like, shape (N, C, H, W)
        float32 or float64; float16 and integer inputs are computed, and returned, in float32.
    kernel_size : int or (int, int)
    stride : int or (int, int), optional
        Defaults to ``kernel_size``.
    padding : int or (int, int)
        Implicit zeros on both sides of each axis; at most half the kernel size.
    ceil_mode : bool
        As in :func:`max_pool2d`.
    count_include_pad : bool
        Divide by the window's size including the padding it covers (but not what lies
        beyond the padding in ceil_mode), rather than by its number of input elements.
    divisor_override : int, optional
        Divide every window's sum by this instead (non-zero).
    out : ndarray, optional
        As in :func:`max_pool2d`.

    Returns
    -------
    ndarray, shape (N, C, OH, OW), dtype of x (float32 for float16/integer input)
    """
    x = as_input(x, "x", ndim=4)
    _check_spatial(x)
    count_include_pad = _check_bool(count_include_pad, "count_include_pad")
    divisor = 0
    if divisor_override is not None:
        if isinstance(divisor_override, (bool, np.bool_)) or not isinstance(divisor_override, (int, np.integer)):
            raise TypeError(f"divisor_override must be None or an int, got {divisor_override!r}")
        divisor = int(divisor_override)
        if divisor == 0 or abs(divisor) > MAX_DIM:
            raise ValueError(f"divisor_override must be a non-zero int of at most {MAX_DIM} in magnitude, "
                             f"got {divisor}")
    geometry, c_shape = pool_geometry(x.shape, kernel_size, stride, padding, 1, ceil_mode)
    out = _output(out, geometry.out_shape, x.dtype, x)
    if out.size:
        _ext.avg_pool2d(c_shape, x, out, count_include_pad, divisor)
    return out


def _adaptive_size(output_size, in_size):
    """(OH, OW) from an int or a pair whose entries may be None (keep the input's size)."""
    if isinstance(output_size, (tuple, list)):
        if len(output_size) != 2:
            raise ValueError(f"output_size must be an int or a pair, got {output_size!r}")
        pair = [in_size[i] if v is None else v for i, v in enumerate(output_size)]
    else:
        pair = output_size
    return int_pair(pair, "output_size", 1)


def adaptive_avg_pool2d(x, output_size, *, out=None):
    """Average pooling of NCHW ``x`` to a fixed output size, as
    ``torch.nn.functional.adaptive_avg_pool2d``.

    Output (i, j) averages input rows ``floor(i*H/OH)`` to ``ceil((i+1)*H/OH)`` (exclusive)
    and the columns likewise, so bins may overlap or differ in size.

    Parameters
    ----------
    x : array_like, shape (N, C, H, W)
    output_size : int or (int or None, int or None)
        None keeps that axis's input size.
    out : ndarray, optional
        As in :func:`max_pool2d`.

    Returns
    -------
    ndarray, shape (N, C, OH, OW), dtype of x (float32 for float16/integer input)
    """
    x = as_input(x, "x", ndim=4)
    _check_spatial(x)
    n, c, h, w = x.shape
    oh, ow = _adaptive_size(output_size, (h, w))
    check_product((n, c, oh, ow), "the output")
    out = _output(out, (n, c, oh, ow), x.dtype, x)
    if not out.size:
        return out
    if (oh, ow) == (1, 1):
        _ext.global_pool2d("avg", x, out)
    elif h % oh == 0 and w % ow == 0:
        # Equal bins that tile the input: a plain average pool with kernel = stride.
        kh, kw = h // oh, w // ow
        _ext.avg_pool2d(PoolGeometry(n, c, h, w, oh, ow, kh, kw, kh, kw).c_shape(), x, out, True, 0)
    else:
        _ext.adaptive_avg_pool2d(PoolGeometry(n, c, h, w, oh, ow).c_shape(), x, out)
    return out


def _global_pool(kind, x, out):
    x = as_input(x, "x", ndim=4)
    _check_spatial(x)
    out = _output(out, x.shape[:2] + (1, 1), x.dtype, x)
    if out.size:
        _ext.global_pool2d(kind, x, out)
    return out


def global_avg_pool2d(x, *, out=None):
    """Mean of each (H, W) plane of NCHW ``x``: ``adaptive_avg_pool2d(x, 1)``.

    Parameters
    ----------
    x : array_like, shape (N, C, H, W)
    out : ndarray, optional
        As in :func:`max_pool2d`, shape (N, C, 1, 1).

    Returns
    -------
    ndarray, shape (N, C, 1, 1), dtype of x (float32 for float16/integer input)
    """
    return _global_pool("avg", x, out)


def global_max_pool2d(x, *, out=None):
    """Maximum of each (H, W) plane of NCHW ``x`` (NaN if the plane holds one):
    ``adaptive_max_pool2d(x, 1)``.

    Parameters
    ----------
    x : array_like, shape (N, C, H, W)
    out : ndarray, optional
        As in :func:`max_pool2d`, shape (N, C, 1, 1).

    Returns
    -------
    ndarray, shape (N, C, 1, 1), dtype of x (float32 for float16/integer input)
    """
    return _global_pool("max", x, out)
