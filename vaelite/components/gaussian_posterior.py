"""The approximate posterior q(z|x) = N(mu, diag sigma^2) of a VAE, read from an encoder output.

The encoder outputs ``h: (batch, 2 * latent)``: ``mu = h[:, :latent]`` and
``logvar = h[:, latent:] = log sigma^2``. The forward pass draws z by the reparameterization trick
and computes the closed-form KL to the standard-normal prior; the backward pass sends the
gradient of ``(anything of z) + beta * KL`` back to h, along both paths into mu and logvar.
The arithmetic is the backend's fused primitive (``reparam_kl_forward``/``_backward``; the
reference is in ``vaelite/backends/numpy_backend.py``).

Free bits (Kingma et al., 2016): with ``free_bits = lam > 0`` the objective counts the KL of each
latent dimension j (averaged over the batch) as max(KL_j, lam). A dimension whose KL is below lam
gets no KL gradient, so the encoder may use up to lam nats in it for free, which keeps dimensions
from collapsing to the prior early in training.
"""
from .. import checks
from ..backends import current
from ..losses import kl_normal_per_dimension, normal_log_prob


class DiagonalGaussian:
    """q(z|x) = N(mu, diag exp(logvar)) with KL to N(0, I). Shapes: ``h: (batch, 2 * latent)``,
    ``eps, z, dz: (batch, latent)``."""

    def __init__(self, latent_dim, free_bits=0.0):
        self.latent_dim = checks.integer(latent_dim, "latent_dim")
        self.free_bits = checks.number(free_bits, "free_bits", minimum=0)
        self.encoder_outputs = 2 * self.latent_dim  # [mu, logvar]

    def split(self, h):
        """(mu, logvar), each (batch, latent), from h: (..., 2 * latent)."""
        return h[..., :self.latent_dim], h[..., self.latent_dim:]

    def forward(self, h, eps):
        """(z, kl, kl_term): z = mu + sigma * eps with sigma = exp(logvar / 2);
        kl = KL(q || N(0, I)), a float in nats per example (mean over the batch); kl_term = the
        KL as the objective counts it: kl itself, or sum_j max(KL_j, free_bits)."""
        z, sigma, kl = current().reparam_kl_forward(h, eps)
        self._cache = (h, eps, sigma, None)
        if not self.free_bits:
            return z, kl, kl
        xp = current().xp
        kl_dims = kl_normal_per_dimension(*self.split(h))  # (latent,)
        counted = kl_dims > self.free_bits  # dimensions whose KL is above the free nats
        self._cache = (h, eps, sigma, xp.astype(counted, h.dtype))
        kl_term = xp.sum(xp.where(counted, kl_dims, xp.full_like(kl_dims, self.free_bits)))
        return z, kl, float(kl_term)

    def backward(self, dz, beta=1.0):
        """dh = dL/dh for L = (a loss with gradient dz wrt z) + beta * kl_term:

            dL/dmu     = dz                     + beta * mu / batch
            dL/dlogvar = dz * eps * sigma / 2   + beta * (exp(logvar) - 1) / (2 batch)

        With free bits, the KL parts are kept only in the dimensions whose KL is counted."""
        h, eps, sigma, counted = self._cache
        weight = beta if counted is None else beta * counted  # (latent,) with free bits
        return current().reparam_kl_backward(dz, eps, sigma, h, weight)

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
