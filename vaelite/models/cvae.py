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

Since [x, c] @ W = x @ W_x + c @ W_c and c is one-hot, the label adds row y of W_c to the first
layer's pre-activation: a learned bias per class. ``decode_mixed`` feeds a blend of one-hots
there (a path between two classes), which ``interpolate`` uses.
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

    def decode_mixed(self, z, weights):
        """Mean image for z: (batch, latent_dim) under label *weights*: (batch, n_classes),
        each row non-negative and summing to 1, fed to the decoder where the one-hot goes.
        A one-hot row is ``decode``; a blend (1 - t) onehot(a) + t onehot(b) moves the
        decoder's per-class bias (the label rows of its first weight matrix) from class a to
        class b. Returns (batch, input_dim), as NumPy."""
        z = self.check_latent(z)
        weights = np.asarray(current().to_host(weights) if hasattr(weights, "shape")
                             and not isinstance(weights, np.ndarray) else weights)
        if weights.shape != (z.shape[0], self.n_classes):
            raise ValueError(f"weights must have shape ({z.shape[0]}, {self.n_classes}), one "
                             f"row of class weights per code, got {weights.shape}")
        if weights.dtype.kind not in "fiu":
            raise TypeError(f"weights must be numbers, got dtype {weights.dtype}")
        if not (np.all(np.isfinite(weights)) and np.all(weights >= 0)
                and np.allclose(weights.sum(axis=1), 1.0)):
            raise ValueError("weights must be finite, >= 0, and each row must sum to 1")
        self.decoder.condition(current().asarray(weights, dtype=self.dtype))
        return super().decode(z)

    def interpolate(self, x1, x2, steps=10, labels=None, decode_labels=None):
        """Decode ``steps`` codes on the straight line between the mean codes of two images,
        each encoded under its own label.

        x1, x2: (input_dim,) or (1, input_dim); labels: (y1, y2), the classes of x1 and x2
        (required: the encoder reads them). decode_labels chooses the class of the decoded
        images: one class k for every step (the style moves from x1's to x2's, the class
        stays k); a pair (a, b): the decoder's one-hot input moves linearly from class a to
        class b along with the code (``decode_mixed``); None: the pair (y1, y2), so that the
        ends are the reconstructions of x1 and x2. Returns (steps, input_dim), as NumPy.
        """
        steps = checks.integer(steps, "steps", minimum=2)
        pair = self._label_pair(labels, "labels")
        ends = pair if decode_labels is None else self._label_pair(decode_labels, "decode_labels")
        images = []
        for name, x in (("x1", x1), ("x2", x2)):
            if not hasattr(x, "shape") or x.size != self.input_dim:
                raise ValueError(f"{name} must be one image of {self.input_dim} pixels, got "
                                 f"{getattr(x, 'shape', type(x).__name__)}")
            images.append(self.check_input(np.reshape(x, (1, -1)), name))
        c1, c2 = (self.code(x, [y]) for x, y in zip(images, pair))
        t = np.linspace(0, 1, steps)[:, None]
        onehots = np.eye(self.n_classes)[list(ends)]  # (2, n_classes)
        return self.decode_mixed((1 - t) * c1 + t * c2, (1 - t) * onehots[0] + t * onehots[1])

    def _label_pair(self, value, name):
        """(a, b): two classes in [0, n_classes), from one class k (read as (k, k)) or a pair."""
        if value is None:
            raise ValueError(f"{name}: {type(self).__name__}.interpolate needs the classes of "
                             f"the two images, a pair (y1, y2) of integers in "
                             f"[0, {self.n_classes})")
        pair = np.asarray([value, value] if np.ndim(value) == 0 else value)
        expected = f"a class or a pair of classes, integers in [0, {self.n_classes})"
        if pair.dtype.kind not in "iu":
            raise TypeError(f"{name} must be {expected}, got {value!r}")
        if pair.shape != (2,) or pair.min() < 0 or pair.max() >= self.n_classes:
            raise ValueError(f"{name} must be {expected}, got {value!r}")
        return int(pair[0]), int(pair[1])

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
