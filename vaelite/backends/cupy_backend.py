"""The CuPy backend: the reference code on a CUDA GPU, with two fused GPU kernels.

Parameters, Adam's state, minibatches and every intermediate array live on the GPU; ``asarray``
moves host data there and ``to_host`` brings results back. Random numbers come from a CuPy
generator on the device, seeded once from the NumPy generator the library passes around (so a
seed still fixes a run, but the numbers differ from the CPU backends'). The Adam update and the
Bernoulli NLL, each a chain of elementwise operations in the reference, run as one
``cupy.ElementwiseKernel`` each (one read and one write of every array instead of many).
Needs CuPy (``pip install -e ".[gpu]"``) and a CUDA device.
"""
import numpy as np

from .numpy_backend import NumpyBackend

_ADAM = """
m = beta1 * m + (1 - beta1) * g;
v = beta2 * v + (1 - beta2) * g * g;
p -= lr * (m * inv_c1) / (sqrt(v * inv_c2) + eps);
"""

# -log p(x | l) = softplus(l) - x l and its gradient, with e = exp(-|l|) the only exponential
_BERNOULLI = """
T e = exp(-fabs(l));
nll = (l > 0 ? l : (T)0) - x * l + log1p(e);
T p = l >= 0 ? 1 / (1 + e) : e / (1 + e);
dl = (p - x) * inv_batch;
"""


class CupyBackend(NumpyBackend):
    """CuPy arrays on a CUDA GPU; Adam and the Bernoulli NLL as fused GPU kernels."""

    name = "cupy"

    def __init__(self):
        try:
            import cupy
        except ImportError as err:
            raise RuntimeError("the cupy backend needs CuPy: pip install -e '.[gpu]'") from err
        if not cupy.cuda.is_available():
            raise RuntimeError("the cupy backend needs a CUDA GPU, and none is available")
        import array_api_compat.cupy

        self.cupy, self.xp = cupy, array_api_compat.cupy
        self._generators = {}  # id(numpy Generator) -> (that Generator, its CuPy generator)
        self._adam = cupy.ElementwiseKernel(
            "T g, T lr, T beta1, T beta2, T eps, T inv_c1, T inv_c2", "T p, T m, T v",
            _ADAM, "vaelite_adam")
        self._bernoulli = cupy.ElementwiseKernel(
            "T l, T x, T inv_batch", "T nll, T dl", _BERNOULLI, "vaelite_bernoulli_nll")

    def to_host(self, a):
        return self.cupy.asnumpy(a)

    def _device_generator(self, rng):
        """The CuPy generator that belongs to the NumPy generator ``rng`` (made on first use,
        seeded from ``rng``, so the same seed gives the same run)."""
        owner, generator = self._generators.get(id(rng), (None, None))
        if owner is not rng:  # new, or an id reused after the old generator was freed
            generator = self.cupy.random.default_rng(int(rng.integers(2**63)))
            if len(self._generators) >= 16:  # keep the most recent few (each holds its rng)
                self._generators.pop(next(iter(self._generators)))
            self._generators[id(rng)] = (rng, generator)
        return generator

    def uniform(self, rng, shape, dtype=np.float32):
        return self._device_generator(rng).random(shape, dtype=dtype)

    def standard_normal(self, rng, shape, dtype=np.float32):
        return self._device_generator(rng).standard_normal(shape, dtype=dtype)

    def adam_update(self, p, g, m, v, lr, beta1, beta2, eps, t):
        c = p.dtype.type
        self._adam(g, c(lr), c(beta1), c(beta2), c(eps), c(1 / (1 - beta1**t)),
                   c(1 / (1 - beta2**t)), p, m, v)

    def bernoulli_nll(self, logits, x):
        if logits.shape != x.shape or logits.dtype != x.dtype:
            return super().bernoulli_nll(logits, x)
        nll, dlogits = self._bernoulli(logits, x, logits.dtype.type(1 / x.shape[0]))
        return self.cupy.sum(nll) / x.shape[0], dlogits
