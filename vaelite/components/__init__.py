"""Latent parts that models are assembled from, each with its forward pass, backward pass and
log-density: the diagonal-Gaussian posterior q(z|x), the standard-normal prior p(z), and an
autoregressive (MADE) prior over sequences of discrete codes."""
from .autoregressive_prior import MADEPrior
from .gaussian_posterior import DiagonalGaussian
from .normal_prior import StandardNormal

__all__ = ["DiagonalGaussian", "MADEPrior", "StandardNormal"]
