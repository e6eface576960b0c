"""The Numba backend: NumPy arrays, with compiled twins of the hot loops of a training step.

Each method here replaces the reference method of ``NumpyBackend`` of the same name with a
serial loop compiled by Numba (``vaelite/kernels``, compiled on first use and cached on disk).
It falls back to the reference where a twin does not apply (an array that is not C-contiguous,
mixed dtypes, other dimensions), so every call gives the reference's numbers.
"""
import importlib.util

import numpy as np

from ..kernels import activation, adam, bernoulli, binarize, logsumexp, pcg64, reparam
from ..kernels._jit import FAST, jit
from .numpy_backend import NumpyBackend


def _contiguous(*arrays):
    return all(a.flags.c_contiguous for a in arrays)


def _adam_applies(params, grads, ms, vs):
    """Whether the fused Adam kernel can take these lists: as many of each, every array
    C-contiguous (its flattened view is no copy), of one float dtype, shaped like its p."""
    if not params or not len(params) == len(grads) == len(ms) == len(vs):
        return False
    dtype = params[0].dtype
    for p, g, m, v in zip(params, grads, ms, vs):
        for a in (p, g, m, v):
            if a.shape != p.shape or a.dtype != dtype or not a.flags.c_contiguous:
                return False
    return dtype.kind == "f"


class NumbaBackend(NumpyBackend):
    """NumPy arrays on the CPU; Adam, bias + activation, reparameterization + KL, the
    Bernoulli NLL, binarization and log-sum-exp run as fused compiled loops."""

    name = "numba"

    def __init__(self):
        if importlib.util.find_spec("numba") is None:  # checked without importing numba
            raise RuntimeError("the numba backend needs Numba: pip install numba")

    def matmul(self, a, b, out):
        return np.matmul(a, b, out=out)  # no temporary

    def binarize(self, x, rng):
        x = np.ascontiguousarray(x)
        out = np.empty_like(x)
        if type(getattr(rng, "bit_generator", None)) is np.random.PCG64:  # default_rng's
            bits = rng.bit_generator  # NumPy's draws, computed inside the loop (kernels/pcg64)
            with bits.lock:
                state = bits.state
                after = pcg64.compiled_kernel()(x.reshape(-1), out.reshape(-1),
                                                *pcg64.split_state(state))
                bits.state = pcg64.join_state(state, *after)
            return out
        u = rng.random(x.shape, dtype=np.float32)
        jit(binarize.binarize_numba)(x.reshape(-1), u.reshape(-1), out.reshape(-1))
        return out

    def bias_act_forward(self, a, b, kind, slope=0.0):
        if not _contiguous(a, b) or a.dtype != b.dtype:
            return super().bias_act_forward(a, b, kind, slope)
        if kind == "leaky_relu":
            jit(activation.bias_leaky_relu_forward_numba)(a, b, a.dtype.type(slope))
        elif kind == "tanh":
            jit(activation.bias_tanh_forward_numba)(a, b)
        elif kind == "sigmoid":
            jit(activation.bias_sigmoid_forward_numba)(a, b)
        elif kind == "identity":
            jit(activation.bias_identity_forward_numba)(a, b)
        else:
            return super().bias_act_forward(a, b, kind, slope)  # raises the reference's error
        return a  # written in place over the fresh product

    def bias_act_backward(self, dy, y, kind, db, slope=0.0):
        if not _contiguous(dy, y, db) or not dy.dtype == y.dtype == db.dtype:
            return super().bias_act_backward(dy, y, kind, db, slope)
        if kind == "identity":
            jit(activation.identity_backward_numba)(dy, db)
            return dy
        dpre = np.empty_like(dy)
        if kind == "leaky_relu":
            jit(activation.leaky_relu_backward_numba)(dy, y, dy.dtype.type(slope), dpre, db)
        elif kind == "tanh":
            jit(activation.tanh_backward_numba)(dy, y, dpre, db)
        elif kind == "sigmoid":
            jit(activation.sigmoid_backward_numba)(dy, y, dpre, db)
        else:
            return super().bias_act_backward(dy, y, kind, db, slope)  # raises
        return dpre

    def reparam_kl_forward(self, h, eps):
        if h.dtype != eps.dtype or not _contiguous(eps):
            return super().reparam_kl_forward(h, eps)
        z, sigma = np.empty_like(eps), np.empty_like(eps)
        kl = jit(reparam.reparam_kl_forward_numba)(h, eps, z, sigma)
        return z, sigma, float(kl)

    def reparam_kl_backward(self, dz, eps, sigma, h, beta):
        if not dz.dtype == eps.dtype == sigma.dtype == h.dtype:
            return super().reparam_kl_backward(dz, eps, sigma, h, beta)
        dh = np.empty_like(h)
        weights = np.empty(eps.shape[1], dtype=h.dtype)  # beta / batch for every latent dim.
        weights[...] = np.asarray(beta, dtype=h.dtype) / h.dtype.type(h.shape[0])
        jit(reparam.reparam_kl_backward_numba)(dz, eps, sigma, h, weights, dh)
        return dh

    def _bernoulli_applies(self, logits, x):
        return logits.ndim == 2 and logits.shape == x.shape and logits.dtype == x.dtype

    def bernoulli_nll(self, logits, x):
        if not self._bernoulli_applies(logits, x):
            return super().bernoulli_nll(logits, x)
        dlogits = np.empty_like(logits)
        inv = logits.dtype.type(1.0 / x.shape[0])
        if logits.dtype == np.float32:  # polynomial exp/log1p that LLVM vectorises
            rows = np.empty(x.shape[0], dtype=np.float32)
            kernel = jit(bernoulli.bernoulli_nll_numba_f32, fastmath=FAST)
            kernel(logits, x, inv, dlogits, rows)
            value = rows.sum(dtype=np.float64) * inv  # the examples' NLLs
        else:
            value = jit(bernoulli.bernoulli_nll_numba, fastmath=FAST)(logits, x, inv, dlogits)
        return logits.dtype.type(value), dlogits

    def bernoulli_log_prob(self, logits, x):
        if not self._bernoulli_applies(logits, x):
            return super().bernoulli_log_prob(logits, x)
        out = np.empty(logits.shape[0], dtype=logits.dtype)
        if logits.dtype == np.float32:  # the fast twin's per-example NLL (its gradient unused)
            unused = np.empty_like(logits)
            jit(bernoulli.bernoulli_nll_numba_f32, fastmath=FAST)(logits, x, np.float32(1),
                                                                  unused, out)
            return np.negative(out, out=out)
        jit(bernoulli.bernoulli_log_prob_numba, fastmath=FAST)(logits, x, out)
        return out

    def adam_update(self, p, g, m, v, lr, beta1, beta2, eps, t):
        self.adam_step([p], [g], [m], [v], lr, beta1, beta2, eps, t)

    def adam_step(self, params, grads, ms, vs, lr, beta1, beta2, eps, t):
        if not _adam_applies(params, grads, ms, vs):
            for p, g, m, v in zip(params, grads, ms, vs):  # the reference, array by array
                super().adam_update(p, g, m, v, lr, beta1, beta2, eps, t)
            return
        dtype = params[0].dtype
        c = dtype.type  # constants in the parameters' dtype: float32 math stays float32
        # flattened views (the kernel writes through them), one tuple per kind of array
        flat = [tuple(a.reshape(-1) for a in arrays) for arrays in (params, grads, ms, vs)]
        constants = (c(beta1), c(1 - beta1), c(beta2), c(1 - beta2), c(lr),
                     c(1 / (1 - beta1**t)), c(1 / (1 - beta2**t)), c(eps), np.finfo(dtype).tiny)
        jit(adam.adam_update_numba)(*flat, *constants)

    def logsumexp(self, a, axis):
        if a.ndim != 2 or a.dtype.kind != "f" or axis not in (0, 1, -1, -2):
            return super().logsumexp(a, axis)
        rows = np.ascontiguousarray(a if axis in (1, -1) else a.T)
        out = np.empty(rows.shape[0], dtype=a.dtype)
        jit(logsumexp.logsumexp_rows_numba)(rows, out)
        return out
