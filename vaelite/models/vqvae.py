"""The VQ-VAE (van den Oord et al., 2017): a discrete code per image, forward and backward by hand.

    z_e = encoder(x)                      (batch, positions * code_dim), read as
                                          (batch, positions, code_dim): several code vectors
    z_q = nearest codebook vectors        components.VectorQuantizer, indices (batch, positions)
    p(x | z_q)                            decoder + likelihood (Bernoulli or Gaussian)
    loss = recon + codebook + commitment  (nats per image for recon; no KL term)

The straight-through estimator copies the decoder's gradient at z_q onto z_e. There is no KL
and no prior here: the code is deterministic, and a prior over the indices is fitted afterwards
(for example ``vaelite.components.MADEPrior`` trained on ``encode(x)``).

The gradient check holds the code assignment fixed: the nearest code is piecewise constant in
the parameters, and the hand-written gradients are the exact gradients of the loss with
stop-gradients (sg) in place, recon(decoder(z_e + sg[z_q - z_e])) + ||sg[z_e] - e||^2
+ beta ||z_e - sg[e]||^2, for nudges that do not change any assignment.
"""
import numpy as np

from .. import checks
from ..backends import current
from ..components.vector_quantizer import VectorQuantizer
from .base import Model


class VQVAE(Model):
    """Vector-quantised autoencoder with MLP encoder and decoder.

    encoder: MLP [input_dim, *hidden, positions * code_dim]; decoder: MLP
    [positions * code_dim, *hidden reversed, input_dim], read by the likelihood. The codebook
    has ``n_codes`` vectors of ``code_dim``; ``beta_commit`` weighs the commitment loss.
    """

    def __init__(self, input_dim=784, hidden=(256,), positions=4, code_dim=8, n_codes=32,
                 likelihood="bernoulli", beta_commit=0.25, activation="relu", seed=0,
                 dtype=np.float32):
        self.positions = checks.integer(positions, "positions")
        code_dim = checks.integer(code_dim, "code_dim")
        latent = self.positions * code_dim
        super().__init__(input_dim, hidden, latent, latent, likelihood, activation, "fixed",
                         1.0, seed, dtype)
        self.quantizer = VectorQuantizer(n_codes, code_dim, beta_commit,
                                         seed=None if self.seed is None else self.seed + 1,
                                         dtype=self.dtype)

    def parameters(self):
        return super().parameters() + self.quantizer.parameters("quantizer.")

    def config(self):
        q = self.quantizer
        return {"model": "VQVAE", "input_dim": self.input_dim, "hidden": self.hidden,
                "positions": self.positions, "code_dim": q.code_dim, "n_codes": q.n_codes,
                "likelihood": self.likelihood.config()["likelihood"],
                "beta_commit": q.beta_commit, "activation": self.activation, "seed": self.seed,
                "dtype": self.dtype.name}

    def _z_e(self, x):
        """Encoder outputs as code vectors: (batch, positions, code_dim), backend."""
        h = self.encoder.forward(x)
        return current().xp.reshape(h, (-1, self.positions, self.quantizer.code_dim))

    def encoder_vectors(self, x):
        """z_e, the encoder outputs before quantisation: (batch, positions, code_dim), as NumPy
        (what ``quantizer.reinit_dead_codes`` draws new codes from)."""
        return current().to_host(self._z_e(self.check_input(x)))

    def encode(self, x):
        """The code of each image: indices (batch, positions) into the codebook, int64 NumPy."""
        _, idx, _ = self.quantizer.forward(self._z_e(self.check_input(x)))
        return np.asarray(current().to_host(idx)).astype(np.int64)

    def code(self, x):
        """The quantised vectors z_q, flattened: (batch, positions * code_dim), as NumPy."""
        z_q, _, _ = self.quantizer.forward(self._z_e(self.check_input(x)))
        return current().to_host(current().xp.reshape(z_q, (z_q.shape[0], -1)))

    def decode_indices(self, indices):
        """Mean images for codes indices: (batch, positions) ints -> (batch, input_dim), NumPy."""
        shape = tuple(getattr(indices, "shape", np.shape(indices)))
        if len(shape) != 2 or shape[1] != self.positions:
            raise ValueError(f"indices must have shape (batch, {self.positions}), got {shape}")
        idx = self.quantizer.check_indices(indices)
        codebook = current().to_host(self.quantizer.params["codebook"])
        return self.decode(codebook[idx].reshape(-1, self.latent_dim))

    def _forward(self, x):
        """The loss parts, and dL/d(decoder output) for the backward pass."""
        x = self.check_input(x)
        z_q, _, vq = self.quantizer.forward(self._z_e(x))
        z = current().xp.reshape(z_q, (x.shape[0], self.latent_dim))
        recon, dout = self.likelihood.nll(self.decoder.forward(z), x)
        parts = {"loss": float(recon) + vq["codebook"] + vq["commitment"],
                 "recon": float(recon), **vq}
        return parts, dout

    def loss(self, x, rng=None, labels=None):
        """{"loss", "recon", "codebook", "commitment"}: loss = recon + codebook + commitment
        (the code is deterministic: rng is not used)."""
        return self._forward(x)[0]

    def loss_and_grads(self, x, rng=None, labels=None):
        """Same numbers as ``loss``; also fills every gradient by backprop:
        decoder -> dz_q -> straight through to dz_e (+ commitment) -> encoder; the codebook's
        gradient comes from the codebook loss alone."""
        parts, dout = self._forward(x)
        dz_q = self.decoder.backward(dout)
        xp = current().xp
        dz_e = self.quantizer.backward(
            xp.reshape(dz_q, (-1, self.positions, self.quantizer.code_dim)))
        self.encoder.backward(xp.reshape(dz_e, (-1, self.latent_dim)), need_dx=False)
        return parts
