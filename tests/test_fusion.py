"""fold_batchnorm, conv_bn_act and the Conv2d plan against the unfused reference."""
import pickle

import numpy as np
import pytest

import fastconv
from fastconv import reference
from conftest import assert_close, at_page_end, nan_filled


def make(shape, dtype=np.float32, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


def bn_params(channels, seed=5):
    rng = np.random.default_rng(seed)
    return (rng.uniform(0.5, 1.5, channels), rng.standard_normal(channels), rng.standard_normal(channels),
            rng.uniform(0.1, 2.0, channels))


@pytest.mark.parametrize("with_bias", [False, True])
def test_fold_batchnorm_is_exact_algebra(with_bias):
    x, w = make((2, 3, 7, 7)), make((5, 3, 3, 3), seed=1)
    b = make(5, seed=2) if with_bias else None
    gamma, beta, mean, var = bn_params(5)
    fw, fb = fastconv.fold_batchnorm(w, b, gamma, beta, mean, var, eps=1e-3)
    assert fw.dtype == np.float32 and fb.dtype == np.float32
    expected = reference.batch_norm(reference.conv2d(x, w, b, padding=1), gamma, beta, mean, var, eps=1e-3)
    assert_close(reference.conv2d(x, fw, fb, padding=1), expected, np.float32)
    rw, rb = reference.fold_batchnorm(w, b, gamma, beta, mean, var, eps=1e-3)
    assert_close(fw, rw, np.float32)
    assert_close(fb, rb, np.float32)


@pytest.mark.parametrize("activation", ["relu", "relu6", ("leaky_relu", 0.1), ("prelu", "per-channel"), None], ids=str)
@pytest.mark.parametrize("with_residual", [False, True], ids=["plain", "residual"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
def test_conv_bn_act(isa, activation, with_residual, dtype):
    x, w = make((2, 6, 9, 10), dtype), make((16, 6, 3, 3), dtype, seed=1)
    if activation == ("prelu", "per-channel"):
        activation = ("prelu", np.linspace(-0.3, 0.3, 16))
    residual = make((2, 16, 9, 10), dtype, seed=3) if with_residual else None
    params = bn_params(16)
    expected = reference.conv_bn_act(x, w, *params, padding=1, activation=activation, residual=residual)
    out = nan_filled((2, 16, 9, 10), dtype)
    result = fastconv.conv_bn_act(x, w, *params, padding=1, activation=activation, residual=residual, out=out)
    assert result is out
    assert_close(result, expected, dtype)


def test_plan_matches_functional_and_reference(isa):
    x, w, b = make((2, 8, 12, 11)), make((24, 4, 3, 3), seed=1), make(24, seed=2)
    params = bn_params(24)
    plan = fastconv.Conv2d(w, b, stride=(1, 2), padding="valid", groups=2, activation="relu6", bn=params)
    residual = make((2, 24, 10, 5), seed=3)
    expected = reference.conv_bn_act(x, w, *params, bias=b, stride=(1, 2), groups=2, activation="relu6",
                                     residual=residual)
    assert_close(plan(x, residual=residual), expected, np.float32)
    # Other input sizes reuse the plan; each gets its own geometry.
    x2 = make((1, 8, 20, 9), seed=4)
    assert_close(plan(x2), reference.conv_bn_act(x2, w, *params, bias=b, stride=(1, 2), groups=2,
                                                 activation="relu6"), np.float32)


def test_plan_reports_and_pickles():
    w = make((32, 16, 3, 3))
    plan = fastconv.Conv2d(w, np.zeros(32, np.float32), padding=1, activation="relu",
                           bn={"gamma": np.ones(32), "beta": np.zeros(32), "running_mean": np.zeros(32),
                               "running_var": np.ones(32), "eps": 0.0})
    assert plan.parameter_count == 32 * 16 * 9 + 32
    assert plan.flops((1, 16, 56, 56)) == 2 * 32 * 56 * 56 * 16 * 9
    workspace = plan.workspace_bytes((1, 16, 56, 56))
    assert 0 < workspace <= 2 * 2**20
    x = make((1, 16, 56, 56), seed=1)
    clone = pickle.loads(pickle.dumps(plan))
    np.testing.assert_array_equal(clone(x), plan(x))
    assert "Conv2d(16->32" in repr(plan)


def test_geometry_pickles_with_its_compiled_shape():
    plan = fastconv.Conv2d(make((8, 4, 3, 3)), padding=1)
    geometry = plan.geometry((2, 4, 10, 10))
    geometry.c_shape()  # cached on the geometry
    clone = pickle.loads(pickle.dumps(geometry))
    assert clone == geometry
    x = make((2, 4, 10, 10), seed=3)
    assert_close(fastconv._conv.run_conv2d(clone, x, plan.weight, None, None, -np.inf, np.inf, None, None),
                 reference.conv2d(x, plan.weight, padding=1), np.float32)


def test_plan_input_shape_arguments():
    """Shapes given to flops() and workspace_bytes() are checked, never cached as floats."""
    plan = fastconv.Conv2d(make((8, 4, 3, 3)))
    assert plan.flops((1, 4, 10, 10)) == plan.flops(np.array([1, 4, 10, 10])) == 2 * 8 * 8 * 8 * 4 * 9
    with pytest.raises(TypeError, match="input_shape"):
        plan.flops((1, 4, 10.0, 10))
    with pytest.raises(ValueError, match="input_shape"):
        plan.workspace_bytes((4, 10, 10))
    with pytest.raises(ValueError, match="input_shape"):
        plan.flops((-1, 4, 10, 10))
    with pytest.raises(TypeError, match="input_shape"):
        plan.flops((True, 4, 10, 10))


@pytest.mark.parametrize("shape", [(1, 64, 56, 56), (8, 64, 56, 56), (1, 512, 7, 7), (1, 256, 112, 112)], ids=str)
def test_workspace_is_bounded(shape):
    """Beyond the weights, a call never needs more than ~2 MiB, whatever the input size."""
    plan = fastconv.Conv2d(make((64, shape[1], 3, 3)), padding=1)
    assert plan.workspace_bytes(shape) <= 2 * 2**20 + 64 * shape[1] * 9 * 4


def test_plan_validates_early():
    with pytest.raises(ValueError, match="stride must be >= 1"):
        fastconv.Conv2d(make((4, 3, 3, 3)), stride=0)
    with pytest.raises(ValueError, match="activation"):
        fastconv.Conv2d(make((4, 3, 3, 3)), activation="swish")
    with pytest.raises(ValueError, match="bn is missing"):
        fastconv.Conv2d(make((4, 3, 3, 3)), bn={"gamma": np.ones(4)})
    with pytest.raises(TypeError, match="bn must be"):
        fastconv.Conv2d(make((4, 3, 3, 3)), bn=3)
    plan = fastconv.Conv2d(make((4, 3, 3, 3)))
    with pytest.raises(ValueError, match="weight must have"):
        plan(make((1, 5, 8, 8)))


@pytest.mark.parametrize("changes,error,words", [
    (dict(running_var=-np.ones(4)), ValueError, "running_var + eps must be > 0"),
    (dict(gamma=np.ones(3)), ValueError, "gamma must have shape (4,)"),
    (dict(eps=-1.0), ValueError, "eps must be >= 0"),
    (dict(eps="x"), TypeError, "eps must be a real number"),
    (dict(bias=np.ones(5)), ValueError, "bias must have shape (4,)"),
])
def test_fold_batchnorm_errors(changes, error, words):
    args = dict(weight=make((4, 3, 3, 3)), bias=None, gamma=np.ones(4), beta=np.zeros(4),
                running_mean=np.zeros(4), running_var=np.ones(4))
    args.update(changes)
    with pytest.raises(error) as info:
        fastconv.fold_batchnorm(**args)
    assert words in str(info.value)


def test_denormal_inputs_are_flushed_not_slow():
    """Denormal weights (as BN folding can make) compute as zeros: results stay right."""
    x = make((1, 8, 16, 16))
    w = make((8, 8, 3, 3), seed=1)
    w[::2] = 1e-40  # denormal in float32
    result = fastconv.conv2d(x, w, padding=1)
    assert np.all(result[:, ::2] == 0)
    assert_close(result[:, 1::2], reference.conv2d(x, w[1::2], padding=1), np.float32)


def test_denormal_mode_is_restored_after_a_call():
    fastconv.conv2d(make((1, 2, 8, 8)), make((2, 2, 3, 3)))
    tiny = np.array([1e-38], np.float32) * np.float32(1e-3)
    assert tiny[0] != 0  # NumPy still sees denormals: the flush lasted only for the call


# Plans pack weights for transposed tiles (pixels x channels) where those waste less than
# pixel-wide tiles: deep layers with small maps. Shapes chosen so that they do on AVX-512.
TRANSPOSED_SHAPES = [
    # (batch, cin, cout, h, w, kernel, padding, stride, groups)
    (1, 64, 64, 7, 7, 3, 1, 1, 1),
    (2, 48, 33, 7, 7, 3, 1, 1, 1),
    (1, 96, 65, 14, 14, 1, 0, 1, 1),
    (1, 64, 31, 5, 13, 3, 1, 1, 1),
    (1, 128, 64, 15, 15, 3, 1, 2, 1),
    (2, 96, 96, 7, 21, 3, (1, 2), 1, 3),
    (1, 256, 40, 3, 3, 3, 1, 1, 1),
    (1, 64, 32, 7, 7, 3, 1, 1, 1),  # tiles across wide rows: stored in runs
    (2, 64, 64, 7, 9, 3, 1, 1, 2),
    (1, 256, 64, 14, 14, 1, 0, 1, 1),
]


def check_plan_into_slice(x, wt, b, stride, padding, groups, dtype, dilation=1, plain_call=False):
    """A plan with PReLU and a residual, writing into a channel slice of a NaN-filled buffer,
    against the reference (and, with `plain_call`, conv2d with the same arguments, which packs
    per call where that pays); returns its geometry."""
    cout = wt.shape[0]
    alpha = np.linspace(-0.5, 0.5, cout)
    kwargs = dict(stride=stride, padding=padding, dilation=dilation, groups=groups, activation=("prelu", alpha))
    plan = fastconv.Conv2d(wt, b, **kwargs)
    geometry = plan.geometry(x.shape)
    residual = make(geometry.out_shape, dtype, seed=3)
    expected = reference.conv2d(x, wt, b, stride, padding, dilation, groups, activation=("prelu", alpha),
                                residual=residual)
    buf = nan_filled((x.shape[0], cout + 5, *geometry.out_shape[2:]), dtype)
    plan(x, residual=residual, out=buf[:, 2:cout + 2])
    assert_close(buf[:, 2:cout + 2], expected, dtype)
    assert np.isnan(buf[:, :2]).all() and np.isnan(buf[:, cout + 2:]).all()
    if plain_call:
        assert_close(fastconv.conv2d(x, wt, b, residual=residual, **kwargs), expected, dtype)
    return geometry


def assert_avx512_method(isa, dtype, geometry, *methods):
    """The path under test is taken: on AVX-512 float32 (where these paths live), the
    plan's conv2d method for the geometry is one of `methods`."""
    if isa == "avx512" and dtype == np.float32:
        assert fastconv._ext.conv2d_method(geometry.c_shape(), "float32", True) in methods


@pytest.mark.parametrize("case", TRANSPOSED_SHAPES, ids=lambda c: "x".join(map(str, c[:5])))
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
def test_plan_transposed_tiles(isa, case, dtype):
    n, cin, cout, h, w, k, padding, stride, groups = case
    x, wt, b = make((n, cin, h, w), dtype), make((cout, cin // groups, k, k), dtype, seed=1), make(cout, dtype, seed=2)
    geometry = check_plan_into_slice(x, wt, b, stride, padding, groups, dtype)
    if isa == "avx512" and case in (TRANSPOSED_SHAPES[0], TRANSPOSED_SHAPES[-1]):  # the path under test is taken
        assert fastconv._ext.conv2d_transposed_channels(geometry.c_shape(), "float32") > 0


# Transposed tiles skip the kernel rows that read padding only: rows near the top and
# bottom edges, whole rows of padding, dilated and strided taps, non-square kernels; one
# row at a time, or across rows where rows hold no dropped columns.
PADDING_ROW_CASES = [
    # (batch, cin, cout, h, w, kernel, padding, stride, dilation)
    (1, 64, 40, 7, 7, (3, 3), ((3, 1), (1, 1)), 1, 1),
    (2, 32, 64, 9, 7, (5, 3), ((2, 4), (1, 1)), (2, 1), (2, 1)),
    (1, 48, 64, 14, 14, (3, 1), ((3, 3), (0, 0)), 1, (3, 1)),
    (1, 40, 64, 6, 7, (2, 3), ((0, 5), (1, 1)), 1, 1),
    # rows without dropped columns: tiles run across rows, skipping what no row of theirs reads
    (1, 64, 64, 17, 17, (7, 1), ((3, 3), (0, 0)), 1, 1),
    (2, 48, 96, 9, 9, (5, 1), ((4, 1), (0, 0)), (1, 1), (2, 1)),
    (1, 96, 64, 14, 14, (1, 1), 0, 2, 1),
]


@pytest.mark.parametrize("case", PADDING_ROW_CASES, ids=lambda c: "x".join(map(str, c[:5])))
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
def test_plan_transposed_tiles_skip_padding_rows(isa, case, dtype):
    n, cin, cout, h, w, kernel, padding, stride, dilation = case
    x, wt, b = make((n, cin, h, w), dtype), make((cout, cin) + kernel, dtype, seed=1), make(cout, dtype, seed=2)
    alpha = np.linspace(-0.5, 0.5, cout)  # PReLU with no residual: the epilogue before the store's transposes
    plan = fastconv.Conv2d(wt, b, stride=stride, padding=padding, dilation=dilation, activation=("prelu", alpha))
    expected = reference.conv2d(x, wt, b, stride, padding, dilation, activation=("prelu", alpha))
    assert_close(plan(x), expected, dtype)
    if isa == "avx512":  # the path under test is taken (compact tiles skip rows as the others do)
        assert fastconv._ext.conv2d_method(plan.geometry(x.shape).c_shape(), "float32", True) in ("transposed",
                                                                                                   "compact")


# Rows whose width no tile divides (19, 10) take compact transposed tiles: consecutive output
# pixels across rows, each read at its own offset, none computed and dropped. Padded columns
# on both sides (reads past a staged band's end), a band split of a deep input, x itself as
# the B source (no padding, stride 1), strides, groups, partial last tiles.
COMPACT_CASES = [
    # (batch, cin, cout, h, w, kernel, padding, stride, groups)
    (1, 64, 64, 19, 19, (1, 7), ((0, 0), (3, 3)), 1, 1),
    (2, 48, 64, 35, 35, (3, 3), 0, 2, 1),
    (1, 64, 64, 12, 12, (3, 3), 0, 1, 1),
    (2, 64, 64, 17, 17, (3, 3), ((1, 2), (2, 1)), 1, 2),
    (1, 1536, 32, 19, 19, (1, 7), ((0, 0), (3, 3)), 1, 1),
]


@pytest.mark.parametrize("case", COMPACT_CASES, ids=lambda c: "x".join(map(str, c[:5])))
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
def test_plan_compact_transposed_tiles(isa, case, dtype):
    n, cin, cout, h, w, kernel, padding, stride, groups = case
    x = make((n, cin, h, w), dtype)
    wt, b = make((cout, cin // groups) + kernel, dtype, seed=1), make(cout, dtype, seed=2)
    geometry = check_plan_into_slice(x, wt, b, stride, padding, groups, dtype)
    assert_avx512_method(isa, dtype, geometry, "compact", "edges")  # with edge columns first or not


# Compact tiles that take the columns reading padding first, column by column, each tile
# skipping the kernel columns (and rows) that read padding for all its pixels: both sides
# and one, strides and dilations, columns that are left and right edges at once (a
# 3-wide map), columns that read padding only (no k at all), several bands, groups.
EDGE_CASES = [
    # (x shape, weight shape, stride, padding, dilation, groups)
    ((1, 64, 19, 19), (64, 64, 1, 7), 1, ((0, 0), (3, 3)), 1, 1),
    ((2, 64, 16, 16), (64, 64, 3, 3), 2, ((1, 1), (2, 1)), 2, 1),
    ((1, 64, 6, 3), (64, 64, 1, 5), 1, ((0, 0), (2, 2)), 1, 1),
    ((1, 64, 9, 5), (64, 64, 1, 3), 1, ((0, 0), (4, 4)), 1, 1),
    ((1, 1536, 19, 19), (32, 1536, 1, 7), 1, ((0, 0), (3, 3)), 1, 1),
    ((1, 128, 19, 19), (64, 128, 1, 3), 1, ((0, 0), (0, 2)), 1, 1),
    ((2, 96, 10, 10), (64, 48, 3, 3), 1, 1, 1, 2),
]


@pytest.mark.parametrize("case", EDGE_CASES, ids=lambda c: "x".join(map(str, c[0] + c[1][2:])))
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
def test_plan_edge_column_tiles(isa, case, dtype):
    x_shape, w_shape, stride, padding, dilation, groups = case
    x, wt, b = make(x_shape, dtype), make(w_shape, dtype, seed=1), make(w_shape[0], dtype, seed=2)
    geometry = check_plan_into_slice(x, wt, b, stride, padding, groups, dtype, dilation, plain_call=True)
    if case != EDGE_CASES[-1]:
        assert_avx512_method(isa, dtype, geometry, "edges")


# Transposed tiles of one row whose first and last pixels skip, on their own, the taps of
# each kernel row that read padding for them: both edges (7 wide, in groups), edges whose
# skipped taps would overlap (a 5-wide input padded by 2 on each side), two tiles per row
# (28 wide: the first skips on the left, the second on the right), channel blocks of 10.
EDGE_PIXEL_CASES = [
    # (x shape, weight shape, padding, groups)
    ((1, 64, 7, 7), (64, 32, 3, 3), 1, 2),
    ((2, 64, 5, 5), (64, 64, 3, 3), 2, 1),
    ((1, 96, 28, 28), (64, 96, 3, 3), 1, 1),
    ((1, 40, 8, 8), (48, 40, 3, 3), 1, 1),
]


@pytest.mark.parametrize("case", EDGE_PIXEL_CASES, ids=lambda c: "x".join(map(str, c[0] + c[1][2:])))
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
def test_plan_edge_pixel_taps(isa, case, dtype):
    x_shape, w_shape, padding, groups = case
    x, wt, b = make(x_shape, dtype), make(w_shape, dtype, seed=1), make(w_shape[0], dtype, seed=2)
    geometry = check_plan_into_slice(x, wt, b, 1, padding, groups, dtype, plain_call=True)
    assert_avx512_method(isa, dtype, geometry, "transposed")


# Compact tiles of layers without padding read each pixel at its strides in x itself, with
# no staging: 1x1 stride 2 (and 3), strided 3x3 whose dilation leaves one phase of taps,
# non-square strides and kernels in groups, batches; x ends at an unreadable page.
STRIDED_X_CASES = [
    # (x shape, weight shape, stride, dilation, groups)
    ((1, 128, 34, 34), (256, 128, 1, 1), 2, 1, 1),
    ((2, 32, 35, 35), (96, 32, 3, 3), 2, 1, 1),
    ((1, 64, 23, 20), (64, 32, 3, 2), (3, 2), (1, 2), 2),
    ((1, 64, 29, 29), (128, 64, 3, 3), 2, 2, 1),
    ((1, 96, 15, 15), (64, 96, 1, 1), 3, 1, 1),
    ((2, 128, 18, 18), (128, 128, 1, 1), 2, 1, 1),
]


@pytest.mark.parametrize("case", STRIDED_X_CASES, ids=lambda c: "x".join(map(str, c[0] + c[1][2:])))
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
def test_plan_compact_tiles_read_x_at_strides(isa, case, dtype):
    x_shape, w_shape, stride, dilation, groups = case
    x, wt, b = at_page_end(make(x_shape, dtype)), make(w_shape, dtype, seed=1), make(w_shape[0], dtype, seed=2)
    geometry = check_plan_into_slice(x, wt, b, stride, 0, groups, dtype, dilation, plain_call=True)
    assert_avx512_method(isa, dtype, geometry, "compact")


# Transposed tiles of one output row skip every tap that reads padding (kernel rows by the
# row, the edge pixels' own kernel columns on AVX-512's channel blocks), so they read x
# itself, with no staged copy: padding on every side (two tiles a row, rows of 7), strides
# of 2 (pixels of a row read at the column stride), groups, vertical padding only (any
# ISA), rows of one partial tile (whose pixels past the row must not be read past the end
# of x); up to three edge pixels a side that skip different kernel columns (1x7, 7x7 and
# 5x5 kernels, asymmetric padding, both sides in one tile of a 7-wide row). The ISA named
# takes that path.
X_ROW_CASES = [
    # (x shape, weight shape, stride, padding, groups, ISA)
    ((2, 32, 28, 28), (48, 32, 3, 3), 1, 1, 1, "avx512"),
    ((1, 64, 7, 7), (96, 64, 3, 3), 1, 1, 1, "avx512"),
    ((1, 48, 29, 28), (64, 48, 3, 3), (2, 1), 1, 1, "avx512"),
    ((1, 64, 28, 28), (64, 64, 3, 3), 2, 1, 1, "avx512"),
    ((1, 64, 20, 25), (64, 64, 3, 3), (1, 2), ((1, 1), (0, 0)), 1, "avx2"),
    ((1, 64, 14, 14), (128, 32, 3, 3), 1, 1, 2, "avx512"),
    ((1, 64, 8, 8), (64, 64, 3, 1), 1, ((1, 1), (0, 0)), 1, "scalar"),
    ((1, 16, 5, 13), (32, 16, 3, 1), 1, ((1, 1), (0, 0)), 1, "avx512"),  # rows of one partial tile
    ((1, 64, 20, 20), (64, 64, 3, 3), (2, 1), ((1, 1), (0, 0)), 1, "avx2"),
    ((1, 64, 17, 17), (64, 64, 1, 7), 1, ((0, 0), (3, 3)), 1, "avx512"),
    ((2, 48, 17, 17), (40, 48, 7, 1), 1, ((3, 3), (0, 0)), 1, "avx512"),
    ((1, 32, 17, 17), (32, 32, 7, 7), 1, 3, 1, "avx512"),
    ((1, 32, 14, 14), (48, 32, 5, 5), 1, 2, 1, "avx512"),
    ((1, 64, 17, 17), (64, 64, 1, 5), 1, ((0, 0), (3, 1)), 1, "avx512"),
    ((1, 32, 7, 7), (48, 32, 1, 7), 1, ((0, 0), (3, 3)), 1, "avx512"),
]


@pytest.mark.parametrize("case", X_ROW_CASES, ids=lambda c: "x".join(map(str, c[0] + c[1][2:])))
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
def test_plan_row_tiles_read_x(isa, case, dtype):
    x_shape, w_shape, stride, padding, groups, taken_on = case
    x, wt, b = at_page_end(make(x_shape, dtype)), make(w_shape, dtype, seed=1), make(w_shape[0], dtype, seed=2)
    check_plan_into_slice(x, wt, b, stride, padding, groups, dtype, plain_call=True)
    if isa == taken_on and dtype == np.float32:
        # No staged copy: the workspace holds just each thread's scratch tile (17 pixels at
        # most) and the tap offsets.
        k_size = w_shape[1] * w_shape[2] * w_shape[3]
        scratch = fastconv.get_num_threads() * k_size * 17 * 4 + 2 * k_size * 8
        plan = fastconv.Conv2d(wt, b, stride=stride, padding=padding, groups=groups)
        assert plan.workspace_bytes(x_shape) <= scratch
        assert fastconv._ext.conv2d_method(plan.geometry(x_shape).c_shape(), "float32", True) == "transposed"


# Regular tiles take each output row apart where the rows' last tiles, run as one-vector
# tails, waste less than the dropped columns of wide rows (the 7x7 s2 stem: 48 + 48 + 16
# of 115): padded and strided, unpadded (x itself as the B source, rows ending at a page),
# a batch.
REGULAR_ROW_CASES = [
    # (x shape, weight shape, stride, padding)
    ((1, 3, 128, 128), (64, 3, 7, 7), 2, 3),
    ((2, 5, 6, 48), (24, 5, 3, 3), 1, 1),
    ((1, 4, 7, 50), (16, 4, 3, 3), 1, 0),
]


@pytest.mark.parametrize("case", REGULAR_ROW_CASES, ids=lambda c: "x".join(map(str, c[0] + c[1][2:])))
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
def test_plan_regular_tiles_per_row(isa, case, dtype):
    x_shape, w_shape, stride, padding = case
    x, wt, b = at_page_end(make(x_shape, dtype)), make(w_shape, dtype, seed=1), make(w_shape[0], dtype, seed=2)
    geometry = check_plan_into_slice(x, wt, b, stride, padding, 1, dtype, plain_call=True)
    assert_avx512_method(isa, dtype, geometry, "rows")  # tails of 8 rows or more


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("activation", [None, "relu6"])
@pytest.mark.parametrize("kernel,padding", [((1, 7), ((0, 0), (3, 3))), ((7, 1), ((3, 3), (0, 0))), ((3, 3), 1)],
                         ids=["1x7", "7x1", "3x3"])
def test_plan_rows_of_17(isa, kernel, padding, activation, dtype):
    """Rows of 17 (Inception-v3's 17x17 maps) take one tile a row on AVX-512, 17 pixels by
    16 channels, whose 17th pixel is stored element by element (without a residual): with
    and without an epilogue, a partial last panel, into a channel slice."""
    x, wt, b = make((2, 32, 17, 17), dtype), make((40, 32) + kernel, dtype, seed=1), make(40, dtype, seed=2)
    plan = fastconv.Conv2d(wt, b, padding=padding, activation=activation)
    buf = nan_filled((2, 43, 17, 17), dtype)
    plan(x, out=buf[:, 1:41])
    assert_close(buf[:, 1:41], reference.conv2d(x, wt, b, 1, padding, activation=activation), dtype)
    assert np.isnan(buf[:, [0, 41, 42]]).all()
    assert_close(fastconv.conv2d(x, wt, padding=padding), reference.conv2d(x, wt, None, 1, padding), dtype)
    if isa == "avx512" and dtype == np.float32 and kernel != (3, 3):  # the path under test is taken
        assert fastconv._ext.conv2d_transposed_channels(plan.geometry(x.shape).c_shape(), "float32") == 16


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("cout_per_group,size,batch", [(16, 14, 1), (32, 7, 2), (16, 9, 1), (32, 5, 1)])
def test_plan_narrow_transposed_tiles_for_groups(isa, cout_per_group, size, batch, dtype):
    """Groups of 16 or 32 output channels take transposed tiles one or two vectors wide,
    with the residual and PReLU in their epilogue, into a channel slice."""
    groups, cin_g = 8, 12
    cout = groups * cout_per_group
    x = make((batch, groups * cin_g, size, size), dtype)
    wt, b = make((cout, cin_g, 3, 3), dtype, seed=1), make(cout, dtype, seed=2)
    residual, alpha = make((batch, cout, size, size), dtype, seed=3), np.linspace(-0.5, 0.5, cout)
    plan = fastconv.Conv2d(wt, b, padding=1, groups=groups, activation=("prelu", alpha))
    expected = reference.conv2d(x, wt, b, 1, 1, 1, groups, activation=("prelu", alpha), residual=residual)
    buf = nan_filled((batch, cout + 2, size, size), dtype)
    plan(x, residual=residual, out=buf[:, 1:-1])
    assert_close(buf[:, 1:-1], expected, dtype)
    assert np.isnan(buf[:, [0, -1]]).all()
    if isa == "avx512" and size in (14, 7):  # the path under test is taken
        shape, name = plan.geometry(x.shape).c_shape(), np.dtype(dtype).name
        assert fastconv._ext.conv2d_method(shape, name, True) == "transposed"
        if dtype == np.float32:
            assert fastconv._ext.conv2d_transposed_channels(shape, name) == cout_per_group


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("kernel,padding", [((3, 3), 1), ((1, 3), (0, 1)), ((3, 1), (1, 0))])
@pytest.mark.parametrize("cout", [48, 100])
def test_plan_row_of_8_tiles(isa, kernel, padding, cout, dtype):
    """8x8 maps (Inception-v3's last blocks) run one transposed tile per row of 8 pixels."""
    x, wt = make((2, 64, 8, 8), dtype), make((cout, 64) + kernel, dtype, seed=1)
    plan = fastconv.Conv2d(wt, make(cout, dtype, seed=2), padding=padding, activation="relu6")
    expected = reference.conv2d(x, wt, plan.bias, 1, padding, activation="relu6")
    assert_close(plan(x), expected, dtype)
    if isa == "avx512" and dtype == np.float32 and cout == 48:  # the path under test is taken
        shape = plan.geometry(x.shape).c_shape()
        assert fastconv._ext.conv2d_method(shape, "float32", True) in ("transposed", "edges")
        assert fastconv._ext.conv2d_transposed_channels(shape, "float32") == 48


@pytest.mark.parametrize("case", TRANSPOSED_SHAPES, ids=lambda c: "x".join(map(str, c[1:5])))
def test_functional_call_packs_for_transposed_tiles_on_batches(isa, case):
    """Batches of small maps amortize packing the weights inside a plain conv2d call."""
    _, cin, cout, h, w, k, padding, stride, groups = case
    x, wt, b = make((8, cin, h, w)), make((cout, cin // groups, k, k), seed=1), make(cout, seed=2)
    expected = reference.conv2d(x, wt, b, stride, padding, 1, groups, activation="relu")
    geometry = fastconv.Conv2d(wt, stride=stride, padding=padding, groups=groups).geometry(x.shape)
    buf = nan_filled((8, cout + 3, *geometry.out_shape[2:]), np.float32)
    fastconv.conv2d(x, wt, b, stride, padding, 1, groups, activation="relu", out=buf[:, 1:cout + 1])
    assert_close(buf[:, 1:cout + 1], expected, np.float32)
    assert np.isnan(buf[:, :1]).all() and np.isnan(buf[:, cout + 1:]).all()
    if isa == "avx512" and case == TRANSPOSED_SHAPES[-1]:  # the path under test is taken: it packs
        shape = geometry.c_shape()
        assert fastconv._ext.conv2d_method(shape, "float32", False) == "transposed"
        assert fastconv._ext.conv2d_workspace_size(shape, "float32", False) > \
            fastconv._ext.conv2d_workspace_size(shape, "float32", True)


def test_plan_packs_again_after_an_isa_change():
    x, wt = make((1, 64, 7, 7)), make((64, 64, 3, 3), seed=1)
    plan = fastconv.Conv2d(wt, padding=1)
    expected = reference.conv2d(x, wt, padding=1)
    previous = fastconv.get_isa()
    try:
        for isa in fastconv.available_isas():
            fastconv.set_isa(isa)
            assert_close(plan(x), expected, np.float32)
    finally:
        fastconv.set_isa(previous)


@pytest.mark.parametrize("groups,cout", [(6, 6), (6, 12), (2, 8)], ids=["depthwise", "depthwise-x2", "grouped"])
def test_conv_bn_act_grouped(isa, groups, cout):
    x, w = make((2, 6, 11, 9)), make((cout, 6 // groups, 3, 3), seed=1)
    params = bn_params(cout)
    expected = reference.conv_bn_act(x, w, *params, stride=(2, 1), padding=1, groups=groups, activation="relu6")
    result = fastconv.conv_bn_act(x, w, *params, stride=(2, 1), padding=1, groups=groups, activation="relu6")
    assert_close(result, expected, np.float32)


def test_plan_owns_its_weights():
    """Refilling the caller's arrays after building a plan changes none of its results."""
    w, b = make((64, 64, 3, 3), seed=1), make(64, seed=2)
    plan = fastconv.Conv2d(w, b, padding=1)
    small, large = make((1, 64, 7, 7)), make((1, 64, 20, 20), seed=3)
    before = plan(small), plan(large)
    w *= 2
    b *= 2
    after = plan(small), plan(large)
    for old, new in zip(before, after):
        np.testing.assert_array_equal(old, new)


def test_plan_accepts_any_valid_dilation():
    w = make((8, 8, 1, 2))
    plan = fastconv.Conv2d(w, dilation=(1, 512))
    x = make((1, 8, 1, 1000), seed=1)
    assert_close(plan(x), reference.conv2d(x, w, dilation=(1, 512)), np.float32)


def test_plan_pickled_by_an_earlier_version_still_runs():
    """Plans pickled before the per-shape cache was renamed (state key `_geometries`)."""
    w, x = make((8, 4, 3, 3), seed=1), make((1, 4, 7, 7))
    plan = fastconv.Conv2d(w, padding=1)
    state = plan.__getstate__()
    state.update(_geometries={}, _packed={})
    old = fastconv.Conv2d.__new__(fastconv.Conv2d)
    old.__setstate__(state)
    assert_close(old(x), reference.conv2d(x, w, padding=1), np.float32)
