"""Dense conv2d on real networks' layers: fastconv against NumPy im2col, torch, onnxruntime
and (small layers only) fastconv.reference. One benchmark per (layer, implementation),
grouped by layer; see bench/README.md.
"""
import functools

import numpy as np
import pytest

import common
from baselines import IMPLEMENTATIONS
from shapes import CONV_SHAPES, CONV_SHAPES_FLOAT64

FLOAT32_IMPLS = ("fastconv", "fastconv-plan", "numpy-im2col", "torch", "onnxruntime", "reference")
FLOAT64_IMPLS = ("fastconv", "numpy-im2col")  # torch and onnxruntime convs are float32 on CPU here

# The reference loops in float64 over the kernel taps (~5 GFLOP/s at best): timing it on
# big layers would only make the run long.
REFERENCE_MAX_FLOPS = 25e6


def cases(shapes, impls):
    """pytest params (shape, impl), ordered by shape so one layer's peers run back to back."""
    return [pytest.param(shape, impl, id=f"{shape.name}-{impl}")
            for shape in shapes for impl in impls
            if impl != "reference" or shape.flops <= REFERENCE_MAX_FLOPS]


@functools.lru_cache(maxsize=1)  # tests run shape by shape: keep only the current layer's
def conv_operands(shape, dtype):
    """(x, weight, bias) of ``shape``, the same for every implementation."""
    dtype = np.dtype(dtype)
    return (common.random_array(shape.x_shape, dtype, seed=0),
            common.random_array(shape.weight_shape, dtype, seed=1),
            common.random_array((shape.out_channels,), dtype, seed=2))


@functools.lru_cache(maxsize=1)
def fastconv_output(shape, dtype):
    return IMPLEMENTATIONS["fastconv"](*conv_operands(shape, dtype), **shape.conv_kwargs)()


def bench_conv2d(benchmark, shape, impl, dtype, family):
    run = IMPLEMENTATIONS[impl](*conv_operands(shape, dtype), **shape.conv_kwargs)
    if impl != "fastconv":
        common.assert_close(run(), fastconv_output(shape, dtype), dtype)
    common.record(benchmark, run, impl=impl, group=f"{family} {shape.description}", flops=shape.flops)


@pytest.mark.parametrize("shape, impl", cases(CONV_SHAPES, FLOAT32_IMPLS))
def test_conv2d(benchmark, shape, impl):
    bench_conv2d(benchmark, shape, impl, np.float32, family="conv")


@pytest.mark.parametrize("shape, impl", cases(CONV_SHAPES_FLOAT64, FLOAT64_IMPLS))
def test_conv2d_float64(benchmark, shape, impl):
    bench_conv2d(benchmark, shape, impl, np.float64, family="conv-float64")
