"""Vector quantisation (van den Oord et al., 2017, VQ-VAE): a learned codebook of K vectors,
each encoder output snapped to its nearest code.

    z_e: (batch, positions, d)   encoder outputs, several code vectors per image
    k*   = argmin_k ||z_e - e_k||^2   nearest-neighbour assignment, per position
    z_q  = e_{k*}                the quantised vectors the decoder reads

Quantisation has no gradient, so the backward pass uses the straight-through estimator: the
gradient that reaches z_q is passed to z_e unchanged. The codebook is learned by two losses
(sg = stop-gradient; the library's convention: sum over positions and dims, mean over batch):

    codebook   = ||sg[z_e] - e||^2          moves the codes towards the encoder outputs
    commitment = beta * ||z_e - sg[e]||^2   keeps the encoder close to its codes

We use these losses rather than exponential-moving-average codebook updates because then every
update is the gradient of a written-down loss, computed by hand and checkable by finite
differences (with the assignment k* held fixed: it is piecewise constant in the parameters).
Codes that no encoder output chose are "dead"; ``reinit_dead_codes`` moves them onto random
encoder outputs so that they can be chosen again.
"""
import numpy as np

from .. import checks
from ..backends import current


class VectorQuantizer:
    """A codebook params["codebook"]: (n_codes, code_dim) and nearest-neighbour quantisation.
    Shapes: ``z_e, z_q, dz_q, dz_e: (batch, positions, code_dim)``,
    ``indices: (batch, positions)``."""

    def __init__(self, n_codes, code_dim, beta_commit=0.25, seed=0, dtype=np.float32):
        self.n_codes = checks.integer(n_codes, "n_codes", minimum=2)
        self.code_dim = checks.integer(code_dim, "code_dim")
        self.beta_commit = checks.number(beta_commit, "beta_commit", minimum=0)
        self.seed = None if seed is None else checks.integer(seed, "seed", minimum=0)
        self.dtype = checks.float_dtype(dtype)
        codebook = np.random.default_rng(self.seed).standard_normal((self.n_codes, self.code_dim))
        backend = current()
        self.params = {"codebook": backend.asarray(codebook, dtype=self.dtype)}
        self.grads = {"codebook": backend.xp.zeros_like(self.params["codebook"])}
        self.counts = np.zeros(self.n_codes, dtype=np.int64)  # uses in the last forward pass

    def parameters(self, prefix=""):
        return [(prefix + "codebook", self.params["codebook"], self.grads["codebook"])]

    def nearest(self, flat):
        """Index of the nearest code for every row of flat: (n, code_dim) -> (n,), backend ints.
        ||z - e||^2 = ||z||^2 - 2 z.e + ||e||^2, the smallest distance wins (first on ties)."""
        xp = current().xp
        e = self.params["codebook"]
        d2 = (xp.expand_dims(xp.sum(flat * flat, axis=1), axis=1) - 2 * (flat @ e.T)
              + xp.expand_dims(xp.sum(e * e, axis=1), axis=0))
        return xp.argmin(d2, axis=1)

    def forward(self, z_e):
        """(z_q, indices, losses): the nearest codes (backend), their indices (backend ints)
        and {"codebook", "commitment"}, floats in the library's convention."""
        backend = current()
        xp = backend.xp
        batch, positions, d = z_e.shape
        if d != self.code_dim:
            raise ValueError(f"z_e must have shape (batch, positions, {self.code_dim}), got "
                             f"{tuple(z_e.shape)}")
        flat = xp.reshape(z_e, (batch * positions, d))
        idx = self.nearest(flat)
        codes = backend.asarray(np.arange(self.n_codes))  # on the backend's device
        one_hot = xp.astype(xp.expand_dims(idx, axis=1) == codes, z_e.dtype)
        q = one_hot @ self.params["codebook"]  # row n = e_{idx[n]}
        sq = float(xp.sum((flat - q) ** 2)) / batch  # ||z_e - e||^2, summed, mean over batch
        self.counts = np.asarray(backend.to_host(xp.sum(one_hot, axis=0))).astype(np.int64)
        self._cache = (flat, q, one_hot, batch)
        losses = {"codebook": sq, "commitment": self.beta_commit * sq}
        return (xp.reshape(q, z_e.shape), xp.reshape(idx, (batch, positions)), losses)

    def backward(self, dz_q):
        """dz_e by the straight-through estimator, plus the commitment gradient:

            dz_e = dz_q + 2 beta (z_e - e) / batch

        and grads["codebook"] (overwritten) from the codebook loss, a scatter-add over the
        vectors assigned to each code, written as a product with the one-hot assignment:

            d codebook / d e_k = sum_{n: k*_n = k} 2 (e_k - z_e,n) / batch
                               = (onehot^T 2 (q - z_e))_k / batch
        """
        xp = current().xp
        flat, q, one_hot, batch = self._cache
        self.grads["codebook"][...] = one_hot.T @ (2 * (q - flat) / batch)
        d_commit = 2 * self.beta_commit * (flat - q) / batch
        return dz_q + xp.reshape(d_commit, dz_q.shape)

    def check_indices(self, indices):
        """indices (any shape; NumPy, a list or a backend array) as a flat host int array, or a
        clear error."""
        if hasattr(indices, "shape") and not isinstance(indices, np.ndarray):
            indices = current().to_host(indices)  # a backend array
        indices = np.asarray(indices)
        if indices.dtype.kind not in "iu":
            raise TypeError(f"indices must be an integer array, got {indices.dtype}")
        if indices.size == 0 or np.any(indices < 0) or np.any(indices >= self.n_codes):
            raise ValueError(f"indices must be a non-empty array of values in "
                             f"[0, {self.n_codes}), got shape {indices.shape}")
        return indices.reshape(-1)

    def usage(self, indices):
        """The fraction of ``indices`` (any shape) that chose each code: (n_codes,), NumPy."""
        counts = np.bincount(self.check_indices(indices), minlength=self.n_codes)
        return counts / counts.sum()

    def perplexity(self, indices):
        """exp(entropy of the usage), in [1, n_codes]: the number of equally used codes that
        would give the same entropy (n_codes when every code is used equally often)."""
        p = self.usage(indices)
        p = p[p > 0]
        return float(np.exp(-np.sum(p * np.log(p))))

    def reinit_dead_codes(self, z_e_samples, rng):
        """Move every code unused in the last ``forward`` onto a random row of z_e_samples
        (..., code_dim), drawn without replacement where there are enough rows. Changes the
        codebook in place (an optimizer keeps holding it); returns the re-initialised indices
        as a NumPy array."""
        rng = checks.generator(rng)
        backend = current()
        if hasattr(z_e_samples, "shape") and not isinstance(z_e_samples, np.ndarray):
            z_e_samples = backend.to_host(z_e_samples)  # a backend array
        samples = np.asarray(z_e_samples, dtype=np.float64)
        if samples.ndim < 2 or samples.shape[-1] != self.code_dim or samples.size == 0:
            raise ValueError(f"z_e_samples must have shape (..., {self.code_dim}), got "
                             f"{samples.shape}")
        samples = samples.reshape(-1, self.code_dim)
        dead = np.flatnonzero(self.counts == 0)
        if dead.size:
            rows = rng.choice(len(samples), dead.size, replace=dead.size > len(samples))
            codebook = np.array(backend.to_host(self.params["codebook"]))
            codebook[dead] = samples[rows]
            self.params["codebook"][...] = backend.asarray(codebook, dtype=self.dtype)
        return dead
