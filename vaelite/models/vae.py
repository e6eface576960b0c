"""The variational autoencoder (Kingma & Welling, 2013), forward and backward by hand.

    q(z|x) = N(mu(x), diag sigma^2(x))   encoder: x -> [mu, logvar]
    z = mu + sigma * eps, eps ~ N(0, I)   the reparameterization trick
    p(x|z)                                decoder + likelihood (Bernoulli or Gaussian)
    loss = -ELBO = E_q[-log p(x|z)] + beta * KL(q(z|x) || N(0, I))   (nats per image)
"""
import numpy as np

from ..backend import get_backend
from ..kernels.reparam import reparam_kl_backward, reparam_kl_forward
from ..losses import kl_normal
from .base import Model


class VAE(Model):
    """Variational autoencoder with an MLP encoder and decoder.

    encoder: MLP [input_dim, *hidden, 2 * latent_dim], split into mu and logvar;
    decoder: MLP [latent_dim, *hidden reversed, input_dim], read by the likelihood.
    ``beta`` weighs the KL term (beta = 1 is the ELBO; beta > 1 is the beta-VAE).
    """

    def __init__(self, input_dim=784, hidden=(400,), latent_dim=20, likelihood="bernoulli",
                 beta=1.0, activation="relu", variance="fixed", sigma=1.0, seed=0,
                 dtype=np.float32):
        if not beta >= 0:
            raise ValueError(f"beta must be >= 0, got {beta}")
        super().__init__(input_dim, hidden, latent_dim, 2 * latent_dim, likelihood, activation,
                         variance, sigma, seed, dtype)
        self.beta = float(beta)

    def config(self):
        return {**super().config(), "beta": self.beta}

    def encode(self, x):
        """Parameters of q(z|x): mu, logvar, each (batch, latent_dim)."""
        h = self.encoder.forward(self.check_input(x))
        return h[:, :self.latent_dim], h[:, self.latent_dim:]

    def code(self, x):
        """The mean code mu(x), used to reconstruct and interpolate."""
        return self.encode(x)[0]

    def sample(self, n, rng, mean=True):
        """n images decoded from z ~ N(0, I): the mean image, or a random one: (n, input_dim)."""
        if int(n) != n or n < 1:
            raise ValueError(f"n must be a positive integer, got {n}")
        if rng is None:
            raise ValueError("pass rng=np.random.default_rng(seed) to sample")
        z = rng.standard_normal((int(n), self.latent_dim)).astype(self.dtype)
        out = self.decoder.forward(z)
        return self.likelihood.mean(out) if mean else self.likelihood.sample(out, rng)

    def _noise(self, shape, rng, eps):
        if eps is not None:
            eps = np.asarray(eps)
            if eps.shape != shape:
                raise ValueError(f"eps must have shape {shape}, got {eps.shape}")
            if not np.all(np.isfinite(eps)):
                raise ValueError("eps contains NaN or Inf values")
            return eps.astype(self.dtype, copy=False)
        if rng is None:
            raise ValueError("pass rng=np.random.default_rng(seed) (or a fixed eps)")
        return rng.standard_normal(shape, dtype=self.dtype)

    def _forward(self, x, rng, eps):
        """Forward pass; returns the loss parts and what the backward pass needs."""
        x = self.check_input(x)
        h = self.encoder.forward(x)
        mu, logvar = h[:, :self.latent_dim], h[:, self.latent_dim:]
        eps = self._noise(mu.shape, rng, eps)
        if get_backend() == "numba":  # the same numbers from fused kernels (kernels/reparam.py)
            return self._forward_fused(x, h, eps)
        sigma = np.exp(0.5 * logvar)
        z = mu + sigma * eps  # reparameterization: z is a differentiable function of mu, logvar
        recon, dout = self.likelihood.nll(self.decoder.forward(z), x)
        kl, dmu_kl, dlogvar_kl = kl_normal(mu, logvar)
        parts = {"loss": float(recon + self.beta * kl), "recon": float(recon), "kl": float(kl)}
        return parts, (dout, eps, sigma, dmu_kl, dlogvar_kl)

    def _forward_fused(self, x, h, eps):
        """Reparameterization and KL in one kernel; the backward cache holds h instead of the
        KL gradients (``reparam_kl_backward`` recomputes them on the way back)."""
        z, sigma, kl = reparam_kl_forward(h, eps)
        recon, dout = self.likelihood.nll(self.decoder.forward(z), x)
        parts = {"loss": float(recon + self.beta * kl), "recon": float(recon), "kl": float(kl)}
        return parts, (dout, eps, sigma, h, None)

    def loss(self, x, rng=None, eps=None, labels=None):
        """{"loss", "recon", "kl"}: the negative ELBO and its two parts (nats per image),
        estimated with one sample z per image."""
        return self._forward(x, rng, eps)[0]

    def loss_and_grads(self, x, rng=None, eps=None, labels=None):
        """Same numbers as ``loss``; also fills every gradient by backprop.

        mu and logvar get gradient from two paths: through z (reconstruction) and through
        the KL term:
            dL/dmu     = dL/dz                        + beta * dKL/dmu
            dL/dlogvar = dL/dz * eps * sigma / 2      + beta * dKL/dlogvar
        since z = mu + exp(logvar / 2) * eps.
        """
        parts, (dout, eps, sigma, dmu_kl, dlogvar_kl) = self._forward(x, rng, eps)
        dz = self.decoder.backward(dout)
        if dlogvar_kl is None:  # fused path: dmu_kl holds h = [mu, logvar]
            dh = reparam_kl_backward(dz, eps, sigma, dmu_kl, self.beta)
        else:
            dmu = dz + self.beta * dmu_kl
            dlogvar = dz * eps * 0.5 * sigma + self.beta * dlogvar_kl
            dh = np.concatenate([dmu, dlogvar], axis=1)
        self.encoder.backward(dh, need_dx=False)  # x is data: no gradient wrt x is needed
        return parts
