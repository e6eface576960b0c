"""The variational autoencoder (Kingma & Welling, 2013), forward and backward by hand.

    q(z|x) = N(mu(x), diag sigma^2(x))   encoder: x -> h = [mu, logvar]  (components.DiagonalGaussian)
    z = mu + sigma * eps, eps ~ N(0, I)   the reparameterization trick
    p(z) = N(0, I)                        the prior                       (components.StandardNormal)
    p(x|z)                                decoder + likelihood (Bernoulli or Gaussian)
    loss = -ELBO = E_q[-log p(x|z)] + beta * KL(q(z|x) || N(0, I))   (nats per image)
"""
import numpy as np

from .. import checks
from ..backends import current
from ..components import DiagonalGaussian, StandardNormal
from .base import Model


class VAE(Model):
    """Variational autoencoder with an MLP encoder and decoder.

    encoder: MLP [input_dim, *hidden, 2 * latent_dim], read by the posterior as [mu, logvar];
    decoder: MLP [latent_dim, *hidden reversed, input_dim], read by the likelihood.
    ``beta`` weighs the KL term (beta = 1 is the ELBO; beta > 1 is the beta-VAE);
    ``free_bits`` (nats per latent dimension, 0 = off) lets each dimension keep that much KL
    without penalty (see ``components.DiagonalGaussian``).
    """

    def __init__(self, input_dim=784, hidden=(400,), latent_dim=20, likelihood="bernoulli",
                 beta=1.0, activation="relu", variance="fixed", sigma=1.0, seed=0,
                 dtype=np.float32, free_bits=0.0):
        beta = checks.number(beta, "beta", minimum=0)
        latent_dim = checks.integer(latent_dim, "latent_dim")
        self.posterior = DiagonalGaussian(latent_dim, free_bits)
        self.prior = StandardNormal(latent_dim)
        super().__init__(input_dim, hidden, latent_dim, self.posterior.encoder_outputs,
                         likelihood, activation, variance, sigma, seed, dtype)
        self.beta = beta

    def config(self):
        return {**super().config(), "beta": self.beta, "free_bits": self.posterior.free_bits}

    def encode(self, x):
        """Parameters of q(z|x): mu, logvar, each (batch, latent_dim), as NumPy."""
        backend = current()
        mu, logvar = self.posterior.split(self.encoder.forward(self.check_input(x)))
        return backend.to_host(mu), backend.to_host(logvar)

    def code(self, x):
        """The mean code mu(x), used to reconstruct and interpolate."""
        return self.encode(x)[0]

    def sample(self, n, rng, mean=True):
        """n images decoded from z ~ N(0, I): the mean image, or a random one: (n, input_dim),
        as NumPy. ``rng``: a numpy.random.Generator or an integer seed."""
        n, rng, mean = checks.integer(n, "n"), checks.generator(rng), checks.flag(mean, "mean")
        out = self.decoder.forward(self.prior.sample(n, rng, self.dtype))
        images = self.likelihood.mean(out) if mean else self.likelihood.sample(out, rng)
        return current().to_host(images)

    def _noise(self, shape, rng, eps):
        backend = current()
        if eps is not None:
            eps = backend.asarray(eps, dtype=self.dtype)
            if tuple(eps.shape) != shape:
                raise ValueError(f"eps must have shape {shape}, got {tuple(eps.shape)}")
            if not bool(backend.xp.all(backend.xp.isfinite(eps))):
                raise ValueError("eps contains NaN or Inf values")
            return eps
        if rng is None:
            raise ValueError("pass rng=np.random.default_rng(seed) or an integer seed (or a "
                             "fixed eps)")
        return backend.standard_normal(rng, shape, self.dtype)

    def _forward(self, x, rng, eps):
        """Forward pass: the loss parts, and dL/d(decoder output) for the backward pass."""
        x = self.check_input(x)
        rng = None if rng is None else checks.generator(rng)
        h = self.encoder.forward(x)
        eps = self._noise((x.shape[0], self.latent_dim), rng, eps)
        z, kl, kl_term = self.posterior.forward(h, eps)  # z = mu + sigma * eps, KL to N(0, I)
        recon, dout = self.likelihood.nll(self.decoder.forward(z), x)
        parts = {"loss": float(recon + self.beta * kl_term), "recon": float(recon), "kl": kl}
        return parts, dout

    def loss(self, x, rng=None, eps=None, labels=None):
        """{"loss", "recon", "kl"}: the negative ELBO and its two parts (nats per image),
        estimated with one sample z per image. "loss" = recon + beta * KL (with free bits, the
        KL of each dimension counted as at least ``free_bits``)."""
        return self._forward(x, rng, eps)[0]

    def loss_and_grads(self, x, rng=None, eps=None, labels=None):
        """Same numbers as ``loss``; also fills every gradient by backprop.

        mu and logvar get gradient from two paths, through z (reconstruction) and through
        the KL term (``DiagonalGaussian.backward``):
            dL/dmu     = dL/dz                        + beta * dKL/dmu
            dL/dlogvar = dL/dz * eps * sigma / 2      + beta * dKL/dlogvar
        since z = mu + exp(logvar / 2) * eps.
        """
        parts, dout = self._forward(x, rng, eps)
        dz = self.decoder.backward(dout)
        dh = self.posterior.backward(dz, self.beta)
        self.encoder.backward(dh, need_dx=False)  # x is data: no gradient wrt x is needed
        return parts

    def log_importance_weights(self, x, n_samples, rng):
        """log w = log p(x|z) + log p(z) - log q(z|x) for ``n_samples`` draws z ~ q(z|x) of each
        image: (n_samples, batch). x: (batch, input_dim) from ``check_input``; backend arrays.
        Their log-mean-exp over the draws estimates log p(x) (``evaluate.log_likelihood``)."""
        xp = current().xp
        h = self.encoder.forward(x)
        z = self.posterior.sample(h, rng, n_samples)  # (samples, batch, latent)
        out = self.decoder.forward(xp.reshape(z, (-1, self.latent_dim)))
        log_px_z = self.likelihood.log_prob(out, xp.tile(x, (n_samples, 1)))
        return (xp.reshape(log_px_z, (n_samples, -1)) + self.prior.log_prob(z)
                - self.posterior.log_prob(z, h))
