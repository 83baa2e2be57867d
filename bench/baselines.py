"""The conv2d implementations the benchmarks compare, behind one signature:

    prepare(x, weight, bias, *, stride, padding, dilation, groups) -> run

``run()`` computes the convolution of the NCHW arrays and returns an ndarray. What a user
does once per layer (building an ONNX session, wrapping arrays as tensors) happens in
``prepare``; what they pay on every call happens in ``run``, which is what gets timed.
``padding`` is an int, (rows, columns) or ((top, bottom), (left, right)); stride and dilation
an int or a pair. A peer that is not installed raises pytest's skip in ``prepare``.
"""
import numpy as np
from numpy.lib.stride_tricks import as_strided

import common
import fastconv

# Conv has been stable since opset 11; 17 / IR 8 load in every onnxruntime of the last years.
ONNX_OPSET = 17
ONNX_IR_VERSION = 8


def _pair(value):
    return tuple(value) if isinstance(value, (tuple, list)) else (value, value)


def padding_per_side(padding):
    """(top, bottom, left, right) of an int, (rows, columns) or ((top, bottom), (left, right))."""
    rows, columns = _pair(padding)
    top, bottom = _pair(rows)
    left, right = _pair(columns)
    return top, bottom, left, right


def numpy_im2col_conv2d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """conv2d as most NumPy users write it (cs231n's conv_forward_fast): a strided view of
    every receptive field, copied into a column matrix, times the weight matrix.

    Unlike cs231n's im2col, the view is built from both kernel sizes, so non-square kernels,
    dilation and groups are handled. Computes in x's dtype.
    """
    n, _, height, width = x.shape
    out_channels, group_channels, kh, kw = weight.shape
    sh, sw = _pair(stride)
    dh, dw = _pair(dilation)
    top, bottom, left, right = padding_per_side(padding)
    if top or bottom or left or right:
        x = np.pad(x, ((0, 0), (0, 0), (top, bottom), (left, right)))
    oh = (height + top + bottom - dh * (kh - 1) - 1) // sh + 1
    ow = (width + left + right - dw * (kw - 1) - 1) // sw + 1
    stride_n, stride_c, stride_h, stride_w = x.strides
    # fields[b, g, c, p, q, i, j] = x[b, g * group_channels + c, i * sh + p * dh, j * sw + q * dw]
    fields = as_strided(
        x, shape=(n, groups, group_channels, kh, kw, oh, ow),
        strides=(stride_n, group_channels * stride_c, stride_c, dh * stride_h, dw * stride_w,
                 sh * stride_h, sw * stride_w),
        writeable=False)
    columns = fields.reshape(n, groups, group_channels * kh * kw, oh * ow)  # the im2col copy
    weight_matrix = weight.astype(x.dtype, copy=False).reshape(groups, out_channels // groups, -1)
    out = np.matmul(weight_matrix, columns).reshape(n, out_channels, oh, ow)
    if bias is not None:
        out += bias.reshape(1, -1, 1, 1)
    return out


def prepare_fastconv(x, weight, bias, *, stride, padding, dilation, groups):
    return lambda: fastconv.conv2d(x, weight, bias, stride, padding, dilation, groups)


def prepare_fastconv_plan(x, weight, bias, *, stride, padding, dilation, groups):
    """A prepacked fastconv.Conv2d, built once like an ONNX Runtime session."""
    plan = fastconv.Conv2d(weight, bias, stride, padding, dilation, groups)
    return lambda: plan(x)


def prepare_numpy_im2col(x, weight, bias, *, stride, padding, dilation, groups):
    return lambda: numpy_im2col_conv2d(x, weight, bias, stride, padding, dilation, groups)


def prepare_reference(x, weight, bias, *, stride, padding, dilation, groups):
    """fastconv.reference.conv2d: float64 loops over the kernel taps, slow; small layers only."""
    return lambda: fastconv.reference.conv2d(x, weight, bias, stride, padding, dilation, groups)


def prepare_torch(x, weight, bias, *, stride, padding, dilation, groups):
    torch = common.optional("torch")
    common.set_threads()  # torch may have been imported only now
    x_tensor, weight_tensor = torch.from_numpy(x), torch.from_numpy(weight)
    bias_tensor = None if bias is None else torch.from_numpy(bias)
    top, bottom, left, right = padding_per_side(padding)
    symmetric = top == bottom and left == right

    def run():
        with torch.no_grad():
            if symmetric:
                y = torch.nn.functional.conv2d(x_tensor, weight_tensor, bias_tensor, stride, (top, left),
                                               dilation, groups)
            else:  # torch's conv2d pads symmetrically only
                padded = torch.nn.functional.pad(x_tensor, (left, right, top, bottom))
                y = torch.nn.functional.conv2d(padded, weight_tensor, bias_tensor, stride, 0, dilation, groups)
            return y.numpy()

    return run


def onnx_conv_model(x_shape, weight, bias, *, stride, padding, dilation, groups):
    """A serialized ONNX model of one Conv node, weight and bias as initializers."""
    onnx = common.optional("onnx")
    from onnx import helper, numpy_helper

    elem_type = helper.np_dtype_to_tensor_dtype(weight.dtype)
    initializers = [numpy_helper.from_array(weight, "W")]
    if bias is not None:
        initializers.append(numpy_helper.from_array(bias, "B"))
    top, bottom, left, right = padding_per_side(padding)
    node = helper.make_node(
        "Conv", ["X", "W"] + (["B"] if bias is not None else []), ["Y"],
        kernel_shape=list(weight.shape[2:]), strides=list(_pair(stride)),
        pads=[top, left, bottom, right], dilations=list(_pair(dilation)), group=groups)
    graph = helper.make_graph(
        [node], "conv2d", [helper.make_tensor_value_info("X", elem_type, list(x_shape))],
        [helper.make_tensor_value_info("Y", elem_type, ["N", "C", "H", "W"])], initializer=initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", ONNX_OPSET)])
    model.ir_version = ONNX_IR_VERSION
    onnx.checker.check_model(model)
    return model.SerializeToString()


def prepare_onnxruntime(x, weight, bias, *, stride, padding, dilation, groups):
    model = onnx_conv_model(x.shape, weight, bias, stride=stride, padding=padding, dilation=dilation,
                            groups=groups)
    session = common.ort_session(model)
    return lambda: session.run(["Y"], {"X": x})[0]


IMPLEMENTATIONS = {
    "fastconv": prepare_fastconv,
    "fastconv-plan": prepare_fastconv_plan,
    "numpy-im2col": prepare_numpy_im2col,
    "reference": prepare_reference,
    "torch": prepare_torch,
    "onnxruntime": prepare_onnxruntime,
}
