"""The VQ-VAE (van den Oord et al., 2017): a discrete code per image, forward and backward by hand.

    z_e = encoder(x)                      (batch, positions * code_dim), read as
                                          (batch, positions, code_dim): several code vectors
    z_q = nearest codebook vectors        components.VectorQuantizer, indices (batch, positions)
    p(x | z_q)                            decoder + likelihood (Bernoulli or Gaussian)
    loss = recon + codebook + commitment  (nats per image for recon; no KL term)

The straight-through estimator copies the decoder's gradient at z_q onto z_e. There is no KL:
the code is deterministic. The model owns a prior over the indices, ``model.prior`` (a
``vaelite.components.MADEPrior`` over (positions, n_codes)), trained in a second stage on the
codes of the training set, after the autoencoder:

    fit(model, x, epochs)             trains encoder, decoder and codebook: model.parameters()
    fit_prior(model, x, epochs)       trains model.prior on model.encode(x); sets prior_trained
    model.sample(n, rng)              codes drawn from the prior, one position at a time, decoded

``parameters()`` leaves the prior out, so ``fit`` (and its Adam) never touches it, and
``checkpoint_parameters()`` adds it as ``prior.*``, so ``vaelite.io`` saves and loads both.

The gradient check holds the code assignment fixed: the nearest code is piecewise constant in
the parameters, and the hand-written gradients are the exact gradients of the loss with
stop-gradients (sg) in place, recon(decoder(z_e + sg[z_q - z_e])) + ||sg[z_e] - e||^2
+ beta ||z_e - sg[e]||^2, for nudges that do not change any assignment.
"""
import numpy as np

from .. import checks
from ..backends import current
from ..components.autoregressive_prior import MADEPrior
from ..components.vector_quantizer import VectorQuantizer
from .base import Model


class VQVAE(Model):
    """Vector-quantised autoencoder with MLP encoder and decoder.

    encoder: MLP [input_dim, *hidden, positions * code_dim]; decoder: MLP
    [positions * code_dim, *hidden reversed, input_dim], read by the likelihood. The codebook
    has ``n_codes`` vectors of ``code_dim``; ``beta_commit`` weighs the commitment loss.
    prior_hidden: hidden widths of ``self.prior``, the MADE over (positions, n_codes) (same
    activation). prior_trained: whether the prior has been fitted (``fit_prior`` sets it; it is
    in the config, so a loaded model remembers; ``sample`` refuses an untrained prior).
    """

    def __init__(self, input_dim=784, hidden=(256,), positions=4, code_dim=8, n_codes=32,
                 likelihood="bernoulli", beta_commit=0.25, activation="relu", seed=0,
                 dtype=np.float32, prior_hidden=(64,), prior_trained=False):
        self.positions = checks.integer(positions, "positions")
        code_dim = checks.integer(code_dim, "code_dim")
        latent = self.positions * code_dim
        super().__init__(input_dim, hidden, latent, latent, likelihood, activation, "fixed",
                         1.0, seed, dtype)
        self.quantizer = VectorQuantizer(n_codes, code_dim, beta_commit,
                                         seed=None if self.seed is None else self.seed + 1,
                                         dtype=self.dtype)
        self.prior = MADEPrior(self.positions, n_codes, prior_hidden, activation,
                               seed=None if self.seed is None else self.seed + 2,
                               dtype=self.dtype)
        self.prior_trained = checks.flag(prior_trained, "prior_trained")

    def parameters(self):
        """What ``fit`` trains: encoder, decoder, likelihood and codebook (not the prior)."""
        return super().parameters() + self.quantizer.parameters("quantizer.")

    def checkpoint_parameters(self):
        """What ``vaelite.io`` saves: ``parameters()`` and the prior's, named ``prior.*``."""
        return self.parameters() + self.prior.parameters("prior.")

    def config(self):
        q = self.quantizer
        return {"model": "VQVAE", "input_dim": self.input_dim, "hidden": self.hidden,
                "positions": self.positions, "code_dim": q.code_dim, "n_codes": q.n_codes,
                "likelihood": self.likelihood.config()["likelihood"],
                "beta_commit": q.beta_commit, "activation": self.activation, "seed": self.seed,
                "dtype": self.dtype.name, "prior_hidden": self.prior.hidden,
                "prior_trained": self.prior_trained}

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

    def sample_codes(self, n, rng, prior="learned"):
        """n codes (n, positions), int64 NumPy: from ``self.prior``, one position at a time
        ("learned"; a ValueError if ``fit_prior`` has not trained it), or every index uniform
        and independent ("uniform": the comparison that shows why a learned prior is needed)."""
        n = checks.integer(n, "n")
        rng = checks.generator(rng)
        prior = checks.choice(prior, "prior", ("learned", "uniform"))
        if prior == "uniform":
            return rng.integers(0, self.quantizer.n_codes, (n, self.positions), dtype=np.int64)
        if not self.prior_trained:
            raise ValueError("the prior of this VQVAE is untrained: train it with "
                             "vaelite.fit_prior(model, x_train, epochs), or pass "
                             "prior='uniform'")
        return self.prior.sample(n, rng)

    def sample(self, n, rng, prior="learned"):
        """n new images (n, input_dim), NumPy: ``sample_codes(n, rng, prior)`` decoded (the
        mean image of each)."""
        return self.decode_indices(self.sample_codes(n, rng, prior))

    def reinit_dead_codes(self, x, rng):
        """Move every code that no image of x (batch, input_dim) chose onto a random encoder
        output of x (``quantizer.reinit_dead_codes``); returns the moved indices (NumPy). An
        optimizer's state for those rows is stale: ``vaelite.train.reinit_dead_codes`` resets it."""
        z_e = self._z_e(self.check_input(x))
        self.quantizer.forward(z_e)  # counts: the uses of each code over x
        return self.quantizer.reinit_dead_codes(z_e, rng)

    def code_statistics(self, x):
        """How the images x (batch, input_dim) use the code: {"used_codes": codes chosen at
        least once, "perplexity": of the usage (see ``VectorQuantizer.perplexity``),
        "prior_nll": the prior's mean -log p(c), nats per code sequence (None while the prior
        is untrained)}."""
        codes = self.encode(x)
        usage = self.quantizer.usage(codes)
        nll = -float(np.mean(self.prior.log_prob(codes))) if self.prior_trained else None
        return {"used_codes": int(np.sum(usage > 0)),
                "perplexity": self.quantizer.perplexity(codes), "prior_nll": nll}

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
