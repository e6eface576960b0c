"""Numerically stable elementwise functions shared by layers, likelihoods and losses."""
import numpy as np

from .backend import get_backend


def sigmoid(x):
    """1 / (1 + exp(-x)) without overflow for large |x|."""
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e)).astype(x.dtype, copy=False)


def softplus(x):
    """log(1 + exp(x)) = max(x, 0) + log1p(exp(-|x|)), finite for any finite x."""
    return np.maximum(x, 0) + np.log1p(np.exp(-np.abs(x)))


def logsumexp(a, axis):
    """log(sum(exp(a), axis)) computed around the maximum, so it never overflows."""
    if get_backend() == "numba":  # a compiled twin (vaelite/kernels/logsumexp.py)
        from .kernels.logsumexp import logsumexp as compiled

        return compiled(a, axis)
    m = np.max(a, axis=axis, keepdims=True)
    m = np.where(np.isfinite(m), m, 0)
    return np.squeeze(m, axis=axis) + np.log(np.sum(np.exp(a - m), axis=axis))
