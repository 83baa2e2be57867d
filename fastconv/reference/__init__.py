"""Plain NumPy versions of every fastconv op: the specification the kernels are tested against.

Written for clarity, not speed, and sharing no code with the kernels or their argument
handling. Every function computes in float64 and returns float64, whatever the input
dtype, so that a kernel's result can be compared with the exact-as-possible answer.
One module per family; everything is re-exported here.
"""
from .conv import activate, conv2d
from .fusion import batch_norm, conv_bn_act, fold_batchnorm, leaky_relu, prelu, relu, relu6
from .pool import adaptive_avg_pool2d, avg_pool2d, global_avg_pool2d, global_max_pool2d, max_pool2d

__all__ = ["activate", "conv2d", "batch_norm", "conv_bn_act", "fold_batchnorm", "relu", "relu6", "leaky_relu",
           "prelu", "max_pool2d", "avg_pool2d", "adaptive_avg_pool2d", "global_avg_pool2d", "global_max_pool2d"]
