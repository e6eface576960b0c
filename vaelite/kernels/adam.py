"""The Adam update of one parameter array, in place.

    m = b1 m + (1 - b1) g;   v = b2 v + (1 - b2) g^2;
    p -= lr * (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps)

The NumPy reference makes about eight passes over the array, each allocating a temporary as large
as the parameter; the Numba twin reads g, m, v, p once and writes m, v, p once.
"""
import numpy as np


def adam_update_numba(p, g, m, v, beta1, one_minus_beta1, beta2, one_minus_beta2, lr,
                       inv_c1, inv_c2, eps):
    """One pass over the flattened (1-D) arrays, in the reference's order of operations. The
    constants arrive in the arrays' dtype (float32 math stays float32);
    inv_c1 = 1 / (1 - b1^t) and inv_c2 = 1 / (1 - b2^t) are the bias corrections."""
    for i in range(p.size):
        gi = g[i]
        mi = beta1 * m[i] + one_minus_beta1 * gi
        vi = beta2 * v[i] + one_minus_beta2 * gi * gi
        m[i] = mi
        v[i] = vi
        p[i] -= lr * (mi * inv_c1) / (np.sqrt(vi * inv_c2) + eps)
