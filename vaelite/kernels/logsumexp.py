"""log-sum-exp over importance samples: log sum_k exp(a_k), computed around the maximum.

The importance-weighted bound averages K weights per image in log space:
log (1/K) sum_k w_k = logsumexp_k(log w_k) - log K. Shapes: ``a: (samples, batch)`` reduced
over axis 0 gives ``(batch,)``. A column that is all -inf gives -inf; +inf gives +inf.
"""
import numpy as np

from ..backend import get_backend
from ._jit import jit


def logsumexp_numpy(a, axis):
    """Reference: log(sum(exp(a), axis)) around the maximum, so it never overflows."""
    m = np.max(a, axis=axis, keepdims=True)
    m = np.where(np.isfinite(m), m, 0)
    return np.squeeze(m, axis=axis) + np.log(np.sum(np.exp(a - m), axis=axis))


def _logsumexp_rows_numba(a, out):
    """Twin for a 2-D array reduced over its last axis: two passes over each row."""
    n, k = a.shape
    for i in range(n):
        m = -np.inf
        for j in range(k):
            if a[i, j] > m:
                m = a[i, j]
        if not np.isfinite(m):
            m = 0.0
        s = 0.0
        for j in range(k):
            s += np.exp(a[i, j] - m)
        out[i] = m + np.log(s)


def logsumexp(a, axis):
    """log-sum-exp on the current backend (numba: 2-D arrays, one axis; else the reference)."""
    if get_backend() != "numba" or a.ndim != 2 or a.dtype.kind != "f" or axis not in (0, 1, -1, -2):
        return logsumexp_numpy(a, axis)
    rows = np.ascontiguousarray(a if axis in (1, -1) else a.T)
    out = np.empty(rows.shape[0], dtype=a.dtype)
    jit(_logsumexp_rows_numba)(rows, out)
    return out
