"""Shared fixtures: every kernel test runs once per ISA this machine supports."""
import numpy as np
import pytest

import fastconv


@pytest.fixture(params=fastconv.available_isas())
def isa(request):
    """Runs the test with the kernels of one ISA, restoring the previous one afterwards."""
    previous = fastconv.get_isa()
    fastconv.set_isa(request.param)
    yield request.param
    fastconv.set_isa(previous)


# Tolerance of each dtype: max |result - reference| relative to max |reference| (float64).
TOLERANCE = {np.float32: 1e-5, np.float64: 1e-12}


def assert_close(result, expected, dtype):
    """result (any dtype) against the float64 reference, relative to the reference's norm."""
    result = np.asarray(result, dtype=np.float64)
    assert result.shape == expected.shape
    assert np.isnan(result).sum() == np.isnan(expected).sum(), "NaN where the reference has none (unwritten output?)"
    finite = np.isfinite(expected)
    scale = np.abs(expected[finite]).max(initial=0.0)
    err = np.abs(result[finite] - expected[finite]).max(initial=0.0)
    err = err / scale if scale > 0 else err
    assert err <= TOLERANCE[np.dtype(dtype).type], f"relative error {err:.3g}"
    np.testing.assert_array_equal(result[~finite], expected[~finite])


def nan_filled(shape, dtype):
    """An output buffer whose every element fails the comparison unless written."""
    return np.full(shape, np.nan, dtype=dtype)


def input_layouts(base):
    """``base`` (float32, 4-D) as the layouts inputs arrive in besides C order: views with
    strides, Fortran order and big-endian; each must give base's result."""
    return {"transposed": base.transpose(0, 1, 3, 2).copy().transpose(0, 1, 3, 2),
            "strided": np.repeat(base, 2, axis=3)[..., ::2],
            "big-endian": base.astype(">f4"),
            "fortran": np.asfortranarray(base)}


LAYOUTS = ["transposed", "strided", "big-endian", "fortran"]


_guard_pages = []  # keeps the mappings alive for the session


def at_page_end(array):
    """A copy of ``array`` whose last byte is the last one before an unreadable page, so a
    kernel that reads past its end crashes the test instead of reading stray memory."""
    import ctypes
    import mmap

    array = np.ascontiguousarray(array)
    page = mmap.PAGESIZE
    pages = (array.nbytes + page - 1) // page + 1
    mapping = mmap.mmap(-1, pages * page)
    view = (ctypes.c_char * (pages * page)).from_buffer(mapping)
    libc = ctypes.CDLL(None, use_errno=True)
    libc.mprotect.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
    if libc.mprotect(ctypes.addressof(view) + (pages - 1) * page, page, 0) != 0:  # PROT_NONE
        pytest.skip("mprotect is not available")
    _guard_pages.append((mapping, view))
    guarded = np.frombuffer(mapping, dtype=array.dtype, count=array.size,
                            offset=(pages - 1) * page - array.nbytes).reshape(array.shape)
    guarded[...] = array
    return guarded
