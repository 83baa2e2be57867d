"""Reference convolution and activations (see the package docstring)."""
import numpy as np


def _pair(v):
    return tuple(v) if isinstance(v, (tuple, list)) else (v, v)


def _conv_padding(padding, kernel_extent):
    """(top, bottom, left, right) of conv2d's padding argument."""
    if isinstance(padding, str):
        if padding == "valid":
            return (0, 0, 0, 0)
        if padding == "same":
            th, tw = kernel_extent[0] - 1, kernel_extent[1] - 1
            return (th // 2, th - th // 2, tw // 2, tw - tw // 2)
        raise ValueError(padding)
    if isinstance(padding, (tuple, list)) and isinstance(padding[0], (tuple, list)):
        (top, bottom), (left, right) = padding
        return (top, bottom, left, right)
    ph, pw = _pair(padding)
    return (ph, ph, pw, pw)


def activate(y, activation):
    """Applies conv2d's ``activation`` argument to ``y`` (float64), channel axis 1."""
    if activation is None:
        return y
    name, arg = (activation, None) if isinstance(activation, str) else activation
    if name == "relu":
        return np.maximum(y, 0)
    if name == "relu6":
        return np.minimum(np.maximum(y, 0), 6)
    if name == "leaky_relu":
        slope = 0.01 if arg is None else arg
        return np.where(y < 0, y * slope, y)
    if name == "prelu":
        alpha = np.asarray(arg, dtype=np.float64).reshape(-1)
        alpha = alpha.reshape((1, -1) + (1,) * (y.ndim - 2)) if alpha.size > 1 else alpha[0]
        return np.where(y < 0, y * alpha, y)
    if name == "clamp":
        low, high = arg
        return np.clip(y, -np.inf if low is None else low, np.inf if high is None else high)
    raise ValueError(activation)


def conv2d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1, activation=None, residual=None):
    """out[n, o, i, j] = bias[o] + sum_{c, p, q} x_padded[n, g*Cg + c, i*sh + p*dh, j*sw + q*dw] * weight[o, c, p, q]
    where g = o // (Cout / groups), then + residual, then the activation."""
    x = np.asarray(x, dtype=np.float64)
    weight = np.asarray(weight, dtype=np.float64)
    n, cin, h, w = x.shape
    cout, cin_g, kh, kw = weight.shape
    sh, sw = _pair(stride)
    dh, dw = _pair(dilation)
    top, bottom, left, right = _conv_padding(padding, (dh * (kh - 1) + 1, dw * (kw - 1) + 1))
    xp = np.pad(x, ((0, 0), (0, 0), (top, bottom), (left, right)))
    oh = (h + top + bottom - dh * (kh - 1) - 1) // sh + 1
    ow = (w + left + right - dw * (kw - 1) - 1) // sw + 1
    if oh < 1 or ow < 1:  # as fastconv and torch: an error, not an empty result
        raise ValueError(f"the kernel (extent {dh * (kh - 1) + 1}x{dw * (kw - 1) + 1} with dilation) is larger "
                         f"than the padded input ({h + top + bottom}x{w + left + right})")
    cout_g = cout // groups
    out = np.zeros((n, cout, oh, ow))
    for g in range(groups):
        xg = xp[:, g * cin_g:(g + 1) * cin_g]
        wg = weight[g * cout_g:(g + 1) * cout_g]
        for p in range(kh):
            for q in range(kw):
                window = xg[:, :, p * dh:p * dh + sh * (oh - 1) + 1:sh, q * dw:q * dw + sw * (ow - 1) + 1:sw]
                out[:, g * cout_g:(g + 1) * cout_g] += np.einsum("nchw,oc->nohw", window, wg[:, :, p, q])
    if bias is not None:
        out += np.asarray(bias, dtype=np.float64).reshape(1, -1, 1, 1)
    if residual is not None:
        out += np.asarray(residual, dtype=np.float64)
    return activate(out, activation)
