"""Decoder likelihoods p(x | z): how the decoder's output becomes a distribution over images.

A likelihood turns the decoder output ``out: (batch, dim)`` into
- ``nll(out, x) -> (value, dout)``: negative log-likelihood (mean over the batch) and its
  gradient; a likelihood with its own parameters (a learned variance) also fills ``grads``;
- ``log_prob(out, x) -> (batch,)``: log p(x|z) per example (for importance sampling);
- ``mean(out)``: the mean image E[x|z]; ``sample(out, rng)``: a random image.
"""
import numpy as np

from . import checks, losses
from .backends import current
from .functional import namespace, sigmoid
from .layers import Layer


class Bernoulli(Layer):
    """Independent Bernoulli pixels; the decoder outputs logits. Data must lie in [0, 1]."""

    name = "bernoulli"
    needs_unit_interval = True

    def nll(self, out, x):
        return losses.bernoulli_nll(out, x)

    def log_prob(self, out, x):
        return losses.bernoulli_log_prob(out, x)

    def mean(self, out):
        return sigmoid(out)

    def sample(self, out, rng):
        return current().binarize(sigmoid(out), rng)  # 1 with probability sigmoid(out)

    def config(self):
        return {"likelihood": "bernoulli"}


class Gaussian(Layer):
    """Independent Gaussian pixels; the decoder outputs the mean.

    ``variance`` says where sigma^2 comes from:
    - "fixed": sigma is the constant ``sigma`` (the loss is a scaled squared error);
    - "global": one learned log-variance shared by all pixels, params["logvar"]: ();
    - "pixel": one learned log-variance per pixel, params["logvar"]: (dim,).
    """

    name = "gaussian"
    needs_unit_interval = False
    VARIANCES = ("fixed", "global", "pixel")

    def __init__(self, dim, variance="fixed", sigma=1.0, dtype=np.float32):
        super().__init__()
        variance = checks.choice(variance, "Gaussian variance", self.VARIANCES)
        sigma = checks.number(sigma, "sigma", minimum=0, strict=True)
        self.variance, self.sigma = variance, float(sigma)
        backend = current()
        shape = {"fixed": None, "global": (), "pixel": (dim,)}[variance]
        logvar = backend.asarray(np.full(shape or (), 2 * np.log(sigma), dtype=dtype))
        if shape is not None:
            self.params["logvar"] = logvar
            self.grads["logvar"] = backend.xp.zeros_like(logvar)
        self.fixed_logvar = logvar if shape is None else None

    def logvar(self):
        return self.params["logvar"] if self.params else self.fixed_logvar

    def nll(self, out, x):
        value, dout, dlogvar = losses.gaussian_nll(out, x, self.logvar())
        if self.params:
            self.grads["logvar"][...] = dlogvar
        return value, dout

    def log_prob(self, out, x):
        return losses.gaussian_log_prob(x, out, self.logvar())

    def mean(self, out):
        return out

    def sample(self, out, rng):
        std = namespace(out).exp(0.5 * self.logvar())
        return out + std * current().standard_normal(rng, out.shape, out.dtype)

    def config(self):
        return {"likelihood": "gaussian", "variance": self.variance, "sigma": self.sigma}


def make_likelihood(likelihood, dim, variance="fixed", sigma=1.0, dtype=np.float32):
    """A likelihood by name: "bernoulli" or "gaussian" (with ``variance`` and ``sigma``)."""
    if checks.choice(likelihood, "likelihood", ("bernoulli", "gaussian")) == "bernoulli":
        return Bernoulli()
    return Gaussian(dim, variance, sigma, dtype)
