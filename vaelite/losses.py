"""Loss functions as (value, gradient) pairs.

Convention for every loss here: sum over data (or latent) dimensions, mean over the batch,
so a value is in nats per example and each gradient is the gradient of that mean.
Shapes: ``logits, x: (batch, dim)``; ``mu, logvar, z: (batch, latent)``.

Values are 0-d arrays (``float(value)`` gives the number); the code uses only the array API, so
it runs on every backend's arrays.
"""
import math

from .backends import current
from .functional import as_array_like, namespace

LOG_2PI = math.log(2 * math.pi)  # a Python float keeps float32 arrays in float32


def bernoulli_log_prob(logits, x):
    """log p(x | logits) of independent Bernoulli pixels, per example: (batch,).

    log p = x log(sigmoid(l)) + (1 - x) log(1 - sigmoid(l)) = x l - softplus(l),
    which stays finite for any finite logit. (The current backend's primitive; the reference is
    ``NumpyBackend.bernoulli_log_prob``.)
    """
    return current().bernoulli_log_prob(logits, x)


def bernoulli_nll(logits, x):
    """Bernoulli negative log-likelihood from logits.

    Returns (value, dlogits): value = mean_b sum_d [softplus(l) - x l];
    d value / d l = (sigmoid(l) - x) / batch. (The current backend's primitive; the reference
    is ``NumpyBackend.bernoulli_nll``.)
    """
    return current().bernoulli_nll(logits, x)


def gaussian_log_prob(x, mean, logvar):
    """log N(x; mean, exp(logvar)) summed over the last axis, per example: (batch,).

    ``mean`` and ``logvar`` broadcast against ``x``: a number (one global variance), a (dim,)
    vector (one variance per pixel) or a full (batch, dim) array.
    """
    xp = namespace(x, mean, logvar)
    x = xp.asarray(x)
    logvar = as_array_like(logvar, x)
    return -0.5 * xp.sum(LOG_2PI + logvar + (x - mean) ** 2 * xp.exp(-logvar), axis=-1)


def _sum_to_shape(a, shape):
    """Sum a (batch, dim) array down to a broadcast shape: () or (dim,) or (batch, dim)."""
    xp = namespace(a)
    while a.ndim > len(shape):
        a = xp.sum(a, axis=0)
    return a


def gaussian_nll(mean, x, logvar=0.0):
    """Gaussian negative log-likelihood with variance exp(logvar).

    With a fixed logvar this is a scaled mean squared error plus a constant:
    0.5 * exp(-logvar) * ||x - mean||^2 + 0.5 * dim * (log 2 pi + logvar).

    Returns (value, dmean, dlogvar); dlogvar has the shape of ``logvar``.
    """
    xp = namespace(mean, x)
    batch = x.shape[0]
    logvar = as_array_like(logvar, mean)
    precision = xp.exp(-logvar)
    diff = mean - x
    value = -xp.mean(gaussian_log_prob(x, mean, logvar))
    dmean = diff * precision / batch
    dlogvar = _sum_to_shape(0.5 * (1 - diff**2 * precision) / batch, tuple(logvar.shape))
    return value, dmean, dlogvar


def kl_normal(mu, logvar):
    """Closed-form KL( N(mu, diag exp(logvar)) || N(0, I) ).

    Per example: 0.5 * sum_j (mu_j^2 + exp(logvar_j) - 1 - logvar_j).
    Returns (value, dmu, dlogvar) with dmu = mu / batch and
    dlogvar = 0.5 * (exp(logvar) - 1) / batch.

    ``exp(logvar) - 1`` is computed as ``expm1(logvar)``: for logvar near 0 the plain form
    cancels and rounds to a slightly negative KL; expm1(l) >= l holds in floating point.
    """
    xp = namespace(mu, logvar)
    batch = mu.shape[0]
    var_m1 = xp.expm1(logvar)  # exp(logvar) - 1, accurate near logvar = 0
    value = 0.5 * xp.sum(mu**2 + (var_m1 - logvar)) / batch
    return value, mu / batch, 0.5 * var_m1 / batch


def kl_normal_per_dimension(mu, logvar):
    """KL( N(mu, diag exp(logvar)) || N(0, I) ) of each latent dimension, averaged over the
    batch: (latent,). Their sum is ``kl_normal``'s value."""
    xp = namespace(mu, logvar)
    return 0.5 * xp.mean(mu**2 + (xp.expm1(logvar) - logvar), axis=0)


def normal_log_prob(z, mu, logvar):
    """log N(z; mu, diag exp(logvar)) per example: (batch,). The prior is mu = 0, logvar = 0."""
    return gaussian_log_prob(z, mu, logvar)


def kl_monte_carlo(mu, logvar, z):
    """Monte-Carlo estimate of the same KL from samples z ~ q(z|x): mean_b [log q(z) - log p(z)].

    ``z`` may hold several samples per example: (samples, batch, latent).
    """
    log_q = normal_log_prob(z, mu, logvar)
    log_p = normal_log_prob(z, 0.0, 0.0)
    return float(namespace(log_q).mean(log_q - log_p))
