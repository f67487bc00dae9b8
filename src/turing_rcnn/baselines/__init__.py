"""Baselines the RCNN is measured against: GF(2) Gaussian elimination (the efficient
parity learner it must match prediction for prediction) and an SGD-trained MLP (the
ordinary network that fails on dense parities)."""

from .gf2 import GaussianElimination, pack_bits
from .mlp import SGDMLP

__all__ = ["GaussianElimination", "SGDMLP", "pack_bits"]
