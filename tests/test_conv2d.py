"""conv2d against the float64 reference, under every ISA, around every tile edge."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fastconv
from fastconv import reference
from conftest import LAYOUTS, assert_close, at_page_end, input_layouts, nan_filled

DTYPES = [np.float32, np.float64]


def make(shape, dtype=np.float32, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


def check(x_shape, w_shape, dtype=np.float32, bias=True, seed=0, **kwargs):
    """Runs conv2d into a NaN-filled out= and compares with the reference."""
    x, w = make(x_shape, dtype, seed), make(w_shape, dtype, seed + 1)
    b = make(w_shape[0], dtype, seed + 2) if bias else None
    expected = reference.conv2d(x, w, b, **kwargs)
    out = nan_filled(expected.shape, dtype)
    result = fastconv.conv2d(x, w, b, out=out, **kwargs)
    assert result is out
    assert_close(result, expected, dtype)
    return result


# Output channels and pixels straddling every ISA's tiles (scalar 4x4; AVX2 6x16, 4x24;
# AVX-512 12x32, 8x48: the 8-row tiles serve multiples of 8 such as 16 and 40).
TILE_ROWS = [1, 3, 4, 5, 6, 7, 8, 11, 12, 13, 16, 24, 25, 40]
TILE_PIXELS = [(1, 1), (3, 5), (1, 15), (4, 4), (1, 17), (5, 6), (4, 8), (3, 11), (1, 47), (6, 8), (7, 7), (5, 13),
               (1, 97)]


@pytest.mark.parametrize("cout", TILE_ROWS, ids=lambda c: f"cout{c}")
def test_tile_rows(isa, cout):
    check((2, 3, 6, 7), (cout, 3, 3, 3), padding=1)


@pytest.mark.parametrize("out_hw", TILE_PIXELS, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("cout", [13, 16], ids=lambda c: f"cout{c}")
@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
def test_tile_pixels(isa, out_hw, cout, dtype):
    check((1, 5, out_hw[0] + 2, out_hw[1] + 2), (cout, 5, 3, 3), dtype=dtype)
    check((1, 5, out_hw[0], out_hw[1]), (cout, 5, 3, 3), dtype=dtype, padding=1)


@pytest.mark.parametrize("cin", [255, 256, 257, 600], ids=lambda c: f"k{c}")
def test_k_blocks(isa, cin):
    """Reduction lengths around and past one packed block (256 rows) accumulate correctly."""
    check((1, cin, 5, 6), (14, cin, 1, 1))


@pytest.mark.parametrize("hw", [(16, 16), (16, 17), (23, 29), (40, 40)], ids=lambda s: f"{s[0]}x{s[1]}")
def test_pixel_blocks(isa, hw):
    """Outputs larger than one pixel block, with ragged last blocks."""
    check((2, 20, *hw), (9, 20, 3, 3), padding=1)


@pytest.mark.parametrize("kernel", [(1, 1), (1, 3), (3, 1), (2, 5), (1, 7), (7, 1), (5, 5), (4, 2)],
                         ids=lambda k: f"{k[0]}x{k[1]}")
@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
def test_kernel_shapes(isa, kernel, dtype):
    kh, kw = kernel
    check((2, 6, 11, 12), (10, 6, kh, kw), dtype=dtype, padding=(kh // 2, kw // 2))


# Narrow maps with many output channels, where each tap column is staged as a plane of its
# own (no dropped columns; e.g. Inception-v3's 8x8 layers): map size, kernel, stride,
# padding, dilation.
EXPANDED_STAGING = [((6, 8), (1, 3), 1, ((0, 0), (1, 1)), 1), ((8, 8), (3, 3), 1, 1, 1),
                    ((8, 8), (1, 5), 1, ((0, 0), (2, 0)), (1, 2)), ((8, 8), (3, 3), (1, 2), ((1, 0), (0, 1)), 1),
                    ((8, 8), (2, 3), 1, 0, 1)]


@pytest.mark.parametrize("size,kernel,stride,padding,dilation", EXPANDED_STAGING,
                         ids=lambda v: str(v).replace(" ", ""))
@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
def test_expanded_staging(isa, size, kernel, stride, padding, dilation, dtype):
    for batch in (1, 2):
        check((batch, 7, *size), (64, 7, *kernel), dtype, stride=stride, padding=padding, dilation=dilation)
    if isa == "avx512" and dtype == np.float32:  # the path under test is taken (batches may pack instead)
        geometry = fastconv.Conv2d(make((64, 7, *kernel)), stride=stride, padding=padding,
                                   dilation=dilation).geometry((1, 7, *size))
        assert fastconv._ext.conv2d_method(geometry.c_shape(), "float32", False) == "expanded"


@pytest.mark.parametrize("stride", [1, 2, 3, (1, 2), (3, 1)], ids=str)
@pytest.mark.parametrize("dilation", [1, 2, 3, (2, 1)], ids=str)
@pytest.mark.parametrize("padding", [0, 1, 2, 3, ((0, 2), (1, 0))], ids=str)
def test_stride_padding_dilation(isa, stride, dilation, padding):
    check((1, 4, 13, 14), (7, 4, 3, 2), stride=stride, dilation=dilation, padding=padding)


@pytest.mark.parametrize("groups,cin,cout", [(2, 6, 8), (3, 9, 15), (4, 8, 8), (6, 6, 12), (8, 8, 8)])
@pytest.mark.parametrize("batch", [1, 3])
def test_groups(isa, groups, cin, cout, batch):
    check((batch, cin, 9, 10), (cout, cin // groups, 3, 3), groups=groups, padding=1, stride=(1, 2))


@pytest.mark.parametrize("padding", ["same", "valid"])
@pytest.mark.parametrize("kernel", [(3, 3), (2, 4), (1, 6)], ids=lambda k: f"{k[0]}x{k[1]}")
def test_string_padding(isa, padding, kernel):
    result = check((1, 3, 9, 13), (4, 3, *kernel), padding=padding, dilation=(1, 2) if kernel[0] < 3 else 1)
    if padding == "same":
        assert result.shape[2:] == (9, 13)


@pytest.mark.parametrize("activation", [None, "relu", "relu6", ("leaky_relu", 0.2), ("clamp", (-0.5, 0.25)),
                                        ("prelu", "per-channel")], ids=str)
@pytest.mark.parametrize("with_residual", [False, True], ids=["plain", "residual"])
def test_epilogue(isa, activation, with_residual):
    """Bias, residual and activation are applied in the kernel, in that order."""
    x, w, b = make((2, 5, 8, 9)), make((14, 5, 3, 3), seed=1), make(14, seed=2)
    if activation == ("prelu", "per-channel"):
        activation = ("prelu", np.linspace(-0.5, 0.5, 14))
    residual = make((2, 14, 8, 9), seed=3) * 3 if with_residual else None
    expected = reference.conv2d(x, w, b, padding=1, activation=activation, residual=residual)
    result = fastconv.conv2d(x, w, b, padding=1, activation=activation, residual=residual)
    assert_close(result, expected, np.float32)


def test_out_channel_slice(isa):
    """Two convs write into disjoint channel slices of one buffer; the rest stays untouched."""
    x = make((3, 4, 10, 10))
    w1, w2 = make((5, 4, 3, 3), seed=1), make((7, 4, 1, 1), seed=2)
    buf = nan_filled((3, 16, 10, 10), np.float32)
    fastconv.conv2d(x, w1, padding=1, out=buf[:, 2:7])
    fastconv.conv2d(x, w2, out=buf[:, 7:14])
    assert_close(buf[:, 2:7], reference.conv2d(x, w1, padding=1), np.float32)
    assert_close(buf[:, 7:14], reference.conv2d(x, w2), np.float32)
    assert np.isnan(buf[:, :2]).all() and np.isnan(buf[:, 14:]).all()


def test_densenet_style_in_place_growth(isa):
    """The input is a channel slice of the buffer the output is another slice of."""
    buf = make((1, 12, 8, 8))
    buf[:, 8:] = np.nan
    w = make((4, 8, 3, 3), seed=1)
    expected = reference.conv2d(buf[:, :8], w, padding=1)
    fastconv.conv2d(buf[:, :8], w, padding=1, out=buf[:, 8:])
    assert_close(buf[:, 8:], expected, np.float32)


@pytest.mark.parametrize("layout", LAYOUTS)
def test_input_layouts(isa, layout):
    base = make((2, 6, 9, 11))
    x = input_layouts(base)[layout]
    w = make((5, 6, 3, 2), seed=1).astype(">f4" if layout == "big-endian" else np.float32)
    assert_close(fastconv.conv2d(x, w, padding=1), reference.conv2d(base, w, padding=1), np.float32)


@pytest.mark.parametrize("dtype,expected", [(np.float16, np.float32), (np.int32, np.float32), (np.uint8, np.float32),
                                            (np.float32, np.float32), (np.float64, np.float64)])
def test_result_dtype(dtype, expected):
    x = (make((1, 2, 5, 5)) * 4).astype(dtype)
    w = (make((3, 2, 3, 3), seed=1) * 4).astype(dtype)
    result = fastconv.conv2d(x, w)
    assert result.dtype == expected
    assert_close(result, reference.conv2d(x, w), np.float32)


def test_weight_and_bias_cast_to_input_dtype():
    x = make((1, 2, 5, 5), np.float64)
    w, b = make((3, 2, 3, 3), np.float32, seed=1), make(3, np.float32, seed=2)
    result = fastconv.conv2d(x, w, b)
    assert result.dtype == np.float64
    assert_close(result, reference.conv2d(x, w, b), np.float64)


def test_zero_batch():
    result = fastconv.conv2d(np.zeros((0, 3, 8, 8), np.float32), make((4, 3, 3, 3)))
    assert result.shape == (0, 4, 6, 6)


def test_nan_and_inf_propagate(isa):
    x = make((1, 2, 6, 6))
    x[0, 0, 2, 2] = np.nan
    x[0, 1, 4, 4] = np.inf
    w = np.abs(make((3, 2, 3, 3), seed=1))
    result = fastconv.conv2d(x, w, padding=1)
    expected = reference.conv2d(x, w, padding=1)
    np.testing.assert_array_equal(np.isnan(result), np.isnan(expected))
    np.testing.assert_array_equal(np.isinf(result), np.isinf(expected))
    relu = fastconv.conv2d(x, w, padding=1, activation="relu")
    np.testing.assert_array_equal(np.isnan(relu), np.isnan(expected))


def test_matches_torch(isa):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(7)
    for _ in range(6):
        groups = int(rng.choice([1, 2, 3]))
        cin, cout = groups * int(rng.integers(1, 5)), groups * int(rng.integers(1, 6))
        kh, kw = (int(v) for v in rng.integers(1, 5, 2))
        stride, dilation = tuple(int(v) for v in rng.integers(1, 4, 2)), tuple(int(v) for v in rng.integers(1, 3, 2))
        padding = tuple(int(v) for v in rng.integers(0, 3, 2))
        x = make((2, cin, 17, 15), seed=int(rng.integers(1000)))
        w, b = make((cout, cin // groups, kh, kw), seed=1), make(cout, seed=2)
        expected = torch.nn.functional.conv2d(torch.from_numpy(x.astype(np.float64)), torch.from_numpy(w.astype(np.float64)),
                                              torch.from_numpy(b.astype(np.float64)), stride, padding, dilation, groups).numpy()
        assert_close(fastconv.conv2d(x, w, b, stride, padding, dilation, groups), expected, np.float32)


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_random_configs(data):
    """Random geometry against the reference, under a random ISA; float32 and float64."""
    draw = data.draw
    fastconv.set_isa(draw(st.sampled_from(fastconv.available_isas())))
    try:
        groups = draw(st.integers(1, 3))
        cin, cout = groups * draw(st.integers(1, 6)), groups * draw(st.integers(1, 14))
        kh, kw = draw(st.integers(1, 5)), draw(st.integers(1, 5))
        sh, sw, dh, dw = (draw(st.integers(1, 3)) for _ in range(4))
        pads = ((draw(st.integers(0, kh)), draw(st.integers(0, kh))), (draw(st.integers(0, kw)), draw(st.integers(0, kw))))
        h = draw(st.integers(max(1, dh * (kh - 1) + 1 - sum(pads[0])), 20))
        w = draw(st.integers(max(1, dw * (kw - 1) + 1 - sum(pads[1])), 20))
        dtype = draw(st.sampled_from(DTYPES))
        check((draw(st.integers(1, 3)), cin, h, w), (cout, cin // groups, kh, kw), dtype=dtype,
              bias=draw(st.booleans()), seed=draw(st.integers(0, 100)),
              stride=(sh, sw), padding=pads, dilation=(dh, dw), groups=groups)
    finally:
        fastconv.set_isa("native")


def test_threads_give_the_same_result():
    x, w = make((2, 16, 20, 20)), make((24, 16, 3, 3), seed=1)
    previous = fastconv.get_num_threads()
    try:
        fastconv.set_num_threads(1)
        one = fastconv.conv2d(x, w, padding=1)
        fastconv.set_num_threads(2)
        two = fastconv.conv2d(x, w, padding=1)
    finally:
        fastconv.set_num_threads(previous)
    np.testing.assert_array_equal(one, two)


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("size,padding", [(9, ((1, 2), (2, 1))), (150, 1)], ids=["small", "bands"])
def test_group_tasks(isa, threads, size, padding):
    """Layers with enough groups run one task per group that stages its own planes in a
    buffer of its thread: the bottom-right taps read the zeros past the last plane, and maps
    too large for one staging band are staged a band of rows at a time."""
    previous = fastconv.get_num_threads()
    try:
        fastconv.set_num_threads(threads)
        for batch in (1, 2):
            check((batch, 24, size, size), (40, 3, 3, 3), padding=padding, groups=8, seed=batch)
    finally:
        fastconv.set_num_threads(previous)


@pytest.mark.parametrize("x_shape,w_shape,kwargs", [
    ((1, 32, 30, 30), (40, 32, 3, 3), dict(padding=1)),
    ((1, 32, 300, 41), (48, 32, 3, 3), dict(padding=1)),  # two bands of rows
    ((1, 16, 33, 63), (160, 16, 3, 3), dict(stride=2, padding=1)),  # four phase planes
    ((1, 64, 20, 20), (96, 32, 3, 3), dict(padding=1, groups=2)),
], ids=["plain", "bands", "stride2", "groups"])
def test_staging_copies(isa, x_shape, w_shape, kwargs):
    """On two threads, layers whose every thread reads all of a band's staged planes have
    each thread stage the band itself, into a buffer of its own (twice the staging
    workspace): every group and phase, band after band."""
    previous = fastconv.get_num_threads()
    try:
        plan = fastconv.Conv2d(make(w_shape, seed=1), **kwargs)
        fastconv.set_num_threads(1)
        one_thread = plan.workspace_bytes(x_shape)
        fastconv.set_num_threads(2)
        assert plan.workspace_bytes(x_shape) > 1.8 * one_thread
        check(x_shape, w_shape, **kwargs)
    finally:
        fastconv.set_num_threads(previous)


def test_concurrent_calls_from_python_threads():
    """The GIL is released: calls from several Python threads run side by side, correctly."""
    from concurrent.futures import ThreadPoolExecutor

    x, w = make((1, 8, 24, 24)), make((16, 8, 3, 3), seed=1)
    expected = fastconv.conv2d(x, w, padding=1)
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda _: fastconv.conv2d(x, w, padding=1), range(8)))
    for r in results:
        np.testing.assert_array_equal(r, expected)


@pytest.mark.parametrize("groups,cout_per_group", [(32, 1), (32, 2), (4, 2), (8, 3), (5, 5)])
def test_grouped_weights_read_within_bounds(isa, groups, cout_per_group):
    """Partial weight panels of the trailing groups must not read past the weights (they sit
    right before an unreadable page here)."""
    x = make((1, 2 * groups, 9, 9))
    w = at_page_end(make((groups * cout_per_group, 2, 3, 3), seed=1))
    b = at_page_end(make(groups * cout_per_group, seed=2))
    assert_close(fastconv.conv2d(x, w, b, padding=1, groups=groups), reference.conv2d(x, w, b, padding=1,
                                                                                       groups=groups), np.float32)
