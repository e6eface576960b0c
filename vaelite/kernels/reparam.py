"""Reparameterization fused with the closed-form KL to the prior N(0, I).

The encoder output ``h: (batch, 2 * latent)`` holds ``mu = h[:, :latent]`` and
``logvar = h[:, latent:]``. Forward, with ``eps: (batch, latent)`` drawn from N(0, I):

    sigma = exp(logvar / 2);   z = mu + sigma * eps
    KL = 0.5 * sum_j (mu_j^2 + expm1(logvar_j) - logvar_j), mean over the batch

Backward, from ``dz = dL/dz`` (the decoder's input gradient) and the KL weight ``beta`` (a
number, or one weight per latent dimension, as free bits need):

    dL/dmu     = dz                        + beta * mu / batch
    dL/dlogvar = dz * eps * sigma / 2      + beta * expm1(logvar) / (2 batch)

written side by side into ``dh: (batch, 2 * latent)``, the gradient of the encoder output.
"""
import math

import numpy as np


def reparam_kl_forward_numba(h, eps, z, sigma):
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


def reparam_kl_backward_numba(dz, eps, sigma, h, beta_over_batch, dh):
    """``beta_over_batch: (latent,)``: the KL weight of each latent dimension / batch."""
    batch, latent = eps.shape
    half = h.dtype.type(0.5)
    for i in range(batch):
        for j in range(latent):
            w = beta_over_batch[j]
            dh[i, j] = dz[i, j] + w * h[i, j]
            dh[i, latent + j] = (dz[i, j] * eps[i, j] * half * sigma[i, j]
                                 + w * half * math.expm1(h[i, latent + j]))
