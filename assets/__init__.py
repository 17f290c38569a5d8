"""Bundled data: MNIST digits, sample images, pretrained weights. Found via `engine.paths`."""
