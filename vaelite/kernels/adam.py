"""The Adam update of one parameter array, in place."""
import numpy as np


def adam_update_numpy(p, g, m, v, lr, beta1, beta2, eps, t):
    """Reference Adam step: updates p, m, v in place. All arrays share one shape."""
    m *= beta1
    m += (1 - beta1) * g
    v *= beta2
    v += (1 - beta2) * g * g
    m_hat = m / (1 - beta1**t)
    v_hat = v / (1 - beta2**t)
    p -= lr * m_hat / (np.sqrt(v_hat) + eps)


def adam_update(p, g, m, v, lr, beta1, beta2, eps, t):
    """Adam step on the current backend."""
    adam_update_numpy(p, g, m, v, lr, beta1, beta2, eps, t)
