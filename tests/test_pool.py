"""Pooling against the float64 reference (and torch where installed), under every ISA,
around every vector width's edge; the reference against literal loops; bad input."""
import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fastconv
from fastconv import reference
from conftest import LAYOUTS, assert_close, input_layouts, nan_filled

DTYPES = [np.float32, np.float64]
DTYPE_IDS = ["f32", "f64"]
# Widths around each ISA's vector length (1, 4/8, 8/16 lanes) and the stride-2 kernels' 2 vectors.
WIDTHS = [1, 2, 7, 15, 16, 17, 31, 33, 64, 67]


def make(shape, dtype=np.float32, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


def check(op, x, dtype=None, **kwargs):
    """Runs fastconv.<op> into a NaN-filled out= and compares with reference.<op>."""
    dtype = dtype or x.dtype
    expected = getattr(reference, op)(x, **kwargs)
    out = nan_filled(expected.shape, dtype)
    result = getattr(fastconv, op)(x, **kwargs, out=out)
    assert result is out
    assert_close(result, expected, dtype)
    return result


# ---- the reference against literal loops -----------------------------------------------------

def loop_max_pool(x, k, s, p, d, ceil_mode):
    n, c, h, w = x.shape

    def length(size, kk, ss, pp, dd):
        span = size + 2 * pp - dd * (kk - 1) - 1
        out = (-(-span // ss) if ceil_mode else span // ss) + 1
        return out - 1 if ceil_mode and (out - 1) * ss >= size + pp else out

    oh, ow = length(h, k[0], s[0], p[0], d[0]), length(w, k[1], s[1], p[1], d[1])
    out, idx = np.empty((n, c, oh, ow)), np.empty((n, c, oh, ow), np.int64)
    for b, ch, i, j in itertools.product(range(n), range(c), range(oh), range(ow)):
        best, where = -np.inf, None
        for u, v in itertools.product(range(k[0]), range(k[1])):
            r, q = i * s[0] - p[0] + u * d[0], j * s[1] - p[1] + v * d[1]
            if 0 <= r < h and 0 <= q < w:
                where = r * w + q if where is None else where
                if x[b, ch, r, q] > best or np.isnan(x[b, ch, r, q]):
                    best, where = x[b, ch, r, q], r * w + q
        out[b, ch, i, j], idx[b, ch, i, j] = best, where
    return out, idx


def loop_avg_pool(x, k, s, p, ceil_mode, count_include_pad, divisor_override):
    n, c, h, w = x.shape
    ref_out = reference.max_pool2d(x, k, s, p, 1, ceil_mode)  # only its shape is used
    out = np.empty(ref_out.shape)
    for b, ch, i, j in itertools.product(range(n), range(c), *map(range, ref_out.shape[2:])):
        total, inside, padded = 0.0, 0, 0
        for u, v in itertools.product(range(k[0]), range(k[1])):
            r, q = i * s[0] - p[0] + u, j * s[1] - p[1] + v
            if 0 <= r < h and 0 <= q < w:
                total, inside = total + x[b, ch, r, q], inside + 1
            if -p[0] <= r < h + p[0] and -p[1] <= q < w + p[1]:
                padded += 1
        out[b, ch, i, j] = total / (divisor_override or (padded if count_include_pad else inside))
    return out


@pytest.mark.parametrize("k,s,p,d,ceil_mode", [
    ((3, 3), (2, 2), (1, 1), (1, 1), False), ((2, 3), (1, 2), (1, 0), (2, 1), True),
    ((3, 2), (3, 1), (0, 1), (1, 2), True), ((1, 1), (2, 2), (0, 0), (1, 1), True)])
def test_reference_against_loops(k, s, p, d, ceil_mode):
    x = make((2, 2, 5, 7), np.float64)
    x[0, 0, 1, 2] = np.nan
    x[1, 1] = -np.inf
    x[1, 0, 2, :3] = x[1, 0, 2, 3]  # ties: the first one's index wins
    out, idx = reference.max_pool2d(x, k, s, p, d, ceil_mode, return_indices=True)
    loop_out, loop_idx = loop_max_pool(x, k, s, p, d, ceil_mode)
    np.testing.assert_array_equal(out, loop_out)
    np.testing.assert_array_equal(idx, loop_idx)
    for cip, div in [(True, None), (False, None), (True, 3)]:
        x_finite = np.nan_to_num(x, neginf=-5.0)
        np.testing.assert_allclose(reference.avg_pool2d(x_finite, k, s, p, ceil_mode, cip, div),
                                   loop_avg_pool(x_finite, k, s, p, ceil_mode, cip, div), rtol=1e-13)


def test_reference_adaptive_and_global_against_loops():
    x = make((2, 3, 7, 10), np.float64)
    out = reference.adaptive_avg_pool2d(x, (3, 4))
    for i, j in itertools.product(range(3), range(4)):
        r0, r1 = int(np.floor(i * 7 / 3)), int(np.ceil((i + 1) * 7 / 3))
        c0, c1 = int(np.floor(j * 10 / 4)), int(np.ceil((j + 1) * 10 / 4))
        np.testing.assert_allclose(out[:, :, i, j], x[:, :, r0:r1, c0:c1].mean(axis=(2, 3)), rtol=1e-13)
    for b, ch in itertools.product(range(2), range(3)):
        assert reference.global_max_pool2d(x)[b, ch, 0, 0] == max(x[b, ch].ravel())
        np.testing.assert_allclose(reference.global_avg_pool2d(x)[b, ch, 0, 0], sum(x[b, ch].ravel()) / 70)


# ---- kernels against the reference ---------------------------------------------------------

# (kernel, stride, padding, dilation): the specialised hpasses (2x2s2, 3x3s2, stride 1,
# stride 2) and the generic one (stride 3), with dilation and non-square windows.
MAX_CONFIGS = [(2, 2, 0, 1), (3, 2, 1, 1), (3, 1, 1, 1), (5, 2, 2, 1), (3, 2, 1, 2), (2, 1, 0, 3),
               ((3, 2), (2, 3), (1, 1), (1, 2)), ((1, 4), (1, 2), (0, 2), 1), (3, 3, 1, 1)]
CONFIG_IDS = lambda c: "k{}s{}p{}d{}".format(*c).replace(" ", "")  # noqa: E731


@pytest.mark.parametrize("width", WIDTHS, ids=lambda w: f"w{w}")
@pytest.mark.parametrize("config", MAX_CONFIGS, ids=CONFIG_IDS)
def test_max_pool2d_widths(isa, config, width):
    k, s, p, d = config
    x = make((1, 2, 6, max(width, 9)), seed=width)
    for ceil_mode in (False, True):
        check("max_pool2d", x, kernel_size=k, stride=s, padding=p, dilation=d, ceil_mode=ceil_mode)


AVG_CONFIGS = [(2, 2, 0), (3, 2, 1), (3, 1, 1), (5, 1, 2), ((3, 1), (1, 2), (1, 0)), (3, 3, 1), ((1, 7), 1, (0, 3))]


@pytest.mark.parametrize("width", WIDTHS, ids=lambda w: f"w{w}")
@pytest.mark.parametrize("config", AVG_CONFIGS, ids=lambda c: "k{}s{}p{}".format(*c).replace(" ", ""))
def test_avg_pool2d_widths(isa, config, width):
    k, s, p = config
    x = make((1, 2, 7, max(width, 7)), seed=width)
    for ceil_mode, cip, div in [(False, True, None), (True, False, None), (True, True, None), (False, True, -3)]:
        check("avg_pool2d", x, kernel_size=k, stride=s, padding=p, ceil_mode=ceil_mode, count_include_pad=cip,
              divisor_override=div)


@pytest.mark.parametrize("kernel", [1, 3, 5, (3, 5), (5, 1)], ids=str)
def test_same_size_stride1_planes(isa, kernel):
    """Small planes under odd stride-1 windows padded by half (the flat path): every
    edge and border row, heights and widths below the kernel."""
    kh, kw = (kernel, kernel) if isinstance(kernel, int) else kernel
    for h, w in [(1, 1), (1, 7), (2, 3), (3, 17), (6, 1), (7, 16), (9, 33), (35, 35)]:
        x = make((2, 2, h, w), seed=h * 100 + w)
        window = dict(kernel_size=(kh, kw), stride=1, padding=(kh // 2, kw // 2))
        check("max_pool2d", x, **window)
        for cip, div in [(True, None), (False, None), (False, 7)]:
            check("avg_pool2d", x, count_include_pad=cip, divisor_override=div, **window)


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("batch", [1, 3])
def test_dtypes_and_batches(isa, dtype, batch):
    x = make((batch, 5, 13, 19), dtype)
    check("max_pool2d", x, kernel_size=3, stride=2, padding=1)
    check("max_pool2d", x, kernel_size=2)
    check("avg_pool2d", x, kernel_size=3, stride=1, padding=1, count_include_pad=False)
    check("adaptive_avg_pool2d", x, output_size=(4, 6))
    check("global_avg_pool2d", x)
    check("global_max_pool2d", x)


@pytest.mark.parametrize("hw", [(1, 1), (1, 15), (4, 4), (7, 7), (1, 17), (5, 13), (8, 8), (9, 9), (31, 3)],
                         ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
def test_global_pools_plane_sizes(isa, hw, dtype):
    """Plane sizes around every vector width and the reductions' 4-accumulator step."""
    x = make((2, 3) + hw, dtype, seed=hw[0] * 100 + hw[1])
    check("global_avg_pool2d", x)
    check("global_max_pool2d", x)


@pytest.mark.parametrize("in_hw,out_hw", [((7, 7), (1, 1)), ((14, 21), (7, 7)), ((7, 10), (3, 4)), ((5, 5), (7, 3)),
                                          ((13, 17), (13, None)), ((6, 35), (6, 9)), ((224, 10), 3)], ids=str)
def test_adaptive_avg_pool2d(isa, in_hw, out_hw):
    check("adaptive_avg_pool2d", make((2, 3) + in_hw), output_size=out_hw)


def test_big_planes_and_threads(isa):
    """Planes large enough for the thread team; 1 and 2 threads agree exactly."""
    x = make((2, 8, 40, 57))
    previous = fastconv.get_num_threads()
    try:
        results = []
        for threads in (1, 2):
            fastconv.set_num_threads(threads)
            results.append((check("max_pool2d", x, kernel_size=3, stride=2, padding=1),
                            check("avg_pool2d", x, kernel_size=3, stride=1, padding=1),
                            check("global_avg_pool2d", x)))
    finally:
        fastconv.set_num_threads(previous)
    for one, two in zip(*results):
        np.testing.assert_array_equal(one, two)


# ---- NaN, infinities, indices: as torch ------------------------------------------------------

def special_values(shape, seed=0):
    """Random values with NaNs, +-inf, a plane of -inf and runs of ties."""
    x = make(shape, np.float32, seed)
    rng = np.random.default_rng(seed)
    flat = x.reshape(-1)
    flat[rng.choice(flat.size, flat.size // 20, replace=False)] = np.nan
    flat[rng.choice(flat.size, flat.size // 20, replace=False)] = -np.inf
    flat[rng.choice(flat.size, flat.size // 40, replace=False)] = np.inf
    x[0, 0] = -np.inf
    x[0, 1, :, ::3] = 0.5
    return x


@pytest.mark.parametrize("config", MAX_CONFIGS[:6], ids=CONFIG_IDS)
def test_max_pool2d_nan_inf_and_indices(isa, config):
    k, s, p, d = config
    x = special_values((2, 3, 11, 37), seed=3)
    for ceil_mode in (False, True):
        expected, expected_idx = reference.max_pool2d(x, k, s, p, d, ceil_mode, return_indices=True)
        check("max_pool2d", x, kernel_size=k, stride=s, padding=p, dilation=d, ceil_mode=ceil_mode)
        out, idx = fastconv.max_pool2d(x, k, s, p, d, ceil_mode, return_indices=True)
        assert idx.dtype == np.int64
        assert_close(out, expected, np.float32)
        np.testing.assert_array_equal(idx, expected_idx)
    assert np.isnan(fastconv.global_max_pool2d(x)).sum() == np.isnan(reference.global_max_pool2d(x)).sum()
    assert_close(fastconv.global_max_pool2d(x), reference.global_max_pool2d(x), np.float32)


def test_matches_torch(isa):
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    rng = np.random.default_rng(11)
    for trial in range(12):
        kh, kw = (int(v) for v in rng.integers(1, 5, 2))
        sh, sw = (int(v) for v in rng.integers(1, 4, 2))
        dh, dw = (int(v) for v in rng.integers(1, 3, 2))
        ph, pw = int(rng.integers(0, kh // 2 + 1)), int(rng.integers(0, kw // 2 + 1))
        ceil_mode = bool(trial % 2)
        x = special_values((2, 3, int(rng.integers(dh * kh, 19)), int(rng.integers(dw * kw, 40))), seed=trial)
        t = torch.from_numpy(x)
        out, idx = fastconv.max_pool2d(x, (kh, kw), (sh, sw), (ph, pw), (dh, dw), ceil_mode, return_indices=True)
        t_out, t_idx = F.max_pool2d(t, (kh, kw), (sh, sw), (ph, pw), (dh, dw), ceil_mode, return_indices=True)
        np.testing.assert_array_equal(out, t_out.numpy())
        np.testing.assert_array_equal(fastconv.max_pool2d(x, (kh, kw), (sh, sw), (ph, pw), (dh, dw), ceil_mode),
                                      t_out.numpy())
        np.testing.assert_array_equal(idx, t_idx.numpy())
        finite = np.nan_to_num(x, posinf=3.0, neginf=-3.0)
        for cip, div in [(True, None), (False, None), (True, 2)]:
            expected = F.avg_pool2d(torch.from_numpy(finite.astype(np.float64)), (kh, kw), (sh, sw), (ph, pw),
                                    ceil_mode, cip, div).numpy()
            assert_close(fastconv.avg_pool2d(finite, (kh, kw), (sh, sw), (ph, pw), ceil_mode, cip, div), expected,
                         np.float32)
        size = (int(rng.integers(1, 6)), int(rng.integers(1, 9)))
        assert_close(fastconv.adaptive_avg_pool2d(finite, size),
                     F.adaptive_avg_pool2d(torch.from_numpy(finite.astype(np.float64)), size).numpy(), np.float32)
    x = special_values((2, 4, 7, 7))
    np.testing.assert_array_equal(fastconv.global_max_pool2d(x), F.adaptive_max_pool2d(torch.from_numpy(x), 1).numpy())


@settings(max_examples=80, deadline=None)
@given(st.data())
def test_random_configs(data):
    """Random windows against the reference, under a random ISA; float32 and float64."""
    draw = data.draw
    fastconv.set_isa(draw(st.sampled_from(fastconv.available_isas())))
    try:
        kh, kw = draw(st.integers(1, 5)), draw(st.integers(1, 5))
        sh, sw, dh, dw = (draw(st.integers(1, 3)) for _ in range(4))
        ph, pw = draw(st.integers(0, kh // 2)), draw(st.integers(0, kw // 2))
        dtype = draw(st.sampled_from(DTYPES))
        ceil_mode = draw(st.booleans())
        op = draw(st.sampled_from(["max_pool2d", "avg_pool2d"]))
        if op == "avg_pool2d":
            dh = dw = 1
        h = draw(st.integers(max(1, dh * (kh - 1) + 1 - 2 * ph), 20))
        w = draw(st.integers(max(1, dw * (kw - 1) + 1 - 2 * pw), 40))
        x = make((draw(st.integers(1, 3)), draw(st.integers(1, 4)), h, w), dtype, seed=draw(st.integers(0, 100)))
        kwargs = dict(kernel_size=(kh, kw), stride=(sh, sw), padding=(ph, pw), ceil_mode=ceil_mode)
        if op == "max_pool2d":
            check(op, x, dilation=(dh, dw), **kwargs)
        else:
            check(op, x, count_include_pad=draw(st.booleans()),
                  divisor_override=draw(st.sampled_from([None, 1, 4, -2])), **kwargs)
    finally:
        fastconv.set_isa("native")


# ---- layouts, dtypes, out= ---------------------------------------------------------------------

@pytest.mark.parametrize("layout", LAYOUTS)
def test_input_layouts(isa, layout):
    base = make((2, 6, 9, 11))
    x = input_layouts(base)[layout]
    assert_close(fastconv.max_pool2d(x, 3, 2, 1), reference.max_pool2d(base, 3, 2, 1), np.float32)
    assert_close(fastconv.avg_pool2d(x, 3, 1, 1), reference.avg_pool2d(base, 3, 1, 1), np.float32)
    assert_close(fastconv.global_avg_pool2d(x), reference.global_avg_pool2d(base), np.float32)


@pytest.mark.parametrize("dtype,expected", [(np.float16, np.float32), (np.int32, np.float32), (np.uint8, np.float32),
                                            (np.float32, np.float32), (np.float64, np.float64)])
def test_result_dtype(dtype, expected):
    x = (make((1, 2, 6, 6)) * 4).astype(dtype)
    for op, kwargs in [("max_pool2d", dict(kernel_size=2)), ("avg_pool2d", dict(kernel_size=3)),
                       ("adaptive_avg_pool2d", dict(output_size=4)), ("global_avg_pool2d", {}),
                       ("global_max_pool2d", {})]:
        result = getattr(fastconv, op)(x, **kwargs)
        assert result.dtype == expected
        assert_close(result, getattr(reference, op)(x, **kwargs), np.float32)


def test_out_channel_slice(isa):
    """Pools write into disjoint channel slices of one buffer; the rest stays untouched."""
    x = make((3, 4, 10, 10))
    buf = nan_filled((3, 13, 5, 5), np.float32)
    fastconv.max_pool2d(x, 2, out=buf[:, 1:5])
    fastconv.avg_pool2d(x, 3, 2, 1, out=buf[:, 6:10])
    assert_close(buf[:, 1:5], reference.max_pool2d(x, 2), np.float32)
    assert_close(buf[:, 6:10], reference.avg_pool2d(x, 3, 2, 1), np.float32)
    assert np.isnan(buf[:, [0, 5, 10, 11, 12]]).all()
    flat = nan_filled((3, 9, 1, 1), np.float32)
    fastconv.global_avg_pool2d(x, out=flat[:, 2:6])
    fastconv.global_max_pool2d(x, out=flat[:, 5:9])
    assert_close(flat[:, 2:5], reference.global_avg_pool2d(x)[:, :3], np.float32)
    assert_close(flat[:, 5:9], reference.global_max_pool2d(x), np.float32)


def test_zero_batch():
    x = np.zeros((0, 3, 8, 8), np.float32)
    assert fastconv.max_pool2d(x, 3, 2, 1).shape == (0, 3, 4, 4)
    out, idx = fastconv.max_pool2d(x, 2, return_indices=True)
    assert out.shape == idx.shape == (0, 3, 4, 4)
    assert fastconv.avg_pool2d(x, 2).shape == (0, 3, 4, 4)
    assert fastconv.adaptive_avg_pool2d(x, (3, 5)).shape == (0, 3, 3, 5)
    assert fastconv.global_avg_pool2d(x).shape == fastconv.global_max_pool2d(x).shape == (0, 3, 1, 1)


def test_defaults_match_torch_semantics():
    x = make((1, 1, 6, 6))
    np.testing.assert_array_equal(fastconv.max_pool2d(x, 2), fastconv.max_pool2d(x, 2, stride=2))
    np.testing.assert_array_equal(fastconv.max_pool2d(x, 2, stride=()), fastconv.max_pool2d(x, 2, stride=2))
    # ceil_mode: a window that would start in the padding is dropped (5 + 1 pad, k2 s2 -> 3, not 4)
    assert fastconv.max_pool2d(make((1, 1, 5, 5)), 2, 2, 1, ceil_mode=True).shape == (1, 1, 3, 3)


# ---- bad input -------------------------------------------------------------------------------

X = np.zeros((2, 4, 8, 8), np.float32)


@pytest.mark.parametrize("op,kwargs,error,words", [
    ("max_pool2d", dict(x=np.zeros((4, 8, 8), np.float32)), ValueError, "x must be 4-dimensional"),
    ("max_pool2d", dict(x=np.zeros((2, 0, 8, 8), np.float32)), ValueError, "non-empty channel and spatial axes"),
    ("max_pool2d", dict(x=np.zeros((2, 4, 0, 8), np.float32)), ValueError, "non-empty channel and spatial axes"),
    ("max_pool2d", dict(x=X.astype(np.complex64)), TypeError, "x must be an array of real numbers"),
    ("max_pool2d", dict(x=X.astype(bool)), TypeError, "x must be an array of real numbers"),
    ("max_pool2d", dict(x=None), TypeError, "x must be an array"),
    ("max_pool2d", dict(x=[[1, 2], [3]]), TypeError, "x could not be converted"),
    ("max_pool2d", dict(kernel_size=0), ValueError, "kernel_size must be >= 1"),
    ("max_pool2d", dict(kernel_size=(2, 2, 2)), ValueError, "kernel_size must be an int or a pair"),
    ("max_pool2d", dict(kernel_size=2.0), TypeError, "kernel_size must be an int"),
    ("max_pool2d", dict(kernel_size=None), TypeError, "kernel_size must be an int"),
    ("max_pool2d", dict(stride=0), ValueError, "stride must be >= 1"),
    ("max_pool2d", dict(stride=True), TypeError, "stride must be an int"),
    ("max_pool2d", dict(padding=-1), ValueError, "padding must be >= 0"),
    ("max_pool2d", dict(padding=2), ValueError, "padding must be at most half of kernel_size"),
    ("max_pool2d", dict(padding="same"), TypeError, "padding must be an int"),
    ("max_pool2d", dict(dilation=0), ValueError, "dilation must be >= 1"),
    ("max_pool2d", dict(dilation=5), ValueError, "larger than the padded input"),
    ("max_pool2d", dict(kernel_size=9), ValueError, "larger than the padded input"),
    ("max_pool2d", dict(kernel_size=2**40), ValueError, "kernel_size is too large"),
    ("max_pool2d", dict(ceil_mode="yes"), TypeError, "ceil_mode must be a bool"),
    ("max_pool2d", dict(return_indices=1), TypeError, "return_indices must be a bool"),
    ("avg_pool2d", dict(count_include_pad=None), TypeError, "count_include_pad must be a bool"),
    ("avg_pool2d", dict(divisor_override=0), ValueError, "divisor_override must be a non-zero int"),
    ("avg_pool2d", dict(divisor_override=2.5), TypeError, "divisor_override must be None or an int"),
    ("avg_pool2d", dict(divisor_override=2**40), ValueError, "divisor_override must be a non-zero int"),
    ("avg_pool2d", dict(padding=(0, 2)), ValueError, "padding must be at most half of kernel_size"),
    ("adaptive_avg_pool2d", dict(output_size=0), ValueError, "output_size must be >= 1"),
    ("adaptive_avg_pool2d", dict(output_size=(1, 2, 3)), ValueError, "output_size must be an int or a pair"),
    ("adaptive_avg_pool2d", dict(output_size=1.5), TypeError, "output_size must be an int"),
    ("adaptive_avg_pool2d", dict(output_size=2**30, x=np.zeros((1, 1, 1, 1), np.float32)),
     ValueError, "the output would have"),
    ("global_avg_pool2d", dict(x=np.zeros((2, 4, 8), np.float32)), ValueError, "x must be 4-dimensional"),
    ("global_max_pool2d", dict(x=X.astype(object)), TypeError, "x must be an array of real numbers"),
])
def test_bad_arguments(op, kwargs, error, words):
    args = dict(x=X)
    if op in ("max_pool2d", "avg_pool2d"):
        args["kernel_size"] = 3
    if op == "adaptive_avg_pool2d":
        args["output_size"] = 2
    args.update(kwargs)
    with pytest.raises(error) as info:
        getattr(fastconv, op)(**args)
    assert words in str(info.value)


@pytest.mark.parametrize("out,error,words", [
    (np.zeros((2, 4, 4, 4), np.float64), TypeError, "out must have dtype float32"),
    (np.zeros((2, 4, 4, 3), np.float32), ValueError, "out must have shape"),
    (np.zeros((2, 4, 4, 4), np.float32).tolist(), TypeError, "out must be a numpy.ndarray"),
    (np.zeros((2, 4, 4, 8), np.float32)[..., ::2], ValueError, "C-contiguous (H, W) planes"),
    (np.broadcast_to(np.zeros((1, 4, 4, 4), np.float32), (2, 4, 4, 4)), ValueError, "read-only"),
])
def test_bad_out(out, error, words):
    with pytest.raises(error) as info:
        fastconv.max_pool2d(X, 2, out=out)
    assert words in str(info.value)


def test_out_overlapping_input():
    buf = np.zeros((1, 8, 8, 8), np.float32)
    with pytest.raises(ValueError, match="out must not overlap x"):
        fastconv.avg_pool2d(buf[:, :4], 1, out=buf[:, 3:7])
    with pytest.raises(ValueError, match="out must not overlap x"):
        fastconv.global_max_pool2d(buf, out=buf[:, :, :1, :1])


def test_geometry_cache_keeps_type_checks():
    """Cached geometries are keyed by argument types too: 2.0 and True still raise after
    2 and 1 were cached."""
    fastconv.max_pool2d(X, 2, ceil_mode=True)
    with pytest.raises(TypeError, match="kernel_size must be an int"):
        fastconv.max_pool2d(X, 2.0, ceil_mode=True)
    with pytest.raises(TypeError, match="kernel_size must be an int"):
        fastconv.max_pool2d(X, (2, 2.0), ceil_mode=True)
    fastconv.max_pool2d(X, 1, stride=1)
    with pytest.raises(TypeError, match="stride must be an int"):
        fastconv.max_pool2d(X, 1, stride=True)
    with pytest.raises(TypeError, match="ceil_mode must be a bool"):
        fastconv.max_pool2d(X, 2, ceil_mode=1)
    assert fastconv.max_pool2d(X, [2, 2], stride=[2, 2]).shape == (2, 4, 4, 4)  # unhashable: not cached


def test_cached_shape_math_does_not_accept_equal_hashing_arguments():
    """0 and False hash alike: a cached valid call must not let an int ceil_mode through."""
    x = np.zeros((1, 2, 6, 6), np.float32)
    fastconv.max_pool2d(x, 2, ceil_mode=False)
    with pytest.raises(TypeError, match="ceil_mode must be a bool"):
        fastconv.max_pool2d(x, 2, ceil_mode=0)
