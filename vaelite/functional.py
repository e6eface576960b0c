"""Numerically stable elementwise functions shared by layers, losses and the backends.

They are written with the Python array API: ``xp = namespace(x)`` is the namespace of the library
the input comes from (NumPy, CuPy or array_api_strict), so the same lines run on a CPU and a GPU.
"""
import numpy as np
from array_api_compat import array_namespace, device


def namespace(*values):
    """The array API namespace of the arrays among ``values`` (NumPy's when they are all plain
    numbers)."""
    arrays = [v for v in values if hasattr(v, "shape")]
    return array_namespace(*arrays) if arrays else array_namespace(np.empty(0))


def as_array_like(value, like):
    """``value`` (an array or a number) as an array of ``like``'s library, device and dtype."""
    xp = namespace(like)
    if hasattr(value, "shape") and array_namespace(value) is xp:
        return value
    return xp.asarray(value, dtype=like.dtype, device=device(like))


def sigmoid(x):
    """1 / (1 + exp(-x)) without overflow for large |x|."""
    xp = namespace(x)
    x = xp.asarray(x)
    e = xp.exp(-xp.abs(x))
    return xp.where(x >= 0, 1 / (1 + e), e / (1 + e))


def softplus(x):
    """log(1 + exp(x)) = max(x, 0) + log1p(exp(-|x|)), finite for any finite x."""
    xp = namespace(x)
    x = xp.asarray(x)
    return xp.maximum(x, xp.zeros_like(x)) + xp.log1p(xp.exp(-xp.abs(x)))


def logsumexp(a, axis):
    """log(sum(exp(a), axis)) computed around the maximum, so it never overflows. A slice that
    is all -inf gives -inf, and +inf gives +inf."""
    xp = namespace(a)
    a = xp.asarray(a)
    m = xp.max(a, axis=axis, keepdims=True)
    m = xp.where(xp.isfinite(m), m, xp.zeros_like(m))
    return xp.squeeze(m, axis=axis) + xp.log(xp.sum(xp.exp(a - m), axis=axis))
