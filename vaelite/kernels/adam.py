"""The Adam update of one parameter array, in place.

    m = b1 m + (1 - b1) g;   v = b2 v + (1 - b2) g^2;
    p -= lr * (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps)

The NumPy reference makes about eight passes over the array, each allocating a temporary as large
as the parameter; the Numba twin reads g, m, v, p once and writes m, v, p once.
"""
import numpy as np

from ..backend import get_backend
from ._jit import jit


def adam_update_numpy(p, g, m, v, lr, beta1, beta2, eps, t):
    """Reference Adam step: updates p, m, v in place. All arrays share one shape."""
    m *= beta1
    m += (1 - beta1) * g
    v *= beta2
    v += (1 - beta2) * g * g
    m_hat = m / (1 - beta1**t)
    v_hat = v / (1 - beta2**t)
    p -= lr * m_hat / (np.sqrt(v_hat) + eps)


def _adam_update_numba(p, g, m, v, beta1, one_minus_beta1, beta2, one_minus_beta2, lr,
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


def adam_update(p, g, m, v, lr, beta1, beta2, eps, t):
    """Adam step on the current backend (in place on p, m, v)."""
    arrays = (p, g, m, v)
    if get_backend() == "numba" and all(a.flags.c_contiguous and a.dtype == p.dtype
                                        for a in arrays):
        c = p.dtype.type  # constants in the parameters' dtype
        flat = [a.reshape(-1) for a in arrays]  # views: the kernel writes through them
        jit(_adam_update_numba)(*flat, c(beta1), c(1 - beta1), c(beta2), c(1 - beta2),
                                c(lr), c(1 / (1 - beta1**t)), c(1 / (1 - beta2**t)), c(eps))
    else:
        adam_update_numpy(p, g, m, v, lr, beta1, beta2, eps, t)
