"""Depthwise conv2d (groups == in_channels) against fastconv.reference.conv2d, under every ISA.

Cases are named by their relation to the vector width (16 float32 lanes on AVX-512, 8 on
AVX2): channels and widths 1, 15, 16, 17, 33 straddle one and two vectors, so row tails,
border vectors and the stride-2 deinterleave are all crossed. Outputs start as NaN, so an
element a kernel forgets to write fails the comparison.
"""
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import fastconv
from fastconv import reference

from conftest import assert_close, at_page_end, nan_filled

DTYPES = [np.float32, np.float64]


def run_case(dtype, *, batch=1, channels=3, multiplier=1, size=(9, 10), kernel=(3, 3), stride=1, padding=1,
             dilation=1, bias=True, activation=None, residual=False, seed=0, at_end=False):
    """`at_end`: the input's last byte is the last before an unreadable page."""
    rng = np.random.default_rng(seed)
    h, w = size
    x = rng.standard_normal((batch, channels, h, w)).astype(dtype)
    if at_end:
        x = at_page_end(x)
    weight = rng.standard_normal((channels * multiplier, 1) + tuple(kernel)).astype(dtype)
    b = rng.standard_normal(channels * multiplier).astype(dtype) if bias else None
    expected_shape = reference.conv2d(x, weight, b, stride, padding, dilation, channels).shape
    res = rng.standard_normal(expected_shape).astype(dtype) if residual else None
    expected = reference.conv2d(x, weight, b, stride, padding, dilation, channels, activation=activation,
                                residual=res)
    out = nan_filled(expected.shape, dtype)
    got = fastconv.conv2d(x, weight, b, stride, padding, dilation, channels, out=out, activation=activation,
                          residual=res)
    assert got is out
    assert_close(out, expected, dtype)


@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
@pytest.mark.parametrize("channels", [1, 15, 16, 17, 33], ids=lambda c: f"c{c}")
def test_channels(isa, dtype, channels):
    run_case(dtype, channels=channels, size=(7, 9))


@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
@pytest.mark.parametrize("width", [1, 15, 16, 17, 33], ids=lambda w: f"w{w}")
@pytest.mark.parametrize("shape", [(3, 1), (3, 2), (5, 1), (5, 2)], ids=lambda s: f"{s[0]}x{s[0]}s{s[1]}")
def test_specialized_widths(isa, dtype, width, shape):
    """The 3x3 and 5x5 kernels at stride 1 and 2, 'same'-style padding, rows of every tail."""
    k, s = shape
    run_case(dtype, channels=2, size=(width + 2, width), kernel=(k, k), stride=s, padding=k // 2)


@pytest.mark.parametrize("height", [1, 15, 16, 17, 33], ids=lambda h: f"h{h}")
def test_heights(isa, height):
    run_case(np.float32, channels=2, size=(height, 12), kernel=(3, 3), padding=1)


@pytest.mark.parametrize("kernel", [(1, 1), (2, 2), (3, 3), (4, 4), (5, 5), (6, 6), (7, 7), (1, 7), (7, 1),
                                    (2, 5), (3, 1), (1, 3), (4, 6)], ids=lambda k: f"{k[0]}x{k[1]}")
@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
def test_kernel_sizes(isa, dtype, kernel):
    run_case(dtype, channels=3, size=(13, 19), kernel=kernel, padding=(kernel[0] // 2, kernel[1] // 2))


@pytest.mark.parametrize("stride", [1, 2, 3, (1, 2), (3, 1), (2, 3)], ids=str)
@pytest.mark.parametrize("kernel", [(3, 3), (5, 5), (2, 4)], ids=lambda k: f"{k[0]}x{k[1]}")
def test_strides(isa, stride, kernel):
    run_case(np.float32, channels=3, size=(17, 35), kernel=kernel, stride=stride, padding=1)


@pytest.mark.parametrize("dilation", [1, 2, 3, (1, 3), (2, 1)], ids=str)
@pytest.mark.parametrize("stride", [1, 2], ids=lambda s: f"s{s}")
@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
def test_dilation(isa, dtype, dilation, stride):
    run_case(dtype, channels=2, size=(16, 33), kernel=(3, 3), stride=stride, dilation=dilation, padding=2)


@pytest.mark.parametrize("multiplier", [1, 2, 3], ids=lambda m: f"m{m}")
@pytest.mark.parametrize("shape", [(3, 1), (3, 2), (5, 1), (4, 3)], ids=lambda s: f"k{s[0]}s{s[1]}")
def test_multiplier(isa, multiplier, shape):
    k, s = shape
    run_case(np.float32, channels=5, multiplier=multiplier, size=(11, 17), kernel=(k, k), stride=s,
             padding=k // 2)


PADDINGS = [0, ((0, 2), (1, 0)), ((2, 0), (0, 3)), ((1, 1), (3, 2)), "same", "valid", ((4, 4), (5, 5))]


@pytest.mark.parametrize("padding, stride", [(p, s) for s in (1, 2) for p in PADDINGS if p != "same" or s == 1],
                         ids=str)
def test_padding(isa, padding, stride):
    run_case(np.float32, channels=2, size=(10, 18), kernel=(3, 4), stride=stride, padding=padding)


@pytest.mark.parametrize("batch", [1, 3], ids=lambda b: f"n{b}")
@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
def test_batch(isa, dtype, batch):
    run_case(dtype, batch=batch, channels=4, multiplier=2, size=(12, 20), kernel=(3, 3), stride=2)


@pytest.mark.parametrize("activation", [None, "relu", "relu6", ("leaky_relu", 0.1), "prelu", ("clamp", (-0.5, 1.0))],
                         ids=str)
@pytest.mark.parametrize("residual", [False, True], ids=["plain", "residual"])
@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
def test_epilogue(isa, dtype, activation, residual):
    channels, multiplier = 3, 2
    if activation == "prelu":
        activation = ("prelu", np.linspace(0.05, 0.3, channels * multiplier))
    # 2 x width 21 on AVX-512: a full vector, a partial one; stride 1 and kernel 3 (specialized).
    run_case(dtype, batch=2, channels=channels, multiplier=multiplier, size=(6, 21), kernel=(3, 3),
             activation=activation, residual=residual)
    run_case(dtype, channels=channels, multiplier=multiplier, size=(9, 70), kernel=(4, 2), stride=(1, 2),
             activation=activation, residual=residual, bias=False)


@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
def test_out_channel_slice(isa, dtype):
    """out= a channel slice of a bigger buffer (a concatenation's part); the rest untouched."""
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 4, 15, 17)).astype(dtype)
    weight = rng.standard_normal((8, 1, 3, 3)).astype(dtype)
    bias = rng.standard_normal(8).astype(dtype)
    buf = nan_filled((2, 13, 8, 9), dtype)
    got = fastconv.conv2d(x, weight, bias, stride=2, padding=1, groups=4, out=buf[:, 3:11], activation="relu")
    assert got.base is buf or np.shares_memory(got, buf)
    assert_close(buf[:, 3:11], reference.conv2d(x, weight, bias, 2, 1, 1, 4, activation="relu"), dtype)
    assert np.isnan(buf[:, :3]).all() and np.isnan(buf[:, 11:]).all()


@pytest.mark.parametrize("out_size", [(32, 32), (33, 32)], ids=["planar", "band"])
@pytest.mark.parametrize("stride", [1, 2], ids=lambda s: f"s{s}")
def test_planar_limit(isa, out_size, stride):
    """Output planes of 1024 elements are computed whole (planar), 1056 a band at a time
    (padded inputs too large to interleave, too few taps per phase to interleave anyway:
    1x3 at stride 1, 3x3 at stride 2; no direct method with two left padding columns)."""
    h, w = (out_size[0] * stride, out_size[1] * stride)
    kernel, padding = ((1, 3), (0, 1)) if stride == 1 else ((3, 3), ((1, 1), (2, 0)))
    run_case(np.float32, channels=3, multiplier=2, size=(h, w), kernel=kernel, stride=stride, padding=padding,
             activation="relu6", residual=True)


@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
@pytest.mark.parametrize("shape", [(5, 2, 56, 2), (4, 1, 39, 2), (7, 2, 45, 3), (3, 1, 57, 0)],
                         ids=lambda s: f"{s[0]}x{s[0]}s{s[1]}p{s[3]}-{s[2]}")
@pytest.mark.parametrize("residual", [False, True], ids=["plain", "residual"])
def test_interleaved_many_taps(isa, dtype, shape, residual):
    """Planes beyond the small-plane limits whose kernels have at least 4 taps per phase are
    interleaved too (EfficientNet's 5x5 stride 2 at 56; 3x3 without the direct method's
    padding); 1, 15, 17 and 33 channels leave partial groups, odd sizes partial rows."""
    k, s, size, padding = shape
    for channels in (1, 15, 17, 33):
        slopes = np.linspace(0.05, 0.3, channels)
        run_case(dtype, channels=channels, size=(size, size + 2), kernel=(k, k), stride=s, padding=padding,
                 activation=("prelu", slopes), residual=residual)


@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
@pytest.mark.parametrize("size", [(30, 30), (31, 30)], ids=["interleaved", "direct"])
@pytest.mark.parametrize("stride", [1, 2], ids=lambda s: f"s{s}")
@pytest.mark.parametrize("residual", [False, True], ids=["plain", "residual"])
def test_interleaved_limit(isa, dtype, size, stride, residual):
    """Zero-padded inputs of 32 x 32 = 1024 pixels are interleaved, 33 x 32 are not (on
    AVX-512 both go direct: see fc_dispatch_table.dwconv_direct_small); 17
    and 33 channels leave partial groups; without a residual the PReLU slopes are applied
    before the transpose back."""
    for channels, multiplier in ((17, 1), (33, 1), (3, 2)):
        slopes = np.linspace(0.05, 0.3, channels * multiplier)
        run_case(dtype, channels=channels, multiplier=multiplier, size=size, kernel=(3, 3), stride=stride,
                 padding=1, activation=("prelu", slopes), residual=residual)


@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
@pytest.mark.parametrize("width", [27, 28, 40, 47], ids=lambda w: f"w{w}")
@pytest.mark.parametrize("stride", [1, 2], ids=lambda s: f"s{s}")
def test_direct_epilogue(isa, dtype, width, stride):
    """3x3 planes too large to interleave are computed directly (AVX-512: any size): row
    tails of every length, multiplier 2, the epilogue with a slope and a residual (finished
    per vector, not as a clamp in registers)."""
    h = 64 // stride + 1
    run_case(dtype, channels=2, multiplier=2, size=(h, width), kernel=(3, 3), stride=stride, padding=1,
             activation=("prelu", np.linspace(0.05, 0.3, 4)), residual=True)


@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
@pytest.mark.parametrize("width", [1, 5, 7, 8, 13, 14, 15, 16, 17, 31, 33, 48, 49, 80, 112, 130, 176, 200],
                         ids=lambda w: f"w{w}")
@pytest.mark.parametrize("stride", [1, 2], ids=lambda s: f"s{s}")
@pytest.mark.parametrize("threads", [1, 2], ids=lambda t: f"t{t}")
def test_direct_strips_and_pairs(isa, dtype, width, stride, threads):
    """The direct method's geometry: output rows of 1 to 13 vectors, in strips of up to 3
    (stride 1) or 4 (stride 2) vectors on AVX-512, 2 on AVX2, with every remainder (80
    wide: 3 + 2 vectors at stride 1; 130: 4 + 1 at stride 2, 176: 4 + 2, 200: 4 + 3);
    heights 7 to 12, so that the rows carried from one output row to the next meet the top
    and bottom padding at both parities; and, on AVX-512 float32, rows narrow enough to put
    two channels in a vector (stride 2: up to 15 in and 8 out, 16 in is not; stride 1: up
    to 7), with an odd channel left alone and, at multiplier 2, two outputs of one input
    paired. Bias and clamp, no bias and no activation, and a slope; two threads (layers
    this small run on one: see test_streamed and test_threads_split_rows for the split)."""
    cases = ((1, 1, 9, True, "relu6"), (3, 1, 10, False, None), (4, 2, 11, True, "relu"),
             (5, 1, 12, True, ("prelu", np.linspace(-0.5, 0.5, 5))), (9 * threads, 1, 7, True, "relu6"))
    previous = fastconv.get_num_threads()
    try:
        fastconv.set_num_threads(threads)
        for channels, multiplier, height, bias, activation in cases:
            run_case(dtype, channels=channels, multiplier=multiplier, size=(height, width), kernel=(3, 3),
                     stride=stride, padding=1, bias=bias, activation=activation, seed=width)
    finally:
        fastconv.set_num_threads(previous)


@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
@pytest.mark.parametrize("width", [16, 32, 64, 112, 224], ids=lambda w: f"w{w}")
@pytest.mark.parametrize("stride", [1, 2], ids=lambda s: f"s{s}")
def test_direct_buffer_offsets(isa, dtype, width, stride):
    """Inputs and outputs starting 0 to 15 elements into a cache line (slices of bigger
    buffers; numpy's own arrays start 16 or 32 bytes in), rows a whole number of vectors
    long, with bias and clamp and without: the same results, nothing written outside."""
    rng = np.random.default_rng(width)
    channels, height = 3, 9
    buf = rng.standard_normal(channels * height * width + 64).astype(dtype)
    weight = rng.standard_normal((channels, 1, 3, 3)).astype(dtype)
    bias = rng.standard_normal(channels).astype(dtype)
    first = -buf.ctypes.data % 64 // buf.itemsize
    for offset in range(16):
        start = first + offset
        x = buf[start:start + channels * height * width].reshape(1, channels, height, width)
        for b, activation in ((bias, "relu6"), (None, None)):
            expected = reference.conv2d(x, weight, b, stride, 1, 1, channels, activation=activation)
            out_buf = nan_filled((expected.size + 64,), dtype)
            out_start = -out_buf.ctypes.data % 64 // out_buf.itemsize + (offset * 7) % 16
            out = out_buf[out_start:out_start + expected.size].reshape(expected.shape)
            fastconv.conv2d(x, weight, b, stride, 1, 1, channels, out=out, activation=activation)
            assert_close(out, expected, dtype)
            assert np.isnan(out_buf[:out_start]).all() and np.isnan(out_buf[out_start + expected.size:]).all()


@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
@pytest.mark.parametrize("size", [(7, 7), (14, 14), (2, 8), (16, 16), (1, 16), (3, 5), (6, 1), (9, 15), (64, 16),
                                  (65, 16)], ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("threads", [1, 2], ids=lambda t: f"t{t}")
def test_streamed(isa, dtype, size, threads):
    """3x3 'same' planes at stride 1 whose rows fit a vector but not half of one (AVX-512: 8
    to 16 float32, 4 to 8 float64) go as one stream of channels: planes that end inside a
    vector (9x15 = 135 elements, or 7x7 in float64: the vector across two planes blends
    their weights) or on one (2x8, 16x16), the largest plane streamed (64x16) and one past
    it. Narrower rows pair up in the direct method (7x7, 3x5 and rows of one element in
    float32). Runs of 1, 2, 3 and 17 channels, batch 2, bias
    and none, clamp, per-channel PReLU, a residual; multiplier 2 and an output whose planes
    do not follow each other go a channel at a time. 2 threads split the 600 channels of
    the largest case (planes up to 16x16) into blocks, each its own stream."""
    cases = ((1, 1, 1, True, "relu6", False), (2, 1, 2, False, None, False), (3, 1, 1, True, "relu", True),
             (17, 1, 1, True, ("prelu", np.linspace(-0.5, 0.5, 17)), False),
             (4, 2, 1, True, ("prelu", np.linspace(-0.5, 0.5, 8)), True),
             (600, 1, 1, True, ("prelu", np.linspace(-0.5, 0.5, 600)), True))
    previous = fastconv.get_num_threads()
    try:
        fastconv.set_num_threads(threads)
        for channels, multiplier, batch, bias, activation, residual in cases:
            if channels * size[0] * size[1] > 600 * 256:
                continue  # the split needs no larger planes
            run_case(dtype, batch=batch, channels=channels, multiplier=multiplier, size=size, kernel=(3, 3),
                     padding=1, bias=bias, activation=activation, residual=residual, seed=channels)
        rng = np.random.default_rng(1)
        x = rng.standard_normal((2, 5) + size).astype(dtype)
        weight = rng.standard_normal((5, 1, 3, 3)).astype(dtype)
        expected = reference.conv2d(x, weight, None, 1, 1, 1, 5, activation="relu6")
        buf = nan_filled((2, 10) + size, dtype)
        fastconv.conv2d(x, weight, None, 1, 1, 1, 5, out=buf[:, ::2], activation="relu6")
        assert_close(buf[:, ::2], expected, dtype)
        assert np.isnan(buf[:, 1::2]).all()
    finally:
        fastconv.set_num_threads(previous)


@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
@pytest.mark.parametrize("size", [(7, 7), (3, 3), (2, 5), (12, 3), (1, 1), (400, 3)], ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("multiplier", [1, 3], ids=lambda m: f"m{m}")
@pytest.mark.parametrize("threads", [1, 2], ids=lambda t: f"t{t}")
def test_pairs_stay_inside_input(isa, dtype, size, multiplier, threads):
    """Rows narrower than half a vector go two channels a vector at stride 1 (7x7 float32 on
    AVX-512, 3 wide float64). Their whole loads reach past a pair's planes only into a
    channel of the call that follows the pair: never past the input, whose last byte is
    here the last before an unreadable page, nor past one input plane shared by the outputs
    of a multiplier. 400x3 planes are too large to interleave: AVX2 pairs them (rows of 3). Odd channel counts, every epilogue, padding that moves the rows loaded
    whole (top 0, 2 and 3: output rows whose last input row lies above the plane), and two
    threads splitting channels and rows."""
    cases = ((5, 1, "relu6", False), (4, ((0, 2), (1, 1)), ("prelu", np.linspace(-0.5, 0.5, 4 * multiplier)), True),
             (3, ((2, 0), (1, 1)), None, False), (2, ((3, 1), (1, 1)), "relu", False))
    previous = fastconv.get_num_threads()
    try:
        fastconv.set_num_threads(threads)
        for channels, padding, activation, residual in cases:
            run_case(dtype, batch=2, channels=channels, multiplier=multiplier, size=size, padding=padding,
                     activation=activation, residual=residual, seed=channels, at_end=True)
    finally:
        fastconv.set_num_threads(previous)


@pytest.mark.parametrize("padding", [((0, 2), (1, 0)), ((2, 0), (1, 2)), ((1, 1), (0, 1))],
                         ids=["top0", "top2", "left0"])
@pytest.mark.parametrize("stride", [1, 2], ids=lambda s: f"s{s}")
def test_direct_padding(isa, padding, stride):
    """The direct method takes any top/bottom/right padding with one left column; left0 is
    not direct."""
    run_case(np.float32, channels=3, size=(30, 33), kernel=(3, 3), stride=stride, padding=padding,
             activation="relu6", residual=True)


@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
@pytest.mark.parametrize("width", [16, 32, 48, 64], ids=lambda w: f"w{w}")
@pytest.mark.parametrize("right", [2, 3], ids=lambda r: f"right{r}")
@pytest.mark.parametrize("stride", [1, 2], ids=lambda s: f"s{s}")
def test_direct_right_padding(isa, dtype, width, right, stride):
    """Right padding of 2 or more adds output columns past the input: rows a whole number
    of vectors wide then have a last vector all in the padding, and the ones before it
    reach past the row (loaded under masks, not whole)."""
    run_case(dtype, channels=3, size=(9, width), kernel=(3, 3), stride=stride, padding=((1, 1), (1, right)),
             activation="relu6")


@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
@pytest.mark.parametrize("size", [(7, 7), (5, 10), (4, 4), (7, 9)], ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("residual", [False, True], ids=["plain", "residual"])
def test_interleaved_tails(isa, dtype, size, residual):
    """Planes of 49, 50, 16 and 63 pixels: the last square of pixels is 1, 2, a whole
    vector or 15 of 16 lanes (copied element by element when only 1 or 2)."""
    run_case(dtype, channels=19, size=size, kernel=(3, 3), padding=1, activation="relu6", residual=residual)


def test_threads_split_rows():
    """Few planes and 2 threads: planes are split into row blocks, with the same result;
    interleaved plans' channels into blocks of whole groups."""
    previous = fastconv.get_num_threads()
    try:
        for threads in (1, 2, 3):
            fastconv.set_num_threads(threads)
            # Layers of at least 3 x 64K multiply-adds (DWCONV2D_MIN_THREAD_MACS), so that
            # every thread gets work.
            run_case(np.float32, channels=1, size=(97, 90), kernel=(5, 5), stride=1, padding=2)
            run_case(np.float32, batch=2, channels=3, size=(99, 130), kernel=(3, 3), stride=2, padding=1)
            run_case(np.float32, channels=1, size=(147, 150), kernel=(3, 3), stride=1, padding=1)
            # Top padding deeper than whole row blocks: blocks whose every output row
            # reads it (the direct method tests those rows' input rows one by one).
            run_case(np.float32, channels=1, size=(40, 400), kernel=(3, 3), stride=1, padding=((20, 0), (1, 1)))
            run_case(np.float32, channels=1, size=(80, 900), kernel=(3, 3), stride=2, padding=((20, 1), (1, 0)))
            # Interleaved: channel blocks of whole 16-channel units, the last one partial.
            run_case(np.float32, channels=50, size=(30, 30), kernel=(5, 5), stride=1, padding=2)
            run_case(np.float64, channels=17, multiplier=3, size=(27, 31), kernel=(5, 5), stride=1, padding=2)
    finally:
        fastconv.set_num_threads(previous)


def test_matches_dense_path():
    """groups == in_channels == 1 (a 1-channel dense conv) routes here and agrees with the reference."""
    run_case(np.float64, channels=1, multiplier=4, size=(8, 8), kernel=(3, 3), padding=1)


def test_large_kernel_uses_workspace_tables(isa):
    """Kernels wider than the register-resident limit (8 taps) and a long dilated ring."""
    run_case(np.float32, channels=2, size=(30, 41), kernel=(9, 11), padding=(4, 5), dilation=(2, 1))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_random_configs(isa, data):
    kh, kw = data.draw(st.integers(1, 7), "kh"), data.draw(st.integers(1, 7), "kw")
    sh, sw = data.draw(st.integers(1, 3), "sh"), data.draw(st.integers(1, 3), "sw")
    dh, dw = data.draw(st.integers(1, 3), "dh"), data.draw(st.integers(1, 3), "dw")
    pads = [data.draw(st.integers(0, 4), f"pad{i}") for i in range(4)]
    h = data.draw(st.integers(max(1, dh * (kh - 1) + 1 - pads[0] - pads[1]), 24), "h")
    w = data.draw(st.integers(max(1, dw * (kw - 1) + 1 - pads[2] - pads[3]), 40), "w")
    run_case(data.draw(st.sampled_from(DTYPES), "dtype"), batch=data.draw(st.integers(1, 2), "batch"),
             channels=data.draw(st.integers(1, 5), "channels"), multiplier=data.draw(st.integers(1, 3), "mult"),
             size=(h, w), kernel=(kh, kw), stride=(sh, sw), padding=((pads[0], pads[1]), (pads[2], pads[3])),
             dilation=(dh, dw), bias=data.draw(st.booleans(), "bias"),
             activation=data.draw(st.sampled_from([None, "relu6", ("leaky_relu", 0.2)]), "act"),
             residual=data.draw(st.booleans(), "residual"), seed=data.draw(st.integers(0, 100), "seed"))


@pytest.mark.parametrize("size", [5, 16, 40, 100], ids=lambda s: f"{s}x{s}")
@pytest.mark.parametrize("activation", [None, "relu", ("leaky_relu", 0.1)], ids=str)
def test_nan_and_inf_propagate(isa, size, activation):
    """As in dense conv and torch: a NaN, or +inf and -inf in one window, gives NaN, whatever
    the activation (every method: planar, interleaved, direct, band)."""
    x = np.ones((1, 16, size, size), np.float32)
    x[0, 0, 2, 2] = np.nan
    x[0, 1, 1, 1], x[0, 1, 1, 2] = np.inf, -np.inf
    w = np.ones((16, 1, 3, 3), np.float32)
    result = fastconv.conv2d(x, w, padding=1, groups=16, activation=activation)
    with np.errstate(invalid="ignore"):  # inf - inf is NaN, on purpose
        expected = reference.conv2d(x, w, padding=1, groups=16, activation=activation)
    np.testing.assert_array_equal(np.isnan(result), np.isnan(expected))
    np.testing.assert_array_equal(result[~np.isnan(result)], expected[~np.isnan(expected)])


def test_denormals_flushed_like_the_dense_path():
    x = np.full((1, 4, 8, 8), 1e-40, np.float32)
    w = np.ones((4, 1, 3, 3), np.float32)
    assert np.all(fastconv.conv2d(x, w, padding=1, groups=4) == 0)
