"""Every bad argument of conv2d raises a clear ValueError/TypeError naming it."""
import numpy as np
import pytest

import fastconv

X = np.zeros((2, 4, 8, 8), np.float32)
W = np.zeros((6, 4, 3, 3), np.float32)


def call(**changes):
    args = dict(x=X, weight=W)
    args.update(changes)
    return fastconv.conv2d(**args)


@pytest.mark.parametrize("changes,error,words", [
    (dict(x=np.zeros((4, 8, 8), np.float32)), ValueError, "x must be 4-dimensional"),
    (dict(weight=np.zeros((6, 4, 3), np.float32)), ValueError, "weight must be 4-dimensional"),
    (dict(weight=np.zeros((6, 3, 3, 3), np.float32)), ValueError, "weight must have"),
    (dict(groups=3), ValueError, "groups=3 must divide"),
    (dict(groups=0), ValueError, "groups must be >= 1"),
    (dict(groups=2.0), TypeError, "groups must be an int"),
    (dict(stride=0), ValueError, "stride must be >= 1"),
    (dict(stride=(1, -2)), ValueError, "stride must be >= 1"),
    (dict(stride=(1, 2, 3)), ValueError, "stride must be an int or a pair"),
    (dict(stride=1.5), TypeError, "stride must be an int"),
    (dict(stride=True), TypeError, "stride must be an int"),
    (dict(dilation=0), ValueError, "dilation must be >= 1"),
    (dict(padding=-1), ValueError, "padding must be >= 0"),
    (dict(padding=((0, -1), (0, 0))), ValueError, "padding must be >= 0"),
    (dict(padding="full"), ValueError, "padding must be"),
    (dict(padding="same", stride=2), ValueError, "'same' needs stride 1"),
    (dict(weight=np.zeros((6, 4, 9, 3), np.float32)), ValueError, "larger than the padded input"),
    (dict(dilation=5), ValueError, "larger than the padded input"),
    (dict(bias=np.zeros(5, np.float32)), ValueError, "bias must have shape (6,)"),
    (dict(bias=np.zeros((6, 1), np.float32)), ValueError, "bias must be 1-dimensional"),
    (dict(x=X.astype(np.complex64)), TypeError, "x must be an array of real numbers"),
    (dict(x=X.astype(bool)), TypeError, "x must be an array of real numbers"),
    (dict(x=X.astype(object)), TypeError, "x must be an array of real numbers"),
    (dict(x=np.full((1, 4, 8, 8), "a")), TypeError, "x must be an array of real numbers"),
    (dict(weight=W.astype(np.complex128)), TypeError, "weight must be an array of real numbers"),
    (dict(x=None), TypeError, "x must be an array"),
    (dict(x=[[1, 2], [3]]), TypeError, "x could not be converted"),
    (dict(x=np.zeros((2, 0, 8, 8), np.float32), weight=np.zeros((6, 0, 3, 3), np.float32)), ValueError,
     "at least one channel"),
    (dict(weight=np.zeros((6, 4, 0, 3), np.float32)), ValueError, "non-empty kernel"),
    (dict(padding=2**40), ValueError, "padding is too large"),
    (dict(padding=2**30, x=np.zeros((64, 4, 1, 1), np.float32), weight=np.zeros((4096, 4, 1, 1), np.float32)),
     ValueError, "the output would have"),
    (dict(activation="gelu"), ValueError, "activation 'gelu' is not one of"),
    (dict(activation=3), TypeError, "activation must be"),
    (dict(activation=("prelu", np.zeros(5))), ValueError, "one per output channel"),
    (dict(activation=("clamp", (1, 0))), ValueError, "low <= high"),
    (dict(activation=("leaky_relu", "x")), TypeError, "activation slope must be a real number"),
    (dict(residual=np.zeros((2, 6, 5, 5), np.float32)), ValueError, "residual must have the output's shape"),
])
def test_bad_arguments(changes, error, words):
    with pytest.raises(error, match=None) as info:
        call(**changes)
    assert words in str(info.value)


OUT_SHAPE = (2, 6, 6, 6)


@pytest.mark.parametrize("out,error,words", [
    (np.zeros(OUT_SHAPE, np.float64), TypeError, "out must have dtype float32"),
    (np.zeros((2, 6, 6, 5), np.float32), ValueError, "out must have shape"),
    (np.zeros(OUT_SHAPE, np.float32).tolist(), TypeError, "out must be a numpy.ndarray"),
    (np.zeros((2, 6, 6, 12), np.float32)[..., ::2], ValueError, "C-contiguous (H, W) planes"),
    (np.zeros((2, 6, 6, 6), np.float32).transpose(0, 1, 3, 2), ValueError, "C-contiguous (H, W) planes"),
    (np.broadcast_to(np.zeros((1, 6, 6, 6), np.float32), OUT_SHAPE), ValueError, "read-only"),
    (np.zeros(OUT_SHAPE, ">f4"), TypeError, "out must have dtype"),
])
def test_bad_out(out, error, words):
    with pytest.raises(error) as info:
        call(out=out)
    assert words in str(info.value)


def test_out_read_only():
    out = np.zeros(OUT_SHAPE, np.float32)
    out.flags.writeable = False
    with pytest.raises(ValueError, match="out is read-only"):
        call(out=out)


def test_out_with_overlapping_planes():
    out = np.lib.stride_tricks.as_strided(np.zeros(400, np.float32), OUT_SHAPE, (0, 4 * 36, 24, 4))
    with pytest.raises(ValueError, match="do not overlap"):
        call(out=out)


def test_out_overlapping_input():
    buf = np.zeros((1, 6, 8, 8), np.float32)  # batch 1: x = buf[:, :4] is used without a copy
    with pytest.raises(ValueError, match="out must not overlap x"):
        fastconv.conv2d(buf[:, :4], np.zeros((2, 4, 1, 1), np.float32), out=buf[:, 3:5])
    x = np.zeros((1, 2, 6, 6), np.float32)
    with pytest.raises(ValueError, match="out must not overlap x"):
        fastconv.conv2d(x, np.zeros((2, 2, 1, 1), np.float32), out=x)
    out = np.zeros((1, 2, 6, 6), np.float32)  # out owns its memory, x is a view of it
    with pytest.raises(ValueError, match="out must not overlap x"):
        fastconv.conv2d(out[:, :1], np.zeros((2, 1, 1, 1), np.float32), out=out)


@pytest.mark.parametrize("changes", [dict(stride=True), dict(stride=1.0), dict(groups=1.0), dict(groups=True),
                                     dict(padding=(False, 0)), dict(dilation=(1, 1.0))])
def test_cached_shape_math_does_not_accept_equal_hashing_arguments(changes):
    """1, 1.0 and True hash alike: a cached valid call must not let them through."""
    call(stride=1, padding=0, dilation=1, groups=1)
    call(stride=1, padding=0, dilation=1, groups=1)
    with pytest.raises(TypeError):
        call(**changes)
