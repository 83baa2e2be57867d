"""Reference pooling (see the package docstring): windows visited tap by tap over a
padded copy of the input, float64 throughout."""
import numpy as np


def _pair(v):
    return tuple(v) if isinstance(v, (tuple, list)) else (v, v)


def _out_len(size, kernel, stride, pad, dilation, ceil_mode):
    extent = dilation * (kernel - 1) + 1
    span = size + 2 * pad - extent
    out = (-(-span // stride) if ceil_mode else span // stride) + 1
    # A window may not start in the trailing padding (torch's ceil_mode rule).
    if ceil_mode and (out - 1) * stride >= size + pad:
        out -= 1
    return out


def _window_geometry(x, kernel_size, stride, padding, dilation, ceil_mode):
    kh, kw = _pair(kernel_size)
    sh, sw = (kh, kw) if stride is None or stride == () or stride == [] else _pair(stride)
    ph, pw = _pair(padding)
    dh, dw = _pair(dilation)
    oh = _out_len(x.shape[2], kh, sh, ph, dh, ceil_mode)
    ow = _out_len(x.shape[3], kw, sw, pw, dw, ceil_mode)
    return (kh, kw), (sh, sw), (ph, pw), (dh, dw), (oh, ow)


def _taps(x, fill, geometry):
    """Yields (tap values (N, C, OH, OW), the taps' input rows (OH,), columns (OW,)) for each
    tap of the window in row-major order; positions outside x read as `fill`."""
    (kh, kw), (sh, sw), (ph, pw), (dh, dw), (oh, ow) = geometry
    n, c, h, w = x.shape
    rows_needed = (oh - 1) * sh + (kh - 1) * dh + 1
    cols_needed = (ow - 1) * sw + (kw - 1) * dw + 1
    xp = np.full((n, c, max(rows_needed, h + ph), max(cols_needed, w + pw)), fill)
    xp[:, :, ph:ph + h, pw:pw + w] = x
    for i in range(kh):
        for j in range(kw):
            rows = np.arange(oh) * sh + i * dh - ph
            cols = np.arange(ow) * sw + j * dw - pw
            values = xp[:, :, i * dh:i * dh + sh * (oh - 1) + 1:sh, j * dw:j * dw + sw * (ow - 1) + 1:sw]
            yield values, rows, cols


def max_pool2d(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    """out[n, c, i, j] = max over taps (p, q) inside x of x[n, c, i*sh - ph + p*dh, j*sw - pw + q*dw];
    NaN if any tap is NaN. indices: the flat position (row * W + col) of the first maximum in
    row-major tap order, or of the last NaN."""
    x = np.asarray(x, dtype=np.float64)
    geometry = _window_geometry(x, kernel_size, stride, padding, dilation, ceil_mode)
    oh, ow = geometry[-1]
    h, w = x.shape[2:]
    best = np.full(x.shape[:2] + (oh, ow), -np.inf)
    index = np.full(best.shape, -1, dtype=np.int64)
    for values, rows, cols in _taps(x, -np.inf, geometry):
        inside = ((rows >= 0) & (rows < h))[:, None] & ((cols >= 0) & (cols < w))[None, :]
        position = rows[:, None] * w + cols[None, :]
        index = np.where((index < 0) & inside, position, index)  # the first tap inside x
        take = inside & ((values > best) | np.isnan(values))
        best = np.where(take, values, best)
        index = np.where(take, position, index)
    return (best, index) if return_indices else best


def avg_pool2d(x, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
               divisor_override=None):
    """out[n, c, i, j] = sum of the window's taps inside x, divided by divisor_override, or
    by the number of taps inside the padded input (count_include_pad) or inside x."""
    x = np.asarray(x, dtype=np.float64)
    geometry = _window_geometry(x, kernel_size, stride, padding, 1, ceil_mode)
    (ph, pw), (oh, ow) = geometry[2], geometry[4]
    h, w = x.shape[2:]
    total = np.zeros(x.shape[:2] + (oh, ow))
    count = np.zeros((oh, ow))
    lo_h, hi_h, lo_w, hi_w = (-ph, h + ph, -pw, w + pw) if count_include_pad else (0, h, 0, w)
    for values, rows, cols in _taps(x, 0.0, geometry):
        total += values
        count += ((rows >= lo_h) & (rows < hi_h))[:, None] & ((cols >= lo_w) & (cols < hi_w))[None, :]
    return total / (count if divisor_override is None else divisor_override)


def adaptive_avg_pool2d(x, output_size):
    """out[n, c, i, j] = mean of x[n, c, floor(i*H/OH):ceil((i+1)*H/OH), floor(j*W/OW):ceil((j+1)*W/OW)]."""
    x = np.asarray(x, dtype=np.float64)
    n, c, h, w = x.shape
    oh, ow = _pair(output_size)
    oh, ow = h if oh is None else oh, w if ow is None else ow
    out = np.empty((n, c, oh, ow))
    for i in range(oh):
        for j in range(ow):
            r0, r1 = (i * h) // oh, -(-((i + 1) * h) // oh)
            c0, c1 = (j * w) // ow, -(-((j + 1) * w) // ow)
            out[:, :, i, j] = x[:, :, r0:r1, c0:c1].mean(axis=(2, 3))
    return out


def global_avg_pool2d(x):
    """The mean of each (H, W) plane, shape (N, C, 1, 1)."""
    return np.asarray(x, dtype=np.float64).mean(axis=(2, 3), keepdims=True)


def global_max_pool2d(x):
    """The maximum of each (H, W) plane (NaN if it holds one), shape (N, C, 1, 1)."""
    return np.asarray(x, dtype=np.float64).max(axis=(2, 3), keepdims=True)
