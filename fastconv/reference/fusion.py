"""Reference BatchNorm, its folding, and the standalone activations (see the package docstring)."""
import numpy as np

from .conv import activate, conv2d


def batch_norm(y, gamma, beta, running_mean, running_var, eps=1e-5):
    """Inference-mode BatchNorm over axis 1: (y - mean) / sqrt(var + eps) * gamma + beta."""
    shape = (1, -1) + (1,) * (np.ndim(y) - 2)
    f64 = lambda a: np.asarray(a, dtype=np.float64).reshape(shape)  # noqa: E731
    return (np.asarray(y, dtype=np.float64) - f64(running_mean)) / np.sqrt(f64(running_var) + eps) * f64(gamma) + f64(beta)


def fold_batchnorm(weight, bias, gamma, beta, running_mean, running_var, eps=1e-5):
    """The folded (weight, bias) such that conv with them equals batch_norm(conv(...))."""
    scale = np.asarray(gamma, np.float64) / np.sqrt(np.asarray(running_var, np.float64) + eps)
    bias = np.zeros(len(scale)) if bias is None else np.asarray(bias, np.float64)
    return (np.asarray(weight, np.float64) * scale[:, None, None, None],
            (bias - np.asarray(running_mean, np.float64)) * scale + np.asarray(beta, np.float64))


def conv_bn_act(x, weight, gamma, beta, running_mean, running_var, bias=None, eps=1e-5, stride=1, padding=0,
                dilation=1, groups=1, activation="relu", residual=None):
    """activation(batch_norm(conv2d(x, weight, bias)) + residual), unfused, step by step."""
    y = batch_norm(conv2d(x, weight, bias, stride, padding, dilation, groups), gamma, beta, running_mean,
                   running_var, eps)
    if residual is not None:
        y = y + np.asarray(residual, dtype=np.float64)
    return activate(y, activation)


def relu(x):
    return activate(np.asarray(x, dtype=np.float64), "relu")


def relu6(x):
    return activate(np.asarray(x, dtype=np.float64), "relu6")


def leaky_relu(x, negative_slope=0.01):
    return activate(np.asarray(x, dtype=np.float64), ("leaky_relu", negative_slope))


def prelu(x, alpha):
    return activate(np.asarray(x, dtype=np.float64), ("prelu", alpha))
