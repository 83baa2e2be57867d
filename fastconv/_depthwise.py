"""Routing of depthwise convolutions (groups == in_channels) to their direct kernels."""


def is_depthwise(geometry):
    """Whether conv2d's ``geometry`` is a depthwise convolution: one input channel per group,
    each feeding ``out_channels / in_channels`` (the channel multiplier) output channels."""
    return geometry.groups == geometry.in_channels
