"""Layer shapes of real networks, as data: the convolutions the benchmarks time.

Each table lists every distinct convolution of its network (or the family of layers named),
with the padding the network itself uses. Batch 1 is the inference case; a few layers are
repeated at batch 8 to show how each implementation scales with the batch.
"""
from typing import NamedTuple, Tuple


class ConvShape(NamedTuple):
    """One conv2d layer: NCHW input (batch, in_channels, size, size), weight
    (out_channels, in_channels / groups, *kernel)."""

    net: str
    in_channels: int
    out_channels: int
    size: int  # input height = width; every layer tabled here has a square input
    kernel: Tuple[int, int]  # (KH, KW)
    stride: int = 1
    padding: Tuple[int, int] = (0, 0)  # (rows, columns) added on each side
    batch: int = 1
    groups: int = 1
    dilation: int = 1

    @property
    def name(self):
        """Short identifier for test ids, e.g. ``resnet18-3x3s2-64-128-56``; the output
        channel count is left out when it equals the input's."""
        kh, kw = self.kernel
        stride = f"s{self.stride}" if self.stride > 1 else ""
        channels = (f"{self.in_channels}" if self.out_channels == self.in_channels
                    else f"{self.in_channels}-{self.out_channels}")
        groups = f"-g{self.groups}" if self.groups > 1 else ""
        batch = f"-b{self.batch}" if self.batch > 1 else ""
        return f"{self.net}-{kh}x{kw}{stride}-{channels}-{self.size}{groups}{batch}"

    @property
    def description(self):
        """Readable label for tables, e.g. ``resnet18 3x3 s2 64->128 @56``."""
        kh, kw = self.kernel
        parts = [self.net, f"{kh}x{kw}"]
        if self.stride > 1:
            parts.append(f"s{self.stride}")
        if self.dilation > 1:
            parts.append(f"d{self.dilation}")
        parts.append(f"{self.in_channels}->{self.out_channels}")
        if self.groups > 1:
            parts.append(f"g{self.groups}")
        parts.append(f"@{self.size}")
        if self.batch > 1:
            parts.append(f"N={self.batch}")
        return " ".join(parts)

    @property
    def x_shape(self):
        return (self.batch, self.in_channels, self.size, self.size)

    @property
    def weight_shape(self):
        return (self.out_channels, self.in_channels // self.groups) + tuple(self.kernel)

    @property
    def out_size(self):
        """(OH, OW)."""
        return tuple((self.size + 2 * pad - self.dilation * (k - 1) - 1) // self.stride + 1
                     for k, pad in zip(self.kernel, self.padding))

    @property
    def flops(self):
        """2 * N * Cout * OH * OW * Cin/groups * KH * KW: the multiply-adds, counted twice."""
        oh, ow = self.out_size
        kh, kw = self.kernel
        return 2 * self.batch * self.out_channels * oh * ow * (self.in_channels // self.groups) * kh * kw

    @property
    def conv_kwargs(self):
        """The hyper-parameters as conv2d keyword arguments (fastconv, torch and the baselines)."""
        return dict(stride=self.stride, padding=tuple(self.padding), dilation=self.dilation,
                    groups=self.groups)


def _square(k):
    return (k, k)


def _same(k):
    """Padding that keeps the size at stride 1, for an odd (KH, KW)."""
    return (k[0] // 2, k[1] // 2)


def _layer(net, cin, cout, size, kernel, stride=1, batch=1, padding=None):
    kernel = _square(kernel) if isinstance(kernel, int) else kernel
    padding = _same(kernel) if padding is None else padding
    return ConvShape(net, cin, cout, size, kernel, stride, padding, batch)


# ResNet-18: the stem, then the 3x3 convs of each stage and the 1x1 stride-2 shortcuts.
RESNET18 = (
    _layer("resnet18", 3, 64, 224, 7, stride=2),
    _layer("resnet18", 64, 64, 56, 3),
    _layer("resnet18", 64, 128, 56, 3, stride=2),
    _layer("resnet18", 64, 128, 56, 1, stride=2),
    _layer("resnet18", 128, 128, 28, 3),
    _layer("resnet18", 128, 256, 28, 3, stride=2),
    _layer("resnet18", 128, 256, 28, 1, stride=2),
    _layer("resnet18", 256, 256, 14, 3),
    _layer("resnet18", 256, 512, 14, 3, stride=2),
    _layer("resnet18", 256, 512, 14, 1, stride=2),
    _layer("resnet18", 512, 512, 7, 3),
)

# MobileNetV2: the pointwise (1x1) expansion and projection convs, small K and large HW.
MOBILENETV2_POINTWISE = tuple(
    _layer("mobilenetv2", cin, cout, size, 1)
    for cin, cout, size in [(32, 16, 112), (16, 96, 112), (24, 144, 56), (144, 24, 56), (32, 192, 28),
                            (64, 384, 14), (96, 576, 14), (160, 960, 7), (320, 1280, 7)]
)

# Inception-v3: factorized 1xn / nx1 kernels (non-square), and the unpadded 3x3 s2 reduction.
INCEPTION_V3 = (
    _layer("inception3", 128, 128, 17, (1, 7)),
    _layer("inception3", 128, 128, 17, (7, 1)),
    _layer("inception3", 160, 160, 17, (1, 7)),
    _layer("inception3", 384, 384, 8, (1, 3)),
    _layer("inception3", 384, 384, 8, (3, 1)),
    _layer("inception3", 448, 384, 8, 3),
    _layer("inception3", 288, 384, 35, 3, stride=2, padding=(0, 0)),
)

# Batch 8: a large-HW, a small-HW and a pointwise layer.
BATCH8 = (
    RESNET18[1]._replace(batch=8),
    RESNET18[7]._replace(batch=8),
    MOBILENETV2_POINTWISE[2]._replace(batch=8),
)

# ResNeXt-50 32x4d: the grouped 3x3 convs (32 groups of 4, 8, 16, 32 channels).
RESNEXT50 = tuple(
    ConvShape("resnext50", c, c, size, (3, 3), 1, (1, 1), groups=32)
    for c, size in ((128, 56), (256, 28), (512, 14), (1024, 7)))

CONV_SHAPES = RESNET18 + MOBILENETV2_POINTWISE + INCEPTION_V3 + RESNEXT50 + BATCH8

# (network, channels, input size, kernel, stride): the distinct depthwise layers of
# MobileNetV1/V2 and EfficientNet, padded to keep the size at stride 1.
DEPTHWISE_LAYERS = [
    ("mobilenetv1", 32, 112, 3, 1), ("mobilenetv1", 64, 112, 3, 2), ("mobilenetv1", 128, 56, 3, 1),
    ("mobilenetv1", 128, 56, 3, 2), ("mobilenetv1", 256, 28, 3, 1), ("mobilenetv1", 256, 28, 3, 2),
    ("mobilenetv1", 512, 14, 3, 1), ("mobilenetv1", 512, 14, 3, 2), ("mobilenetv1", 1024, 7, 3, 1),
    ("mobilenetv2", 32, 112, 3, 1), ("mobilenetv2", 96, 112, 3, 2), ("mobilenetv2", 144, 56, 3, 1),
    ("mobilenetv2", 144, 56, 3, 2), ("mobilenetv2", 192, 28, 3, 1), ("mobilenetv2", 192, 28, 3, 2),
    ("mobilenetv2", 384, 14, 3, 1), ("mobilenetv2", 576, 14, 3, 1), ("mobilenetv2", 576, 14, 3, 2),
    ("mobilenetv2", 960, 7, 3, 1),
    ("efficientnet", 240, 28, 5, 1), ("efficientnet", 144, 56, 5, 2), ("efficientnet", 480, 14, 5, 1),
    ("efficientnet", 672, 14, 5, 1), ("efficientnet", 672, 14, 5, 2), ("efficientnet", 1152, 7, 5, 1),
]
DEPTHWISE = tuple(ConvShape(net, c, c, size, (k, k), stride, (k // 2, k // 2), groups=c)
                  for net, c, size, k, stride in DEPTHWISE_LAYERS)

# float64 must work, not be fast: a few layers are enough to keep an eye on it.
CONV_SHAPES_FLOAT64 = (RESNET18[1], MOBILENETV2_POINTWISE[2], INCEPTION_V3[0])
