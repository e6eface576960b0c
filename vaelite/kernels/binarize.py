"""Dynamic binarization: a binary image sampled pixel by pixel, x_bin ~ Bernoulli(x).

Twin of ``NumpyBackend.binarize``. Given uniform noise ``u`` in [0, 1), a pixel is 1 when
``u < x``, which happens with probability x. The random numbers come from the same NumPy
generator on the CPU backends, so the binary images are identical; the twin only fuses the
comparison and the conversion to x's dtype into one pass. The twin sees the arrays flattened: ``x, u, out: (n,)``.
"""
import numpy as np


def binarize_numba(x, u, out):
    """One pass over the flattened (1-D) arrays."""
    for i in range(x.size):
        out[i] = 1.0 if u[i] < x[i] else 0.0
