"""log-sum-exp over importance samples: log sum_k exp(a_k), computed around the maximum.

The importance-weighted bound averages K weights per image in log space:
log (1/K) sum_k w_k = logsumexp_k(log w_k) - log K. Shapes: ``a: (samples, batch)`` reduced
over axis 0 gives ``(batch,)``. A column that is all -inf gives -inf; +inf gives +inf.
"""
import numpy as np


def logsumexp_rows_numba(a, out):
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
