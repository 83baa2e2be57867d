"""Inference fusion: BatchNorm folded into the convolution, conv + BN + activation in one
call, and prepacked plans (Conv2d) that do all argument work once."""
import numpy as np

from . import _ext
from ._conv import check_bias, conv_geometry, parse_activation, run_conv2d
from ._validation import as_input, int_pair, padding_amounts

_BN_FIELDS = ("gamma", "beta", "running_mean", "running_var")


def fold_batchnorm(weight, bias, gamma, beta, running_mean, running_var, eps=1e-5):
    """Fold an inference-mode BatchNorm that follows a convolution into its weights.

    ``bn(conv(x, weight, bias))`` equals ``conv(x, weight', bias')`` with
    ``scale = gamma / sqrt(running_var + eps)``, ``weight' = weight * scale`` (per output
    channel) and ``bias' = (bias - running_mean) * scale + beta``. scale and bias' are
    computed in float64; the results have the weight's dtype (float32 for float16/integer).

    Parameters
    ----------
    weight : array_like, shape (C_out, C_in / groups, KH, KW)
    bias : array_like, shape (C_out,), or None (zero)
    gamma, beta, running_mean, running_var : array_like, shape (C_out,)
    eps : float, >= 0

    Returns
    -------
    (weight', bias') : ndarrays of the weight's dtype
    """
    weight = as_input(weight, "weight", ndim=4)
    scale, shift = _batchnorm_affine(weight.shape[0], np.dtype(np.float64), bias, gamma, beta, running_mean,
                                     running_var, eps)
    return weight * scale.astype(weight.dtype)[:, None, None, None], shift.astype(weight.dtype)


def _batchnorm_affine(channels, dtype, bias, gamma, beta, running_mean, running_var, eps):
    """(scale, shift) of dtype such that bn(y + bias) = y * scale + shift per channel,
    computed in C (in double): numpy's dozen small-array calls would cost more than the
    epilogue saves on a small layer."""
    scale, shift = np.empty((2, channels), dtype=dtype)
    statistics = (gamma, beta, running_mean, running_var, bias)
    eps = _check_eps(eps)
    try:  # straight in when they are contiguous vectors of dtype and the right length (the usual case)
        invalid = _ext.batchnorm_affine(*statistics, eps, scale, shift)
    except (TypeError, ValueError):  # else converted, or rejected with the argument named
        statistics = [_channel_vector(a, name, channels, dtype) for name, a in zip(_BN_FIELDS + ("bias",), statistics)]
        invalid = _ext.batchnorm_affine(*statistics, eps, scale, shift)
    if invalid:
        raise ValueError("running_var + eps must be > 0 for every channel")
    return scale, shift


def _channel_vector(a, argname, channels, dtype):
    """a as a (channels,) array of dtype; a None bias stays None."""
    if a is None and argname == "bias":
        return None
    a = as_input(a, argname, ndim=1, dtype=dtype)
    if a.shape != (channels,):
        raise ValueError(f"{argname} must have shape ({channels},) (one per output channel), got {a.shape}")
    return a


def _check_eps(eps):
    if type(eps) is float and eps >= 0:
        return eps
    if isinstance(eps, (bool, np.bool_)) or not isinstance(eps, (int, float, np.floating, np.integer)):
        raise TypeError(f"eps must be a real number, got {eps!r}")
    if not eps >= 0:
        raise ValueError(f"eps must be >= 0, got {eps!r}")
    return float(eps)


def conv_bn_act(x, weight, gamma, beta, running_mean, running_var, bias=None, eps=1e-5, stride=1, padding=0,
                dilation=1, groups=1, activation="relu", residual=None, out=None):
    """``activation(bn(conv2d(x, weight, bias)) + residual)`` in one pass over the output:
    the BatchNorm is applied as a per-channel scale and shift in the kernel's epilogue (so
    the weights are read as they are, not rewritten on every call), then the residual and
    the activation. Arguments as ``conv2d`` and ``fold_batchnorm``; x's dtype rules apply.
    To fold the BatchNorm into the weights once, use ``Conv2d(..., bn=...)``."""
    x = as_input(x, "x", ndim=4)
    weight = as_input(weight, "weight", ndim=4, dtype=x.dtype)
    geometry = conv_geometry(x.shape, weight.shape, stride, padding, dilation, groups)
    scale, shift = _batchnorm_affine(geometry.out_channels, x.dtype, bias, gamma, beta, running_mean, running_var,
                                       eps)
    slope, lower, upper = parse_activation(activation, geometry.out_channels, x.dtype)
    return run_conv2d(geometry, x, weight, shift, slope, lower, upper, residual, out, scale=scale)


class Conv2d:
    """A convolution prepared once and run many times: weights validated, cast and made
    contiguous, BatchNorm folded, the activation parsed, and the shape math cached per
    input size, so a call does only what depends on ``x``. For layers with few pixels per
    row (deep 7x7 and 14x14 maps) the plan also packs the weights, once, for a kernel that
    vectorizes along output channels instead of pixels.

    Parameters
    ----------
    weight, bias, stride, padding, dilation, groups, activation
        As ``fastconv.conv2d``. The plan computes in the weight's dtype (float32 for
        float16/integer weights); inputs are cast to it.
    bn : dict or tuple, optional
        ``(gamma, beta, running_mean, running_var[, eps])`` or a dict with those keys
        (and optionally ``eps``): a BatchNorm applied after the convolution, folded in.

    Call it as ``plan(x, residual=None, out=None)``; it is picklable.
    """

    def __init__(self, weight, bias=None, stride=1, padding=0, dilation=1, groups=1, activation=None, bn=None):
        weight = as_input(weight, "weight", ndim=4)
        if bn is not None:
            weight, bias = fold_batchnorm(weight, bias, **_bn_arguments(bn))
        # Own copies: the caller may refill its arrays (a checkpoint load), which must not
        # change some calls of the plan (those on packed weights) and not others.
        self.weight = np.array(weight, copy=True)
        bias = check_bias(bias, weight.shape[0], weight.dtype)
        self.bias = None if bias is None else np.array(bias, copy=True)
        self.stride, self.padding, self.dilation, self.groups = stride, padding, dilation, groups
        self.activation = activation
        self._epilogue = parse_activation(activation, weight.shape[0], weight.dtype)
        self._calls = {}  # (input shape, isa) -> _prepared()
        self._packed = {}  # (isa, channels) -> weights packed for transposed tiles
        self._validate_hyperparameters()

    @property
    def dtype(self):
        return self.weight.dtype

    @property
    def parameter_count(self):
        """Weights plus biases."""
        return self.weight.size + (0 if self.bias is None else self.bias.size)

    def geometry(self, input_shape):
        """Every size of a call on an input of ``input_shape``."""
        # The geometry cache takes shapes of ints only, as array shapes are.
        try:
            dims = tuple(input_shape)
        except TypeError:  # not iterable
            dims = None
        if dims is None or any(isinstance(d, (bool, np.bool_)) or not isinstance(d, (int, np.integer)) for d in dims):
            raise TypeError(f"input_shape must be a tuple of ints, got {input_shape!r}")
        shape = tuple(map(int, dims))
        if len(shape) != 4 or min(shape) < 0:
            raise ValueError(f"input_shape must be (N, C, H, W) of sizes >= 0, got {shape}")
        return conv_geometry(shape, self.weight.shape, self.stride, self.padding, self.dilation, self.groups)

    def _prepared(self, input_shape, isa):
        """(geometry, packed weights or None, their channel width) for a call on this input
        shape under this ISA, computed once."""
        key = (input_shape, isa)
        prepared = self._calls.get(key)
        if prepared is None:
            geometry = self.geometry(input_shape)
            prepared = self._calls[key] = (geometry, *self._packed_for(geometry, isa))
        return prepared

    def flops(self, input_shape):
        """Floating-point operations of one call on an input of ``input_shape``."""
        return self.geometry(input_shape).flops

    def workspace_bytes(self, input_shape):
        """Bytes of temporary memory one call allocates (current ISA and thread count); for
        depthwise layers, whose kernels need far less, the dense path's figure as an upper bound."""
        return _ext.conv2d_workspace_size(self.geometry(input_shape).c_shape(), self.dtype.name, True)

    def __call__(self, x, residual=None, out=None):
        x = as_input(x, "x", ndim=4, dtype=self.dtype)
        geometry, packed, channels = self._prepared(x.shape, _ext.active_isa())
        slope, lower, upper = self._epilogue
        return run_conv2d(geometry, x, self.weight, self.bias, slope, lower, upper, residual, out, packed, channels)

    def _packed_for(self, geometry, isa):
        """Weights packed for this geometry's transposed tiles under the active ISA, if it
        has any (else None, 0)."""
        shape = geometry.c_shape()
        channels = 0 if geometry.is_depthwise else _ext.conv2d_transposed_channels(shape, self.dtype.name)
        if not channels:
            return None, 0
        key = (isa, channels)
        packed = self._packed.get(key)
        if packed is None:
            cout, cin_g, kh, kw = self.weight.shape
            panels = -(-(cout // self.groups) // channels)
            packed = np.empty(self.groups * panels * channels * cin_g * kh * kw, dtype=self.dtype)
            _ext.conv2d_pack_transposed(shape, channels, self.weight, packed)
            self._packed[key] = packed
        return packed, channels

    def _validate_hyperparameters(self):
        """Raises now for arguments no input could make valid; the rest is checked per input size."""
        cout, cin_g, kh, kw = self.weight.shape
        groups = self.groups
        if isinstance(groups, (bool, np.bool_)) or not isinstance(groups, (int, np.integer)):
            raise TypeError(f"groups must be an int, got {groups!r}")
        if groups < 1 or cout % groups:
            raise ValueError(f"groups={groups} must be >= 1 and divide weight's output channels ({cout})")
        stride = int_pair(self.stride, "stride", 1)
        dh, dw = int_pair(self.dilation, "dilation", 1)
        padding_amounts(self.padding, (dh * (kh - 1) + 1, dw * (kw - 1) + 1), stride)

    def __getstate__(self):
        state = dict(self.__dict__)
        del state["_calls"], state["_packed"]  # derived, rebuilt on use
        return state

    def __setstate__(self, state):
        state.pop("_geometries", None)  # plans pickled before that cache became _calls
        self.__dict__.update(state, _calls={}, _packed={})

    def __repr__(self):
        cout, cin_g, kh, kw = self.weight.shape
        return (f"Conv2d({cin_g * self.groups}->{cout}, kernel=({kh}, {kw}), stride={self.stride}, "
                f"padding={self.padding!r}, dilation={self.dilation}, groups={self.groups}, "
                f"activation={self.activation!r}, dtype={self.dtype})")


def _bn_arguments(bn):
    if isinstance(bn, dict):
        unknown = set(bn) - set(_BN_FIELDS) - {"eps"}
        if unknown:
            raise ValueError(f"bn has unknown keys {sorted(unknown)}; expected {_BN_FIELDS} and optionally 'eps'")
        missing = [f for f in _BN_FIELDS if f not in bn]
        if missing:
            raise ValueError(f"bn is missing {missing}")
        return dict(bn)
    if isinstance(bn, (tuple, list)) and len(bn) in (4, 5):
        return dict(zip(_BN_FIELDS + ("eps",), bn))
    raise TypeError("bn must be a dict or a (gamma, beta, running_mean, running_var[, eps]) tuple")
