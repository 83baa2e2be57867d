# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""The compiled layer: typed memoryviews in, the GIL released, one C call out.

Arguments arrive validated, cast and allocated by the plain-Python modules (``_conv.py``
and friends); nothing here checks shapes or dtypes beyond what the memoryview types
enforce. Arrays marked ``# OUT`` are written in place.
"""
from libc.stddef cimport ptrdiff_t

include "_ext_common.pxi"
include "_ext_conv.pxi"
include "_ext_activation.pxi"
include "_ext_batchnorm.pxi"
include "_ext_dwconv.pxi"
include "_ext_pool.pxi"
