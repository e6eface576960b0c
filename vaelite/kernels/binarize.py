"""Dynamic binarization: a binary image sampled pixel by pixel, x_bin ~ Bernoulli(x).

Given uniform noise ``u`` in [0, 1) (``rng.random(x.shape, dtype=np.float32)``), a pixel is 1
when ``u < x``, which happens with probability x. The random numbers come from NumPy on every
backend, so the binary images are identical; the twin only fuses the comparison and the
conversion to float into one pass. Shapes: ``x, u, out: (batch, dim)``.
"""
import numpy as np

from ..backend import get_backend
from ._jit import jit


def binarize_numpy(x, u):
    """(u < x) as float32 zeros and ones."""
    return (u < x).astype(np.float32)


def _binarize_numba(x, u, out):
    n, d = x.shape
    for i in range(n):
        for j in range(d):
            out[i, j] = np.float32(1) if u[i, j] < x[i, j] else np.float32(0)


def binarize(x, u):
    """(u < x) as float32 on the current backend."""
    if get_backend() != "numba" or x.ndim != 2 or x.shape != u.shape:
        return binarize_numpy(x, u)
    out = np.empty(x.shape, dtype=np.float32)
    jit(_binarize_numba)(x, u, out)
    return out
