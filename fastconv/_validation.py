"""Argument checking and casting shared by every public op.

Every error names the argument it is about; nothing that reaches the compiled layer can
make it read or write out of bounds.
"""
import functools
import operator

import numpy as np

# No size, padding, stride or dilation may exceed this, so that no product of two of them
# (as the C layer forms) overflows 64 bits, and no array the C layer indexes is larger
# than any machine can hold.
MAX_DIM = 2**31 - 1
MAX_ELEMENTS = 2**48

_NATIVE_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))  # compute dtypes, native byte order

_TooHardError = getattr(getattr(np, "exceptions", np), "TooHardError")


def compute_dtype(dtype, argname):
    """The dtype an op computes and returns in for inputs of ``dtype``.

    float32 and float64 stay as they are; float16 and integers compute in float32 and
    other real floats (longdouble) in float64. Complex, bool, object, string, datetime
    and structured dtypes raise TypeError.
    """
    dtype = np.dtype(dtype)
    if dtype.kind == "f":
        if dtype.itemsize <= 4:
            return np.dtype(np.float32)
        return np.dtype(np.float64)
    if dtype.kind in "iu":
        return np.dtype(np.float32)
    raise TypeError(f"{argname} must be an array of real numbers, got dtype {dtype}")


def as_input(a, argname, ndim=None, dtype=None):
    """``a`` as a C-contiguous, native-byte-order array of ``dtype`` (default: its own
    compute dtype), copying only when needed."""
    if type(a) is np.ndarray:
        kind = a.dtype  # read once, and compared by identity first: each costs a C-level call
        if (kind in _NATIVE_FLOATS and (dtype is None or kind is dtype or kind == dtype)
                and (ndim is None or a.ndim == ndim) and a.flags.c_contiguous):
            return a  # the usual case, decided in a fraction of the checks below
    if a is None:
        raise TypeError(f"{argname} must be an array, got None")
    if isinstance(a, np.ndarray):
        array = a
    else:
        try:
            array = np.asarray(a)
        except Exception as exc:  # ragged lists and the like
            raise TypeError(f"{argname} could not be converted to an array: {exc}") from None
    target = compute_dtype(array.dtype, argname)
    if dtype is not None:
        target = np.dtype(dtype)
    if ndim is not None and array.ndim != ndim:
        raise ValueError(f"{argname} must be {ndim}-dimensional, got shape {array.shape}")
    if array.size > MAX_ELEMENTS:
        raise ValueError(f"{argname} is too large ({array.size} elements)")
    return np.ascontiguousarray(array, dtype=target.newbyteorder("="))


def int_pair(value, argname, minimum):
    """An int or a pair of ints, each >= minimum, as a tuple (h, w)."""
    if isinstance(value, (tuple, list)):
        if len(value) != 2:
            raise ValueError(f"{argname} must be an int or a pair of ints, got {value!r}")
        pair = tuple(value)
    else:
        pair = (value, value)
    out = []
    for v in pair:
        if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, np.integer)):
            raise TypeError(f"{argname} must be an int or a pair of ints, got {value!r}")
        v = operator.index(v)
        if v < minimum:
            raise ValueError(f"{argname} must be >= {minimum}, got {value!r}")
        if v > MAX_DIM:
            raise ValueError(f"{argname} is too large: {value!r}")
        out.append(v)
    return tuple(out)


def padding_amounts(padding, kernel_extent, stride, argname="padding"):
    """(top, bottom, left, right) from an int, (ph, pw), ((top, bottom), (left, right)),
    'valid' or 'same'. ``kernel_extent`` is the dilated kernel size (h, w)."""
    if isinstance(padding, str):
        mode = padding.lower()
        if mode == "valid":
            return (0, 0, 0, 0)
        if mode == "same":
            if stride != (1, 1):
                raise ValueError(f"{argname}='same' needs stride 1, got stride {stride}")
            # Like ONNX SAME_UPPER: an odd total puts the extra row/column at the end.
            (th, tw) = (kernel_extent[0] - 1, kernel_extent[1] - 1)
            return (th // 2, th - th // 2, tw // 2, tw - tw // 2)
        raise ValueError(f"{argname} must be an int, a pair, a pair of pairs, 'valid' or 'same', got {padding!r}")
    if isinstance(padding, (tuple, list)) and len(padding) == 2 and all(
            isinstance(p, (tuple, list)) for p in padding):
        top, bottom = int_pair(padding[0], argname, 0)
        left, right = int_pair(padding[1], argname, 0)
        return (top, bottom, left, right)
    ph, pw = int_pair(padding, argname, 0)
    return (ph, ph, pw, pw)


def output_size(size, pad_before, pad_after, kernel_extent, stride, argname, ceil_mode=False):
    """Output length of a sliding window along one axis; raises if the window does not fit."""
    span = size + pad_before + pad_after - kernel_extent
    if span < 0:
        raise ValueError(f"{argname}: the kernel (extent {kernel_extent} with dilation) is larger than the "
                         f"padded input ({size} + {pad_before} + {pad_after})")
    return (-(-span // stride) if ceil_mode else span // stride) + 1


def check_out(out, shape, dtype, inputs, names, argname="out"):
    """Checks a caller-provided output: an ndarray of the exact shape and dtype (a native
    one: the result's), writable, rows of each (n, c) plane contiguous, planes not
    overlapping each other or the arrays of ``inputs`` (a tuple of arrays or None, named in
    the errors by ``names``). Returns it unchanged (the kernels write through its strides).
    Small layers take a few microseconds, so the usual case (an array of its own, inputs of
    their own) is decided in few lookups: the names, needed by an error only, are not
    walked with the arrays."""
    if not isinstance(out, np.ndarray):
        raise TypeError(f"{argname} must be a numpy.ndarray, got {type(out).__name__}")
    if out.dtype != dtype:  # dtype is native: so is an equal one
        raise TypeError(f"{argname} must have dtype {dtype} (the result's), got {out.dtype}")
    if out.shape != shape and out.shape != tuple(shape):
        raise ValueError(f"{argname} must have shape {tuple(shape)}, got {out.shape}")
    flags = out.flags
    if not flags.writeable:
        raise ValueError(f"{argname} is read-only")
    if not flags.c_contiguous and out.size and not _planes_laid_out(out.strides, *out.shape, out.itemsize):
        raise ValueError(f"{argname} must have C-contiguous (H, W) planes that do not overlap "
                         f"(e.g. an array or a channel slice buf[:, c0:c1]); got strides {out.strides}")
    owns = flags.owndata
    for a in inputs:
        if a is None or (owns and a is not out and a.flags.owndata):
            continue  # two allocations of their own are apart: the usual case
        if a is out or _overlaps(out, a):
            name = next(n for n, b in zip(names, inputs) if b is a)
            raise ValueError(f"{argname} must not overlap {name}")
    return out


def _planes_laid_out(strides, n, c, h, w, isz):
    sn, sc, sh, sw = strides
    if (w > 1 and sw != isz) or (h > 1 and sh != w * isz):
        return False
    if sn % isz or sc % isz:
        return False
    plane = h * w * isz
    if c > 1 and sc < plane:
        return False
    return n <= 1 or sn >= max(plane, sc * (c - 1) + plane)


def _overlaps(a, b):
    if not np.may_share_memory(a, b):  # bounds only: cheap, and the usual answer
        return False
    try:
        return np.shares_memory(a, b, max_work=10_000)
    except _TooHardError:
        return True


def check_product(values, argname):
    """Raises ValueError if the product of ``values`` exceeds MAX_ELEMENTS."""
    total = 1
    for v in values:
        total *= int(v)
    if total > MAX_ELEMENTS:
        raise ValueError(f"{argname} would have {total} elements, more than fastconv supports")
    return total


# Argument sets remembered per cached function: a network's layers, with room to spare.
ARGUMENT_CACHE_SIZE = 256


def _typed(value):
    """``value`` with the types of it and its elements, so that cache keys are equal only for
    equal types: 2 and 2.0, or 1 and True, hash alike but are not the same argument."""
    kind = type(value)
    if kind is tuple or kind is list:
        return (kind,) + tuple(map(_typed, value))
    return (kind, value)


_SCALAR_TYPES = frozenset((int, float, bool, str, type(None)))


def cached_by_arguments(shape_arguments):
    """Memoizes a pure function of its (hashable) arguments, such as the shape math of a
    layer, so that a network's repeated calls skip the checks (microseconds: as long as a
    small layer itself). Its first ``shape_arguments`` arguments must be array shapes
    (tuples of ints); the rest are keyed with their types, cheaply when all are scalars,
    and not at all when all are plain ints (the arguments are then the key: a typed key is
    the pair (args, types), equal to no arguments tuple). Unhashable arguments are checked
    afresh; errors are not cached."""

    def decorate(function):
        cache = {}

        @functools.wraps(function)
        def cached(*args):
            rest = args[shape_arguments:]
            for value in rest:
                if value.__class__ is not int:
                    types = tuple(map(type, rest))
                    if not _SCALAR_TYPES.issuperset(types):
                        types = tuple(map(_typed, rest))
                    key = (args, types)
                    break
            else:
                key = args  # all plain ints: the usual case
            try:
                return cache[key]
            except TypeError:
                return function(*args)
            except KeyError:
                pass
            result = function(*args)
            if len(cache) >= ARGUMENT_CACHE_SIZE:
                cache.clear()
            cache[key] = result
            return result

        return cached

    return decorate
