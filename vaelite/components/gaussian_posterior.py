"""The approximate posterior q(z|x) = N(mu, diag sigma^2) of a VAE, read from an encoder output.

The encoder outputs ``h: (batch, 2 * latent)``: ``mu = h[:, :latent]`` and
``logvar = h[:, latent:] = log sigma^2``. The forward pass draws z by the reparameterization trick
and computes the closed-form KL to the standard-normal prior; the backward pass sends the
gradient of ``(anything of z) + beta * KL`` back to h, along both paths into mu and logvar.
The arithmetic is the backend's fused primitive (``reparam_kl_forward``/``_backward``; the
reference is in ``vaelite/backends/numpy_backend.py``).
"""
from ..backends import current
from ..losses import normal_log_prob


class DiagonalGaussian:
    """q(z|x) = N(mu, diag exp(logvar)) with KL to N(0, I). Shapes: ``h: (batch, 2 * latent)``,
    ``eps, z, dz: (batch, latent)``."""

    def __init__(self, latent_dim):
        self.latent_dim = int(latent_dim)
        self.encoder_outputs = 2 * self.latent_dim  # [mu, logvar]

    def split(self, h):
        """(mu, logvar), each (batch, latent), from h: (..., 2 * latent)."""
        return h[..., :self.latent_dim], h[..., self.latent_dim:]

    def forward(self, h, eps):
        """(z, kl): z = mu + sigma * eps with sigma = exp(logvar / 2), and
        kl = KL(q || N(0, I)), a float in nats per example (mean over the batch)."""
        z, sigma, kl = current().reparam_kl_forward(h, eps)
        self._cache = (h, eps, sigma)
        return z, kl

    def backward(self, dz, beta=1.0):
        """dh = dL/dh for L = (a loss with gradient dz wrt z) + beta * KL:

            dL/dmu     = dz                     + beta * mu / batch
            dL/dlogvar = dz * eps * sigma / 2   + beta * (exp(logvar) - 1) / (2 batch)
        """
        h, eps, sigma = self._cache
        return current().reparam_kl_backward(dz, eps, sigma, h, beta)

    def sample(self, h, rng, n_samples):
        """n_samples draws z ~ q(z|x) for every row of h: (n_samples, batch, latent)."""
        backend = current()
        mu, logvar = self.split(h)
        eps = backend.standard_normal(rng, (n_samples, *mu.shape), mu.dtype)
        return mu + backend.xp.exp(0.5 * logvar) * eps

    def log_prob(self, z, h):
        """log q(z|x) per draw: z (..., batch, latent) -> (..., batch)."""
        mu, logvar = self.split(h)
        return normal_log_prob(z, mu, logvar)
