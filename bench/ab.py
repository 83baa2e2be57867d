"""Two builds of fastconv timed against each other in one process, interleaved.

    PYTHONPATH=. python bench/ab.py /path/to/other/checkout [-k resnet18] [--functional] [--dtype float64]
                                    [--depthwise]

The other checkout must be built (``python setup.py build_ext --inplace``). Both packages
are copied under other names into a temporary directory and imported side by side; each
layer of ``shapes.CONV_SHAPES`` (or ``shapes.DEPTHWISE``) whose name contains every ``-k``
string is then timed in alternating short rounds, keeping each build's best. The VM's
bursts of slowdown hit both builds alike, which separate processes run one after the other
do not manage: ratios of 2-3 % are reproducible this way. Prints GFLOP/s per build and
this tree / other.
"""
import argparse
import importlib
import os
import shutil
import sys
import tempfile
import timeit

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import random_array  # noqa: E402
from shapes import CONV_SHAPES, DEPTHWISE  # noqa: E402

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ROUNDS = 25
ROUND_SECONDS = 0.01  # calls per round: about this long at 150 GFLOP/s


def import_copy(checkout, name, into):
    """fastconv of `checkout`, imported as `name` (its modules import each other relatively)."""
    shutil.copytree(os.path.join(checkout, "fastconv"), os.path.join(into, name),
                    ignore=shutil.ignore_patterns("__pycache__", "*.c", "*.pyx", "*.pxi"))
    return importlib.import_module(name)


def layer_call(fc, layer, x, w, functional):
    if functional:
        return lambda: fc.conv2d(x, w, **layer.conv_kwargs)
    plan = fc.Conv2d(w, **layer.conv_kwargs)
    return lambda: plan(x)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("other", help="another fastconv checkout, built in place")
    parser.add_argument("-k", action="append", default=[], help="keep layers whose name contains this")
    parser.add_argument("--functional", action="store_true", help="time conv2d calls instead of plans")
    parser.add_argument("--dtype", default="float32")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--depthwise", action="store_true", help="the depthwise layers instead")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        sys.path.insert(0, tmp)
        builds = {"this": import_copy(HERE, "fastconv_this", tmp),
                  "other": import_copy(os.path.abspath(args.other), "fastconv_other", tmp)}
        for fc in builds.values():
            fc.set_num_threads(args.threads)
        for layer in DEPTHWISE if args.depthwise else CONV_SHAPES:
            if not all(k in layer.name for k in args.k):
                continue
            x = random_array(layer.x_shape, args.dtype)
            w = random_array(layer.weight_shape, args.dtype, seed=1)
            calls = {key: layer_call(fc, layer, x, w, args.functional) for key, fc in builds.items()}
            np.testing.assert_allclose(calls["this"](), calls["other"](), rtol=1e-3, atol=1e-3)
            number = max(1, int(ROUND_SECONDS / (layer.flops / 150e9)))
            best = dict.fromkeys(calls, float("inf"))
            for _ in range(ROUNDS):
                for key, call in calls.items():
                    best[key] = min(best[key], min(timeit.repeat(call, number=number, repeat=2)) / number)
            print(f"{layer.description:40s} this {layer.flops / best['this'] / 1e9:6.1f}  "
                  f"other {layer.flops / best['other'] / 1e9:6.1f} GFLOP/s  "
                  f"this/other {best['other'] / best['this']:5.3f}", flush=True)


if __name__ == "__main__":
    main()
