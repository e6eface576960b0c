"""Reparameterization fused with the closed-form KL to the prior N(0, I).

The encoder output ``h: (batch, 2 * latent)`` holds ``mu = h[:, :latent]`` and
``logvar = h[:, latent:]``. Forward, with ``eps: (batch, latent)`` drawn from N(0, I):

    sigma = exp(logvar / 2);   z = mu + sigma * eps
    KL = 0.5 * sum_j (mu_j^2 + expm1(logvar_j) - logvar_j), mean over the batch

Backward, from ``dz = dL/dz`` (the decoder's input gradient) and the KL weight ``beta``:

    dL/dmu     = dz                        + beta * mu / batch
    dL/dlogvar = dz * eps * sigma / 2      + beta * expm1(logvar) / (2 batch)

written side by side into ``dh: (batch, 2 * latent)``, the gradient of the encoder output.
"""
import math

import numpy as np

from ..backend import get_backend
from ._jit import jit


def reparam_kl_forward_numpy(h, eps):
    """(z, sigma, kl): z and sigma (batch, latent), kl a float (nats per example)."""
    latent = eps.shape[1]
    mu, logvar = h[:, :latent], h[:, latent:]
    sigma = np.exp(0.5 * logvar)
    z = mu + sigma * eps
    kl = 0.5 * np.sum(mu**2 + (np.expm1(logvar) - logvar)) / h.shape[0]
    return z, sigma, float(kl)


def reparam_kl_backward_numpy(dz, eps, sigma, h, beta):
    """dh (batch, 2 * latent): the gradient of the loss wrt [mu, logvar]."""
    batch, latent = eps.shape
    mu, logvar = h[:, :latent], h[:, latent:]
    dmu = dz + beta * (mu / batch)
    dlogvar = dz * eps * 0.5 * sigma + beta * (0.5 * np.expm1(logvar) / batch)
    return np.concatenate([dmu, dlogvar], axis=1)


def _reparam_kl_forward_numba(h, eps, z, sigma):
    batch, latent = eps.shape
    kl = 0.0  # accumulated in float64
    for i in range(batch):
        for j in range(latent):
            mu = h[i, j]
            lv = h[i, latent + j]
            s = np.exp(0.5 * lv)
            sigma[i, j] = s
            z[i, j] = mu + s * eps[i, j]
            kl += mu * mu + (math.expm1(lv) - lv)
    return 0.5 * kl / batch


def _reparam_kl_backward_numba(dz, eps, sigma, h, beta_over_batch, dh):
    batch, latent = eps.shape
    half = h.dtype.type(0.5)
    for i in range(batch):
        for j in range(latent):
            dh[i, j] = dz[i, j] + beta_over_batch * h[i, j]
            dh[i, latent + j] = (dz[i, j] * eps[i, j] * half * sigma[i, j]
                                 + beta_over_batch * half * math.expm1(h[i, latent + j]))


def reparam_kl_forward(h, eps):
    """(z, sigma, kl) on the current backend."""
    if get_backend() != "numba" or h.dtype != eps.dtype:
        return reparam_kl_forward_numpy(h, eps)
    z = np.empty_like(eps)
    sigma = np.empty_like(eps)
    kl = jit(_reparam_kl_forward_numba)(h, eps, z, sigma)
    return z, sigma, float(kl)


def reparam_kl_backward(dz, eps, sigma, h, beta):
    """dh = dL/d[mu, logvar] on the current backend."""
    if get_backend() != "numba" or not (dz.dtype == eps.dtype == sigma.dtype == h.dtype):
        return reparam_kl_backward_numpy(dz, eps, sigma, h, beta)
    dh = np.empty_like(h)
    jit(_reparam_kl_backward_numba)(dz, eps, sigma, h, h.dtype.type(beta / h.shape[0]), dh)
    return dh
