"""Standalone activations with NumPy semantics: relu, relu6, leaky_relu, prelu."""
import numpy as np

from . import _ext
from ._validation import as_input, compute_dtype

_INF = float("inf")


def _activate(x, slope, lower, upper, out):
    """y = clamp(x < 0 ? x * slope : x, lower, upper); slope None, a scalar, or per channel (axis 1)."""
    x = as_input(x, "x")
    if out is None:
        out = target = np.empty_like(x)
    else:
        if not isinstance(out, np.ndarray):
            raise TypeError(f"out must be a numpy.ndarray, got {type(out).__name__}")
        if out.dtype != x.dtype:
            raise TypeError(f"out must have dtype {x.dtype} (the result's), got {out.dtype}")
        if out.shape != x.shape:
            raise ValueError(f"out must have shape {x.shape}, got {out.shape}")
        if not out.flags.writeable:
            raise ValueError("out is read-only")
        # In place or into a contiguous out directly; anything else through a temporary.
        same_memory = out.ctypes.data == x.ctypes.data and out.strides == x.strides
        direct = out.flags.c_contiguous and out.dtype.isnative and (same_memory or not np.may_share_memory(out, x))
        target = out if direct else np.empty_like(x)
    if x.size == 0:
        return out
    # Per-channel slopes make each (n, c) plane a unit; otherwise the whole array is one.
    channels = x.shape[1] if slope is not None and slope.size > 1 else 1
    planes = x.shape[0] * channels if channels > 1 else 1
    _ext.activation(x.reshape(-1), target.reshape(-1), planes, channels, slope, lower, upper)
    if target is not out:
        out[...] = target
    return out


def relu(x, out=None):
    """max(x, 0) elementwise; NaN stays NaN. float16/integer input gives float32."""
    return _activate(x, None, 0.0, _INF, out)


def relu6(x, out=None):
    """min(max(x, 0), 6) elementwise; NaN stays NaN."""
    return _activate(x, None, 0.0, 6.0, out)


def leaky_relu(x, negative_slope=0.01, out=None):
    """x if x >= 0 else negative_slope * x, elementwise."""
    if isinstance(negative_slope, (bool, np.bool_)) or not isinstance(negative_slope, (int, float, np.number)):
        raise TypeError(f"negative_slope must be a real number, got {negative_slope!r}")
    dtype = compute_dtype(np.asarray(x).dtype, "x")
    return _activate(x, np.array([negative_slope], dtype=dtype), -_INF, _INF, out)


def prelu(x, alpha, out=None):
    """x if x >= 0 else alpha * x, with ``alpha`` a scalar or one value per channel (axis 1),
    as ``torch.nn.functional.prelu``."""
    x = as_input(x, "x")
    alpha = as_input(alpha, "alpha", dtype=x.dtype).reshape(-1)
    channels = x.shape[1] if x.ndim >= 2 else 1
    if alpha.size not in (1, channels):
        raise ValueError(f"alpha must have 1 or {channels} (the channels of x, axis 1) elements, got {alpha.size}")
    return _activate(x, alpha, -_INF, _INF, out)
