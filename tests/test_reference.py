"""The reference itself, against literal loops on tiny shapes."""
import itertools

import numpy as np
import pytest

from fastconv import reference


def conv2d_loops(x, w, b, stride, pads, dilation, groups):
    n, cin, h, wd = x.shape
    cout, cin_g, kh, kw = w.shape
    (sh, sw), (dh, dw), (top, bottom, left, right) = stride, dilation, pads
    oh = (h + top + bottom - dh * (kh - 1) - 1) // sh + 1
    ow = (wd + left + right - dw * (kw - 1) - 1) // sw + 1
    out = np.zeros((n, cout, oh, ow))
    for i, o, y, z in itertools.product(range(n), range(cout), range(oh), range(ow)):
        g = o // (cout // groups)
        total = b[o]
        for c, p, q in itertools.product(range(cin_g), range(kh), range(kw)):
            iy, iz = y * sh + p * dh - top, z * sw + q * dw - left
            if 0 <= iy < h and 0 <= iz < wd:
                total += x[i, g * cin_g + c, iy, iz] * w[o, c, p, q]
        out[i, o, y, z] = total
    return out


@pytest.mark.parametrize("stride,pads,dilation,groups", [
    ((1, 1), (0, 0, 0, 0), (1, 1), 1),
    ((2, 1), (1, 0, 2, 1), (1, 2), 1),
    ((1, 3), (2, 2, 0, 1), (2, 1), 2),
    ((2, 2), (1, 1, 1, 1), (1, 1), 4),
])
def test_conv2d_reference_matches_loops(stride, pads, dilation, groups):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 4, 7, 6))
    w = rng.standard_normal((4, 4 // groups, 3, 2))
    b = rng.standard_normal(4)
    top, bottom, left, right = pads
    got = reference.conv2d(x, w, b, stride, ((top, bottom), (left, right)), dilation, groups)
    np.testing.assert_allclose(got, conv2d_loops(x, w, b, stride, pads, dilation, groups), rtol=1e-12, atol=1e-12)


def test_activations():
    y = np.array([[-2.0, -0.5, 0.0, 3.0, 7.0]]).reshape(1, 1, 1, 5)
    assert reference.activate(y, "relu").ravel().tolist() == [0, 0, 0, 3, 7]
    assert reference.activate(y, "relu6").ravel().tolist() == [0, 0, 0, 3, 6]
    assert reference.activate(y, ("leaky_relu", 0.5)).ravel().tolist() == [-1, -0.25, 0, 3, 7]
    assert reference.activate(y, ("clamp", (-1, 4))).ravel().tolist() == [-1, -0.5, 0, 3, 4]


@pytest.mark.parametrize("weight_shape,dilation", [((4, 2, 9, 1), 1), ((4, 2, 3, 3), 5)])
def test_conv2d_reference_rejects_a_kernel_larger_than_the_input(weight_shape, dilation):
    """As fastconv.conv2d: an error (not an empty result, nor numpy's error on a negative size)."""
    with pytest.raises(ValueError, match="larger than the padded input"):
        reference.conv2d(np.zeros((1, 2, 7, 7)), np.zeros(weight_shape), padding=((0, 1), (0, 0)),
                         dilation=dilation)
