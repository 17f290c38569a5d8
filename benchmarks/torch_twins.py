"""PyTorch twins of the engine's benchmark models (imported only when torch is installed)."""

from __future__ import annotations

import torch
from torch import nn


def torch_lenet() -> nn.Module:
    """PyTorch's twin of the lenet preset (W2)."""
    return nn.Sequential(
        nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(784, 10),
    )  # fmt: skip


class TorchResidualBlock(nn.Module):
    """conv-ReLU-conv plus identity skip (W4)."""

    def __init__(self, channels: int = 16):
        super().__init__()
        self.a = nn.Conv2d(channels, channels, 3, padding=1)
        self.b = nn.Conv2d(channels, channels, 3, padding=1)

    def forward(self, x):
        return self.b(torch.relu(self.a(x))) + x
