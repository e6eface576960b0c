"""The conditional VAE (Sohn, Lee & Yan, 2015): a VAE whose encoder and decoder also see the
class label as a one-hot vector c = onehot(y).

    q(z|x, y) = N(mu(x, c), diag sigma^2(x, c))   encoder input [x, c]
    p(x|z, y)                                      decoder input [z, c]
    p(z) = N(0, I)                                 the prior does not depend on y
    loss = E_q[-log p(x|z, y)] + beta * KL(q(z|x, y) || N(0, I))

Everything else is the VAE's: the same posterior and prior components and the same forward and
backward passes. The label enters as extra input columns of the two MLPs (``ConditionedMLP``);
in the backward pass the decoder's input gradient is split, the z columns go back to the
posterior and the label columns are dropped (labels are data, not parameters).
"""
import numpy as np

from .. import checks
from ..backends import current
from ..layers import MLP
from .vae import VAE


class ConditionedMLP:
    """An MLP fed [inputs, onehot]: ``condition(onehot)`` sets the one-hot columns, shape
    (batch, n_classes), for the next ``forward`` only, which then takes inputs (batch, d).
    ``backward`` returns the gradient of the d input columns: (batch, d), or None."""

    def __init__(self, mlp):
        self.mlp = mlp
        self._onehot = None
        self._width = None

    def condition(self, onehot):
        self._onehot = onehot

    def forward(self, x):
        onehot, self._onehot = self._onehot, None  # used once: a stale label is never reused
        if onehot is None:
            raise RuntimeError("internal error: the labels were not set before this pass")
        self._width = x.shape[1]
        return self.mlp.forward(current().xp.concat([x, onehot], axis=1))

    def backward(self, dy, need_dx=True):
        dx = self.mlp.backward(dy, need_dx)
        return None if dx is None else dx[:, :self._width]  # the label columns are dropped

    def parameters(self, prefix=""):
        return self.mlp.parameters(prefix)


class CVAE(VAE):
    """Conditional VAE: a VAE (see ``VAE`` for the arguments) whose encoder reads [x, onehot(y)]
    and whose decoder reads [z, onehot(y)], for labels y in 0..n_classes-1.

    encoder: MLP [input_dim + n_classes, *hidden, 2 * latent_dim];
    decoder: MLP [latent_dim + n_classes, *hidden reversed, input_dim].
    Every method that runs the encoder or decoder takes ``labels``: (batch,) integers.
    """

    uses_labels = True

    def __init__(self, input_dim=784, hidden=(400,), latent_dim=20, n_classes=10,
                 likelihood="bernoulli", beta=1.0, activation="relu", variance="fixed",
                 sigma=1.0, seed=0, dtype=np.float32, free_bits=0.0):
        self.n_classes = checks.integer(n_classes, "n_classes", minimum=2)
        super().__init__(input_dim, hidden, latent_dim, likelihood, beta, activation, variance,
                         sigma, seed, dtype, free_bits)
        rng = np.random.default_rng(self.seed)  # the MLPs again, with the label columns
        sizes = [*self.hidden, self.posterior.encoder_outputs]
        self.encoder = ConditionedMLP(MLP([self.input_dim + self.n_classes, *sizes], rng,
                                          activation, dtype=self.dtype))
        self.decoder = ConditionedMLP(MLP([self.latent_dim + self.n_classes,
                                           *self.hidden[::-1], self.input_dim], rng,
                                          activation, dtype=self.dtype))

    def config(self):
        return {**super().config(), "n_classes": self.n_classes}

    def check_labels(self, labels, n):
        """labels as host int64 (n,), integers in [0, n_classes), or an error naming them."""
        if labels is None:
            raise ValueError(f"labels: {type(self).__name__} needs labels, {n} integers in "
                             f"[0, {self.n_classes})")
        if hasattr(labels, "shape") and not isinstance(labels, np.ndarray):
            labels = current().to_host(labels)
        labels = np.asarray(labels)
        if labels.dtype.kind not in "iu":
            raise TypeError(f"labels must be integers in [0, {self.n_classes}), got dtype "
                            f"{labels.dtype}")
        if labels.shape != (n,):
            raise ValueError(f"labels must have shape ({n},), one per image, got "
                             f"{labels.shape}")
        if n and (labels.min() < 0 or labels.max() >= self.n_classes):
            raise ValueError(f"labels must lie in [0, {self.n_classes}), got values from "
                             f"{labels.min()} to {labels.max()}")
        return labels.astype(np.int64)

    def onehot(self, labels, n):
        """onehot(labels): (n, n_classes) of the model's dtype, made on the backend's device."""
        backend = current()
        xp = backend.xp
        codes = backend.asarray(self.check_labels(labels, n))
        classes = backend.asarray(np.arange(self.n_classes))
        return xp.astype(codes[:, None] == classes[None, :], backend.dtype(self.dtype))

    def _condition(self, x, labels, encoder=True, decoder=True):
        """x checked and on the device; the one-hot labels set for the next encoder and
        decoder passes."""
        x = self.check_input(x)
        onehot = self.onehot(labels, x.shape[0])
        if encoder:
            self.encoder.condition(onehot)
        if decoder:
            self.decoder.condition(onehot)
        return x

    def loss(self, x, rng=None, eps=None, labels=None):
        """{"loss", "recon", "kl"} of the VAE, with every image under its label."""
        return super().loss(self._condition(x, labels), rng, eps)

    def loss_and_grads(self, x, rng=None, eps=None, labels=None):
        """Same numbers as ``loss``; also fills every gradient (the VAE's backward pass)."""
        return super().loss_and_grads(self._condition(x, labels), rng, eps)

    def encode(self, x, labels=None):
        """mu, logvar of q(z|x, y), each (batch, latent_dim), as NumPy."""
        return super().encode(self._condition(x, labels, decoder=False))

    def code(self, x, labels=None):
        """The mean code mu(x, y): (batch, latent_dim), as NumPy."""
        return self.encode(x, labels)[0]

    def decode(self, z, labels=None):
        """Mean image E[x | z, y]: (batch, input_dim) for z: (batch, latent_dim), as NumPy."""
        z = self.check_latent(z)
        self.decoder.condition(self.onehot(labels, z.shape[0]))
        return super().decode(z)

    def reconstruct(self, x, labels=None):
        """Decode the mean code of x under its labels: (batch, input_dim), as NumPy."""
        return self.decode(self.code(x, labels), labels)

    def sample(self, n, rng, mean=True, labels=None):
        """n images decoded from z ~ N(0, I) under ``labels``: None (classes drawn uniformly
        with rng), one class for all, or (n,) classes. Returns (n, input_dim), as NumPy."""
        n, rng = checks.integer(n, "n"), checks.generator(rng)
        if labels is None:
            labels = rng.integers(0, self.n_classes, n)
        elif np.ndim(labels) == 0:
            if isinstance(labels, (bool, np.bool_)):
                raise TypeError(f"labels must be integers in [0, {self.n_classes}), got {labels}")
            labels = np.full(n, labels)
        self.decoder.condition(self.onehot(labels, n))
        return super().sample(n, rng, mean)

    def log_importance_weights(self, x, n_samples, rng, labels=None):
        """The VAE's log w under the labels: (n_samples, batch); see ``VAE``."""
        x = self._condition(x, labels, decoder=False)
        onehot = self.onehot(labels, x.shape[0])
        self.decoder.condition(current().xp.tile(onehot, (n_samples, 1)))  # draw-major order
        return super().log_importance_weights(x, n_samples, rng)
