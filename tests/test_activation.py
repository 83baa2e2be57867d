"""relu, relu6, leaky_relu, prelu against the reference, under every ISA."""
import numpy as np
import pytest

import fastconv
from fastconv import reference
from conftest import assert_close

SHAPES = [(0,), (1,), (17,), (3, 5), (2, 3, 4, 5), (1, 16, 33, 1), (2, 5, 130, 131)]


def make(shape, dtype=np.float32, seed=0):
    return (np.random.default_rng(seed).standard_normal(shape) * 5).astype(dtype)


@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("op,args", [("relu", ()), ("relu6", ()), ("leaky_relu", (0.2,)), ("leaky_relu", ())],
                         ids=["relu", "relu6", "leaky0.2", "leaky-default"])
def test_matches_reference(isa, shape, dtype, op, args):
    x = make(shape, dtype)
    result = getattr(fastconv, op)(x, *args)
    assert result.dtype == dtype and result.shape == x.shape
    assert_close(result, getattr(reference, op)(x, *args), dtype)


@pytest.mark.parametrize("shape", [(2, 3, 4, 5), (1, 7, 9), (4, 1), (3,)], ids=str)
@pytest.mark.parametrize("per_channel", [False, True])
def test_prelu(isa, shape, per_channel):
    x = make(shape)
    channels = shape[1] if len(shape) >= 2 else 1
    alpha = np.linspace(-0.5, 0.7, channels) if per_channel else 0.25
    assert_close(fastconv.prelu(x, alpha), reference.prelu(x, alpha), np.float32)


def test_in_place_and_out(isa):
    x = make((2, 3, 8, 8))
    expected = reference.relu6(x)
    y = x.copy()
    assert fastconv.relu6(y, out=y) is y
    assert_close(y, expected, np.float32)
    out = np.full((2, 3, 8, 8), np.nan, np.float32)
    assert fastconv.relu6(x, out=out) is out
    assert_close(out, expected, np.float32)
    strided = np.full((2, 3, 8, 16), np.nan, np.float32)[..., ::2]
    fastconv.relu6(x, out=strided)
    assert_close(strided, expected, np.float32)


def test_non_contiguous_big_endian_and_integer_input():
    base = make((3, 4, 10))
    assert_close(fastconv.relu(base[:, ::2, ::3]), reference.relu(base[:, ::2, ::3]), np.float32)
    assert_close(fastconv.relu(base.astype(">f8")), reference.relu(base), np.float64)
    ints = np.arange(-5, 5, dtype=np.int16)
    result = fastconv.leaky_relu(ints, 0.5)
    assert result.dtype == np.float32 and result.tolist() == [-2.5, -2, -1.5, -1, -0.5, 0, 1, 2, 3, 4]


def test_nan_and_inf():
    x = np.array([np.nan, -np.inf, np.inf, -1.0, 7.0], np.float32)
    np.testing.assert_array_equal(fastconv.relu(x), [np.nan, 0, np.inf, 0, 7])
    np.testing.assert_array_equal(fastconv.relu6(x), [np.nan, 0, 6, 0, 6])
    np.testing.assert_array_equal(fastconv.leaky_relu(x, 0.5), [np.nan, -np.inf, np.inf, -0.5, 7])


@pytest.mark.parametrize("call,error,words", [
    (lambda: fastconv.relu(np.zeros(3, np.complex64)), TypeError, "x must be an array of real numbers"),
    (lambda: fastconv.relu(np.zeros(3, np.float32), out=np.zeros(4, np.float32)), ValueError, "out must have shape"),
    (lambda: fastconv.relu(np.zeros(3, np.float32), out=np.zeros(3)), TypeError, "out must have dtype float32"),
    (lambda: fastconv.relu(np.zeros(3, np.float32), out=[0, 0, 0]), TypeError, "out must be a numpy.ndarray"),
    (lambda: fastconv.leaky_relu(np.zeros(3), "a"), TypeError, "negative_slope must be a real number"),
    (lambda: fastconv.prelu(np.zeros((2, 3, 4)), np.ones(2)), ValueError, "alpha must have 1 or 3"),
])
def test_errors(call, error, words):
    with pytest.raises(error) as info:
        call()
    assert words in str(info.value)


def test_read_only_out():
    out = np.zeros(3, np.float32)
    out.flags.writeable = False
    with pytest.raises(ValueError, match="out is read-only"):
        fastconv.relu(np.zeros(3, np.float32), out=out)
