"""`python -m fastconv`: runs a small CNN through fastconv, checks every layer against
fastconv.reference, and prints how long each layer took and the speed-up over NumPy."""
import argparse
import time

import numpy as np

import fastconv
from fastconv import reference

# A ResNet-style stem and block, an Inception-style factorized pair, a MobileNet-style
# depthwise + pointwise pair, a grouped layer, pooling and a head: realistic layer shapes
# at a small input size. Conv layers: ("conv", name, out_channels, kernel, stride, padding,
# groups ("depthwise": one per channel), activation, residual_from); pools: ("pool", name, op, args).
LAYERS = [
    ("conv", "stem 7x7/2", 32, (7, 7), 2, 3, 1, "relu", None),
    ("pool", "maxpool 3x3/2", "max_pool2d", dict(kernel_size=3, stride=2, padding=1)),
    ("conv", "3x3", 32, (3, 3), 1, 1, 1, "relu", None),
    ("conv", "3x3 + residual", 32, (3, 3), 1, 1, 1, "relu", "maxpool 3x3/2"),
    ("conv", "3x3/2", 64, (3, 3), 2, 1, 1, "relu", None),
    ("conv", "1x7", 64, (1, 7), 1, (0, 3), 1, "relu", None),
    ("conv", "7x1", 64, (7, 1), 1, (3, 0), 1, "relu", None),
    ("conv", "depthwise 3x3", 64, (3, 3), 1, 1, "depthwise", "relu6", None),
    ("conv", "pointwise 1x1", 128, (1, 1), 1, 0, 1, "relu6", None),
    ("conv", "3x3 groups=4", 128, (3, 3), 1, 1, 4, "relu", None),
    ("pool", "global avgpool", "global_avg_pool2d", {}),
]


def best_time(fn, repeats):
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def layer_functions(spec, x, rng, outputs):
    """(fastconv call, reference call, FLOPs or None) of one layer on input x."""
    if spec[0] == "pool":
        _, _, op, kwargs = spec
        return (lambda: getattr(fastconv, op)(x, **kwargs)), (lambda: getattr(reference, op)(x, **kwargs)), None
    _, _, cout, kernel, stride, padding, groups, activation, residual_from = spec
    groups = x.shape[1] if groups == "depthwise" else groups
    fan_in = x.shape[1] // groups * kernel[0] * kernel[1]
    w = (rng.standard_normal((cout, x.shape[1] // groups, *kernel)) / np.sqrt(fan_in)).astype(np.float32)
    b = rng.standard_normal(cout).astype(np.float32) * 0.1
    kwargs = dict(stride=stride, padding=padding, groups=groups, activation=activation,
                  residual=outputs.get(residual_from))
    return (lambda: fastconv.conv2d(x, w, b, **kwargs)), (lambda: reference.conv2d(x, w, b, **kwargs)), fan_in * 2


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
    for spec in LAYERS:
        name = spec[1]
        fast_call, reference_call, flops_per_output = layer_functions(spec, x, rng, outputs)
        y = fast_call()
        expected = reference_call()
        error = float(np.abs(y - expected).max() / max(np.abs(expected).max(), 1e-30))
        worst = max(worst, error)
        fast = best_time(fast_call, args.repeats)
        slow = best_time(reference_call, max(1, args.repeats // 4))
        rate = f"{flops_per_output * y.size / fast / 1e9:.1f}" if flops_per_output else "-"
        rows.append((name, f"{x.shape[1]}->{y.shape[1]} @{x.shape[2]}x{x.shape[3]}", fast, rate, slow, error))
        outputs[name] = y
        x = y

    print(f"\n{'layer':<16}{'shape':<18}{'fastconv ms':>12}{'GFLOP/s':>9}{'numpy ms':>10}{'speed-up':>10}{'rel. error':>12}")
    for name, shape, fast, rate, slow, error in rows:
        print(f"{name:<16}{shape:<18}{fast * 1e3:>12.3f}{rate:>9}{slow * 1e3:>10.2f}{slow / fast:>9.1f}x{error:>12.1e}")
    total_fast, total_slow = sum(r[2] for r in rows), sum(r[4] for r in rows)
    print(f"{'total':<34}{total_fast * 1e3:>12.3f}{'':>9}{total_slow * 1e3:>10.2f}{total_slow / total_fast:>9.1f}x")
    ok = worst <= 1e-5
    print(f"\nall layers match the float64 reference (worst relative error {worst:.1e}): {'yes' if ok else 'NO'}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
