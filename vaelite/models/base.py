"""What every model shares: parameters, input checks, decoding, reconstructing, config.

Where arrays live: a model's parameters are made on the device of the backend that is current
when it is built. The methods meant for people (``encode``, ``decode``, ``reconstruct``,
``interpolate``, ``sample``) take host NumPy arrays (or the backend's own) and return NumPy
arrays; ``loss`` and ``loss_and_grads`` return dicts of Python floats.
"""
import numpy as np

from .. import checks
from ..backends import current
from ..data import check_images
from ..layers import MLP
from ..likelihoods import make_likelihood


class Model:
    """Base of the models. A subclass builds ``self.encoder``, ``self.decoder`` (MLPs) and
    ``self.likelihood``, and defines ``encode``, ``code``, ``loss`` and ``loss_and_grads``.

    ``loss(x, rng) -> dict`` and ``loss_and_grads(x, rng) -> dict`` return the same numbers
    (``loss`` plus the model's named parts); ``loss_and_grads`` also fills every gradient.
    """

    uses_labels = False

    def __init__(self, input_dim, hidden, latent_dim, encoder_outputs, likelihood, activation,
                 variance, sigma, seed, dtype):
        self.input_dim = checks.integer(input_dim, "input_dim")
        self.hidden = checks.sizes(hidden, "hidden")
        self.latent_dim = checks.integer(latent_dim, "latent_dim")
        self.dtype = checks.float_dtype(dtype)
        self.seed = None if seed is None else checks.integer(seed, "seed", minimum=0)
        self.activation = activation
        rng = np.random.default_rng(self.seed)
        hidden, input_dim, latent_dim, dtype = self.hidden, self.input_dim, self.latent_dim, self.dtype
        self.encoder = MLP([input_dim, *hidden, encoder_outputs], rng, activation, dtype=dtype)
        self.decoder = MLP([latent_dim, *hidden[::-1], input_dim], rng, activation, dtype=dtype)
        self.likelihood = make_likelihood(likelihood, input_dim, variance, sigma, dtype)

    def parameters(self):
        """All (name, param, grad) triples of the encoder, decoder and likelihood."""
        return (self.encoder.parameters("encoder.") + self.decoder.parameters("decoder.")
                + self.likelihood.parameters("likelihood."))

    def n_parameters(self):
        return sum(int(np.prod(p.shape)) for _, p, _ in self.parameters())

    def config(self):
        """Everything needed to rebuild the model (JSON-serialisable)."""
        like = self.likelihood.config()
        return {"model": type(self).__name__, "input_dim": self.input_dim,
                "hidden": self.hidden, "latent_dim": self.latent_dim,
                "activation": self.activation, "likelihood": like["likelihood"],
                "variance": like.get("variance", "fixed"), "sigma": like.get("sigma", 1.0),
                "seed": self.seed, "dtype": self.dtype.name}

    def check_input(self, x, name="x"):
        """x as a (batch, input_dim) array of the model's dtype on the backend's device, or a
        clear error (pixels must lie in [0, 1] for a Bernoulli decoder)."""
        check_images(x, name, unit_interval=self.likelihood.needs_unit_interval,
                     n_features=self.input_dim)
        return current().asarray(x, dtype=self.dtype)

    def check_latent(self, z):
        """z as a (batch, latent_dim) array of the model's dtype on the backend's device."""
        backend = current()
        if not hasattr(z, "shape"):  # a list of lists, say
            try:
                z = np.asarray(z, dtype=np.float64)
            except (TypeError, ValueError):
                raise TypeError(f"z must be an array of shape (batch, {self.latent_dim}), got "
                                f"{type(z).__name__}") from None
        if z.ndim != 2 or z.shape[1] != self.latent_dim:
            raise ValueError(f"z must have shape (batch, {self.latent_dim}), got "
                             f"{tuple(z.shape)}")
        z = backend.asarray(z, dtype=self.dtype)
        if not bool(backend.xp.all(backend.xp.isfinite(z))):
            raise ValueError("z contains NaN or Inf values")
        return z

    def decode(self, z):
        """Mean image E[x | z]: (batch, input_dim) for z: (batch, latent_dim), as NumPy."""
        out = self.decoder.forward(self.check_latent(z))
        return current().to_host(self.likelihood.mean(out))

    def reconstruct(self, x):
        """Decode the code of x (the mean code for a VAE): (batch, input_dim), as NumPy."""
        return self.decode(self.code(x))

    def interpolate(self, x1, x2, steps=10):
        """Decode ``steps`` codes on the straight line between the codes of two images.

        x1, x2: (input_dim,) or (1, input_dim). Returns (steps, input_dim), as NumPy.
        """
        steps = checks.integer(steps, "steps", minimum=2)
        for name, x in (("x1", x1), ("x2", x2)):
            if not hasattr(x, "shape") or x.size != self.input_dim:
                raise ValueError(f"{name} must be one image of {self.input_dim} pixels, got "
                                 f"{getattr(x, 'shape', type(x).__name__)}")
        c1, c2 = (self.code(self.check_input(np.reshape(x, (1, -1)), name))
                  for name, x in (("x1", x1), ("x2", x2)))
        t = np.linspace(0, 1, steps, dtype=self.dtype)[:, None]
        return self.decode((1 - t) * c1 + t * c2)
