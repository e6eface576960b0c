"""A plain, deterministic autoencoder: x -> z = encoder(x) -> decoder(z) -> x_hat."""
import numpy as np

from ..backends import current
from .base import Model


class Autoencoder(Model):
    """Deterministic autoencoder trained on the reconstruction loss alone.

    encoder: MLP [input_dim, *hidden, latent_dim]; decoder: MLP [latent_dim, *hidden reversed,
    input_dim] whose output is read by the likelihood (logits for "bernoulli", the mean for
    "gaussian": with fixed sigma = 1 the loss is half the squared error plus a constant).
    """

    def __init__(self, input_dim=784, hidden=(400,), latent_dim=2, likelihood="bernoulli",
                 activation="relu", variance="fixed", sigma=1.0, seed=0, dtype=np.float32):
        super().__init__(input_dim, hidden, latent_dim, latent_dim, likelihood, activation,
                         variance, sigma, seed, dtype)

    def encode(self, x):
        """The code z = encoder(x): (batch, latent_dim), as NumPy."""
        return current().to_host(self.encoder.forward(self.check_input(x)))

    code = encode

    def loss(self, x, rng=None, labels=None):
        """{"loss", "recon"}: the reconstruction negative log-likelihood (nats per image)."""
        x = self.check_input(x)
        value, _ = self.likelihood.nll(self.decoder.forward(self.encoder.forward(x)), x)
        return {"loss": float(value), "recon": float(value)}

    def loss_and_grads(self, x, rng=None, labels=None):
        """Same as ``loss`` and fills every gradient by backprop through decoder and encoder."""
        x = self.check_input(x)
        value, dout = self.likelihood.nll(self.decoder.forward(self.encoder.forward(x)), x)
        self.encoder.backward(self.decoder.backward(dout), need_dx=False)  # x is data
        return {"loss": float(value), "recon": float(value)}
