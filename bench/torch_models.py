"""PyTorch twins of convkit's example configs, layer for layer, for the speed comparison.

Each entry of MODELS mirrors one examples/*.yaml: the network (channels-first, float32), the
input shape per sample (C, H, W), the optimizer of its `train.optimizer` section and the
parameter count that `convkit summary examples/<name>.yaml` prints (checked by `build`).

NOTE: convkit exempts biases and batch-norm scale/shift from weight decay (ParamSlot::decay), so
the SGD twin puts them in a param group with weight_decay=0 to do the same arithmetic.
NOTE: convkit's `padding: same` with stride 2 on an even size pads (0, 1) like TensorFlow;
PyTorch's padding=1 pads (1, 1). Same output shape and FLOPs, so the speed comparison holds.
"""

from dataclasses import dataclass
from typing import Callable

import torch
from torch import nn


def mnist_cnn() -> nn.Module:
    """examples/mnist_cnn.yaml: the classic Keras/PyTorch MNIST example CNN."""
    return nn.Sequential(
        nn.Conv2d(1, 32, 3), nn.ReLU(),
        nn.Conv2d(32, 64, 3), nn.ReLU(),
        nn.MaxPool2d(2), nn.Dropout(0.25), nn.Flatten(),
        nn.Linear(64 * 12 * 12, 128), nn.ReLU(), nn.Dropout(0.5),
        nn.Linear(128, 10))


def lenet5() -> nn.Module:
    """examples/lenet5.yaml: LeNet-5 with tanh and average pooling, 28x28 padded to 32x32."""
    return nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), nn.Tanh(), nn.AvgPool2d(2),
        nn.Conv2d(6, 16, 5), nn.Tanh(), nn.AvgPool2d(2), nn.Flatten(),
        nn.Linear(16 * 5 * 5, 120), nn.Tanh(),
        nn.Linear(120, 84), nn.Tanh(),
        nn.Linear(84, 10))


def mnist_default() -> nn.Module:
    """examples/mnist_default.yaml: convkit's default BN CNN."""
    return nn.Sequential(
        nn.Conv2d(1, 32, 5, bias=False), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, bias=False), nn.BatchNorm2d(64), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Dropout(0.25),
        nn.Linear(64 * 5 * 5, 256), nn.ReLU(), nn.Dropout(0.25),
        nn.Linear(256, 10))


class Residual(nn.Module):
    """convkit's `type: residual`: relu(shortcut(x) + f(x)); the shortcut is a strided 1x1
    convolution + BN when f changes the shape, else the identity."""

    def __init__(self, c_in: int, c_out: int, stride: int):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(),
            nn.Conv2d(c_out, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out))
        self.shortcut = nn.Identity() if (c_in, stride) == (c_out, 1) else nn.Sequential(
            nn.Conv2d(c_in, c_out, 1, stride=stride, bias=False), nn.BatchNorm2d(c_out))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.shortcut(x) + self.body(x))


def resnet_small() -> nn.Module:
    """examples/resnet_small.yaml: stem + three residual blocks (16, 32, 64), GAP, dense 10."""
    return nn.Sequential(
        nn.Conv2d(3, 16, 3, padding=1, bias=False), nn.BatchNorm2d(16), nn.ReLU(),
        Residual(16, 16, 1), Residual(16, 32, 2), Residual(32, 64, 2),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, 10))


def adam(lr: float) -> Callable:
    return lambda model: torch.optim.Adam(model.parameters(), lr=lr)


def sgd_nesterov(lr: float, momentum: float, weight_decay: float) -> Callable:
    def make(model: nn.Module) -> torch.optim.Optimizer:
        # Weight decay on conv/dense kernels only, as convkit does (see the NOTE above).
        decay = [p for p in model.parameters() if p.dim() > 1]
        no_decay = [p for p in model.parameters() if p.dim() <= 1]
        return torch.optim.SGD([{"params": decay, "weight_decay": weight_decay},
                                {"params": no_decay, "weight_decay": 0.0}],
                               lr=lr, momentum=momentum, nesterov=True)
    return make


@dataclass(frozen=True)
class Spec:
    build: Callable[[], nn.Module]
    input_shape: tuple  # (C, H, W)
    optimizer: Callable[[nn.Module], torch.optim.Optimizer]
    parameters: int  # `convkit summary examples/<name>.yaml` total


MODELS = {
    "mnist_cnn": Spec(mnist_cnn, (1, 28, 28), adam(1e-3), 1_199_882),
    "lenet5": Spec(lenet5, (1, 28, 28), adam(1e-3), 61_706),
    "mnist_default": Spec(mnist_default, (1, 28, 28), adam(3e-3), 431_850),
    "resnet_small": Spec(resnet_small, (3, 32, 32), sgd_nesterov(0.1, 0.9, 5e-4), 78_042),
}


def parameter_count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def build(name: str) -> tuple[nn.Module, Spec]:
    """The model `name` (a key of MODELS), its parameter count checked against convkit's."""
    if name not in MODELS:
        raise KeyError(f"unknown model '{name}' (known: {', '.join(MODELS)})")
    spec = MODELS[name]
    model = spec.build()
    count = parameter_count(model)
    assert count == spec.parameters, f"{name}: {count} parameters, convkit summary says {spec.parameters}"
    return model, spec


def count_flops(model: nn.Module, input_shape: tuple) -> float:
    """Forward FLOPs per sample of the convolutions and dense layers (2 per multiply-add, plus
    the bias adds); convkit's count also includes BN, activations and pooling."""
    total = 0.0

    def hook(module: nn.Module, _inputs, output: torch.Tensor) -> None:
        nonlocal total
        macs_per_output = module.weight[0].numel()  # c_in/groups * kh * kw, or in_features
        total += output[0].numel() * (2 * macs_per_output + (1 if module.bias is not None else 0))

    handles = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    was_training = model.training
    model.eval()
    with torch.no_grad():
        model(torch.zeros(1, *input_shape))
    model.train(was_training)
    for h in handles:
        h.remove()
    return total


if __name__ == "__main__":
    for name in MODELS:
        model, spec = build(name)
        print(f"{name}: {parameter_count(model):,} parameters (matches convkit), "
              f"{count_flops(model, spec.input_shape) / 1e6:.2f} MFLOP/sample (conv + dense)")
