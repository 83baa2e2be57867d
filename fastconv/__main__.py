"""`python -m fastconv`: runs a small CNN through fastconv, checks every layer against
fastconv.reference, and prints how long each layer took and the speed-up over NumPy."""
import argparse
import time

import numpy as np

import fastconv
from fastconv import reference

# (name, out_channels, kernel, stride, padding, groups, activation, residual_from): a
# ResNet-style stem and blocks, an Inception-style factorized pair, a grouped layer and a
# pointwise head; all realistic layer shapes at a small input size.
LAYERS = [
    ("stem 7x7/2", 32, (7, 7), 2, 3, 1, "relu", None),
    ("3x3", 32, (3, 3), 1, 1, 1, "relu", None),
    ("3x3 + residual", 32, (3, 3), 1, 1, 1, "relu", "stem 7x7/2"),
    ("3x3/2", 64, (3, 3), 2, 1, 1, "relu", None),
    ("1x7", 64, (1, 7), 1, (0, 3), 1, "relu", None),
    ("7x1", 64, (7, 1), 1, (3, 0), 1, "relu", None),
    ("3x3 groups=4", 64, (3, 3), 1, 1, 4, "relu6", None),
    ("1x1", 128, (1, 1), 1, 0, 1, None, None),
]


def best_time(fn, repeats):
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m fastconv", description=__doc__)
    parser.add_argument("--size", type=int, default=112, help="input height and width (default 112)")
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=10, help="timed calls per layer; the best is shown")
    args = parser.parse_args(argv)

    fastconv.show_config()
    rng = np.random.default_rng(0)
    x = rng.standard_normal((args.batch, 3, args.size, args.size)).astype(np.float32)
    outputs, rows, worst = {}, [], 0.0
    for name, cout, kernel, stride, padding, groups, activation, residual_from in LAYERS:
        w = (rng.standard_normal((cout, x.shape[1] // groups, *kernel)) /
             np.sqrt(x.shape[1] // groups * kernel[0] * kernel[1])).astype(np.float32)
        b = rng.standard_normal(cout).astype(np.float32) * 0.1
        residual = outputs.get(residual_from)
        kwargs = dict(stride=stride, padding=padding, groups=groups, activation=activation, residual=residual)
        y = fastconv.conv2d(x, w, b, **kwargs)
        expected = reference.conv2d(x, w, b, **kwargs)
        error = float(np.abs(y - expected).max() / max(np.abs(expected).max(), 1e-30))
        worst = max(worst, error)
        fast = best_time(lambda: fastconv.conv2d(x, w, b, **kwargs), args.repeats)
        slow = best_time(lambda: reference.conv2d(x, w, b, **kwargs), max(1, args.repeats // 2))
        flops = 2 * y.size * w[0].size
        rows.append((name, f"{x.shape[1]}->{cout} @{x.shape[2]}x{x.shape[3]}", fast, slow, flops, error))
        outputs[name] = y
        x = y

    print(f"\n{'layer':<16}{'shape':<18}{'fastconv ms':>12}{'GFLOP/s':>9}{'numpy ms':>10}{'speed-up':>10}{'rel. error':>12}")
    for name, shape, fast, slow, flops, error in rows:
        print(f"{name:<16}{shape:<18}{fast * 1e3:>12.3f}{flops / fast / 1e9:>9.1f}{slow * 1e3:>10.2f}"
              f"{slow / fast:>9.1f}x{error:>12.1e}")
    total_fast, total_slow = sum(r[2] for r in rows), sum(r[3] for r in rows)
    print(f"{'total':<34}{total_fast * 1e3:>12.3f}{'':>9}{total_slow * 1e3:>10.2f}{total_slow / total_fast:>9.1f}x")
    ok = worst <= 1e-5
    print(f"\nall layers match the float64 reference (worst relative error {worst:.1e}): {'yes' if ok else 'NO'}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
