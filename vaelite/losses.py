"""Loss functions as (value, gradient) pairs.

Convention for every loss here: sum over data (or latent) dimensions, mean over the batch,
so a value is in nats per example and each gradient is the gradient of that mean.
Shapes: ``logits, x: (batch, dim)``; ``mu, logvar, z: (batch, latent)``.
"""
import numpy as np

from .backend import get_backend
from .functional import sigmoid, softplus
from .kernels import bernoulli as _bernoulli_kernels

LOG_2PI = float(np.log(2 * np.pi))  # a Python float keeps float32 arrays in float32


def bernoulli_log_prob(logits, x):
    """log p(x | logits) of independent Bernoulli pixels, per example: (batch,).

    log p = x log(sigmoid(l)) + (1 - x) log(1 - sigmoid(l)) = x l - softplus(l),
    which stays finite for any finite logit.
    """
    if get_backend() == "numba":  # the same sum in one compiled loop (kernels/bernoulli.py)
        return _bernoulli_kernels.bernoulli_log_prob(logits, x)
    return np.sum(x * logits - softplus(logits), axis=1)


def bernoulli_nll(logits, x):
    """Bernoulli negative log-likelihood from logits.

    Returns (value, dlogits): value = mean_b sum_d [softplus(l) - x l];
    d value / d l = (sigmoid(l) - x) / batch.
    """
    if get_backend() == "numba":  # value and gradient in one compiled loop (kernels/bernoulli.py)
        return _bernoulli_kernels.bernoulli_nll(logits, x)
    batch = x.shape[0]
    value = -np.mean(bernoulli_log_prob(logits, x))
    return value, (sigmoid(logits) - x) / batch


def gaussian_log_prob(x, mean, logvar):
    """log N(x; mean, exp(logvar)) summed over dimensions, per example: (batch,).

    ``logvar`` broadcasts against ``x``: a scalar (one global variance), a (dim,) vector
    (one variance per pixel) or a full (batch, dim) array.
    """
    return -0.5 * np.sum(LOG_2PI + logvar + (x - mean) ** 2 * np.exp(-logvar), axis=-1)


def _sum_to_shape(a, shape):
    """Sum a (batch, dim) array down to a broadcast shape: () or (dim,) or (batch, dim)."""
    while a.ndim > len(shape):
        a = a.sum(axis=0)
    return a


def gaussian_nll(mean, x, logvar=0.0):
    """Gaussian negative log-likelihood with variance exp(logvar).

    With a fixed logvar this is a scaled mean squared error plus a constant:
    0.5 * exp(-logvar) * ||x - mean||^2 + 0.5 * dim * (log 2 pi + logvar).

    Returns (value, dmean, dlogvar); dlogvar has the shape of ``logvar``.
    """
    batch = x.shape[0]
    logvar = np.asarray(logvar, dtype=mean.dtype)
    precision = np.exp(-logvar)
    diff = mean - x
    value = -np.mean(gaussian_log_prob(x, mean, logvar))
    dmean = diff * precision / batch
    dlogvar = _sum_to_shape(0.5 * (1 - diff**2 * precision) / batch, logvar.shape)
    return value, dmean, dlogvar.astype(mean.dtype)


def kl_normal(mu, logvar):
    """Closed-form KL( N(mu, diag exp(logvar)) || N(0, I) ).

    Per example: 0.5 * sum_j (mu_j^2 + exp(logvar_j) - 1 - logvar_j).
    Returns (value, dmu, dlogvar) with dmu = mu / batch and
    dlogvar = 0.5 * (exp(logvar) - 1) / batch.

    ``exp(logvar) - 1`` is computed as ``expm1(logvar)``: for logvar near 0 the plain form
    cancels and rounds to a slightly negative KL; expm1(l) >= l holds in floating point.
    """
    batch = mu.shape[0]
    var_m1 = np.expm1(logvar)  # exp(logvar) - 1, accurate near logvar = 0
    value = 0.5 * np.sum(mu**2 + (var_m1 - logvar)) / batch
    return value, mu / batch, 0.5 * var_m1 / batch


def normal_log_prob(z, mu, logvar):
    """log N(z; mu, diag exp(logvar)) per example: (batch,). The prior is mu = 0, logvar = 0."""
    return gaussian_log_prob(z, mu, logvar)


def kl_monte_carlo(mu, logvar, z):
    """Monte-Carlo estimate of the same KL from samples z ~ q(z|x): mean_b [log q(z) - log p(z)].

    ``z`` may hold several samples per example: (samples, batch, latent).
    """
    log_q = normal_log_prob(z, mu, logvar)
    log_p = normal_log_prob(z, 0.0, 0.0)
    return float(np.mean(log_q - log_p))
