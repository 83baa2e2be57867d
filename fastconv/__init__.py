"""fastconv: fast CPU convolution kernels for NumPy.

Hand-written C kernels with run-time ISA dispatch (scalar, AVX2+FMA, AVX-512F) and
OpenMP threads behind a small NumPy API; ``fastconv.reference`` holds plain NumPy
versions of every op, readable as the specification.
"""
try:
    from . import _ext  # noqa: F401
except ImportError as exc:  # pragma: no cover - only without a build
    raise ImportError("fastconv's compiled extension is missing: install with `pip install -e .` "
                      f"from the source tree ({exc})") from exc

from . import reference
from ._config import (available_isas, get_isa, get_num_threads, set_isa, set_num_threads,
                      show_config, _configure_from_environment)
from ._activation import leaky_relu, prelu, relu, relu6
from ._conv import conv2d
from ._fusion import Conv2d, conv_bn_act, fold_batchnorm
from ._pool import adaptive_avg_pool2d, avg_pool2d, global_avg_pool2d, global_max_pool2d, max_pool2d

__version__ = "0.1.0"

__all__ = ["conv2d", "Conv2d", "conv_bn_act", "fold_batchnorm", "relu", "relu6", "leaky_relu", "prelu",
           "max_pool2d", "avg_pool2d", "global_avg_pool2d", "global_max_pool2d", "adaptive_avg_pool2d",
           "reference", "show_config", "get_isa", "set_isa", "available_isas", "get_num_threads", "set_num_threads"]

_configure_from_environment()
