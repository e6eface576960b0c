"""The prior p(z) = N(0, I) of a VAE: where generation starts, and the log-density that
importance sampling weighs codes with."""
import numpy as np

from ..backends import current
from ..losses import normal_log_prob


class StandardNormal:
    """p(z) = N(0, I) over ``latent_dim`` dimensions. Shapes: ``z: (..., latent)``."""

    def __init__(self, latent_dim):
        self.latent_dim = int(latent_dim)

    def sample(self, n, rng, dtype=np.float32):
        """n codes z ~ N(0, I): (n, latent), on the current backend."""
        return current().standard_normal(rng, (n, self.latent_dim), dtype)

    def log_prob(self, z):
        """log p(z) per code: z (..., latent) -> (...)."""
        return normal_log_prob(z, 0.0, 0.0)
