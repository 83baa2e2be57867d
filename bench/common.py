"""What every benchmark module shares: thread settings for every implementation, and how a
result is recorded so that bench/compare.py can turn one run into a table of ratios.

Conventions (bench/compare.py relies on them):
- one benchmark = one (shape, implementation); ``benchmark.group`` names the shape, e.g.
  ``"conv resnet18 3x3 64->64 @56"``; its first word is the family (``conv``, ``pool``,
  ``conv-float64``, ...), and compare.py prints one table per family;
- ``record(..., impl=...)`` names the implementation (``fastconv``, ``reference``,
  ``numpy-im2col``, ``torch``, ``onnxruntime``, ...);
- ``flops`` (floating-point operations) or ``nbytes`` (bytes read + written) per call,
  so the table can show GFLOP/s or GB/s;
- each peer's output is checked against fastconv's (``assert_close``) before it is timed,
  so that a broken peer setup cannot show up as a win;
- peers that are not installed are skipped, never faked.
"""
import os
import warnings

import numpy as np
import pytest

import fastconv

THREADS = int(os.environ.get("FASTCONV_BENCH_THREADS", "1"))


def optional(module_name):
    """The peer module, or a pytest skip if it is not installed."""
    return pytest.importorskip(module_name)


def set_threads(n=THREADS):
    """Give fastconv, NumPy's BLAS and torch (when loaded) the same thread count."""
    fastconv.set_num_threads(n)
    try:
        import threadpoolctl

        threadpoolctl.threadpool_limits(n, user_api="blas")
    except ImportError:  # bench/compare.py still sets the BLAS's thread variables
        warnings.warn("threadpoolctl is not installed: NumPy's BLAS may use more threads than the others")
    import sys

    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(n)


def ort_session(model_bytes, threads=THREADS):
    """An onnxruntime CPU session of a serialized model, with ``threads`` intra-op threads."""
    ort = optional("onnxruntime")
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    return ort.InferenceSession(model_bytes, options, providers=["CPUExecutionProvider"])


def load_average():
    """The machine's 1-minute load average, or None where the OS has none: on a shared
    machine, it tells whether the threads had their cores while a benchmark ran."""
    return round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None


def record(benchmark, fn, *, impl, group, flops=None, nbytes=None, rounds=None):
    """Times ``fn`` and stores what compare.py needs; returns fn's result."""
    benchmark.group = group
    benchmark.extra_info.update(impl=impl, flops=flops, nbytes=nbytes, threads=THREADS,
                                load_average=load_average())
    if rounds is None:
        return benchmark(fn)
    return benchmark.pedantic(fn, rounds=rounds, warmup_rounds=1)


def random_array(shape, dtype=np.float32, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


# Tolerance of each dtype: max |result - expected| relative to max |expected|. Loose enough
# for float32 sums of a few thousand products in any order, tight enough to catch a wrong
# padding, stride or weight layout.
TOLERANCE = {np.dtype(np.float32): 1e-4, np.dtype(np.float64): 1e-10}


def assert_close(result, expected, dtype):
    """Raises AssertionError unless ``result`` matches ``expected`` (shape and values) to the
    tolerance of ``dtype``."""
    result = np.asarray(result, dtype=np.float64)
    expected = np.asarray(expected, dtype=np.float64)
    tolerance = TOLERANCE[np.dtype(dtype)]
    scale = np.abs(expected).max(initial=0.0)
    np.testing.assert_allclose(result, expected, rtol=tolerance, atol=tolerance * scale)
