"""The benchmarks' peer implementations (bench/baselines.py) against fastconv.reference, so a
benchmark never compares fastconv with a wrong answer. torch and onnxruntime are skipped
when they are not installed."""
import sys
from pathlib import Path

import numpy as np
import pytest

import fastconv

# bench/ modules import each other as top-level modules, as under bench/conftest.py.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
import baselines  # noqa: E402
from common import assert_close  # noqa: E402

CONFIGS = {
    # name: (x shape, weight shape, conv2d keyword arguments)
    "3x3-pad1": ((1, 3, 8, 8), (4, 3, 3, 3), dict(stride=1, padding=1, dilation=1, groups=1)),
    "1x1-stride2": ((2, 8, 9, 9), (5, 8, 1, 1), dict(stride=2, padding=0, dilation=1, groups=1)),
    "1x7-pad0x3": ((1, 4, 7, 9), (6, 4, 1, 7), dict(stride=1, padding=(0, 3), dilation=1, groups=1)),
    "5x2-stride2x1-dilation1x2": ((2, 3, 13, 11), (4, 3, 5, 2),
                                  dict(stride=(2, 1), padding=(2, 1), dilation=(1, 2), groups=1)),
    "3x1-groups3-pad-per-side": ((1, 6, 10, 7), (9, 2, 3, 1),
                                 dict(stride=2, padding=((0, 1), (2, 0)), dilation=1, groups=3)),
    "3x3-depthwise": ((2, 4, 6, 6), (4, 1, 3, 3), dict(stride=1, padding=1, dilation=2, groups=4)),
}
PEERS = [impl for impl in baselines.IMPLEMENTATIONS if impl != "reference"]


def _operands(x_shape, weight_shape, dtype):
    rng = np.random.default_rng(7)
    return (rng.standard_normal(x_shape).astype(dtype), rng.standard_normal(weight_shape).astype(dtype),
            rng.standard_normal(weight_shape[0]).astype(dtype))


@pytest.mark.parametrize("config", CONFIGS.values(), ids=CONFIGS.keys())
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
def test_numpy_im2col_matches_reference(config, dtype):
    x_shape, weight_shape, kwargs = config
    x, weight, bias = _operands(x_shape, weight_shape, dtype)
    result = baselines.numpy_im2col_conv2d(x, weight, bias, **kwargs)
    assert result.dtype == dtype
    assert_close(result, fastconv.reference.conv2d(x, weight, bias, **kwargs), dtype)


@pytest.mark.parametrize("config", CONFIGS.values(), ids=CONFIGS.keys())
@pytest.mark.parametrize("impl", PEERS)
def test_peer_matches_reference(impl, config):
    x_shape, weight_shape, kwargs = config
    x, weight, bias = _operands(x_shape, weight_shape, np.float32)
    run = baselines.IMPLEMENTATIONS[impl](x, weight, bias, **kwargs)  # skips an absent peer
    assert_close(run(), fastconv.reference.conv2d(x, weight, bias, **kwargs), np.float32)


def test_padding_per_side():
    assert baselines.padding_per_side(2) == (2, 2, 2, 2)
    assert baselines.padding_per_side((0, 3)) == (0, 0, 3, 3)
    assert baselines.padding_per_side(((1, 2), (3, 4))) == (1, 2, 3, 4)
