"""Latent parts that models are assembled from, each with its forward pass, backward pass and
log-density: the diagonal-Gaussian posterior q(z|x), the standard-normal prior p(z), an
autoregressive (MADE) prior over sequences of discrete codes, and the vector quantiser
(codebook) of a VQ-VAE."""
from .autoregressive_prior import MADEPrior
from .gaussian_posterior import DiagonalGaussian
from .normal_prior import StandardNormal
from .vector_quantizer import VectorQuantizer

__all__ = ["DiagonalGaussian", "MADEPrior", "StandardNormal", "VectorQuantizer"]
