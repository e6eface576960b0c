"""Bias + activation after a matrix product, and its backward pass, in one sweep each.

An MLP layer computes ``a = x @ W`` (BLAS), then ``y = act(a + b)``. Its backward pass needs
``dpre = dy * act'(a + b)`` and the bias gradient ``db = sum over the batch of dpre``. For every
activation here act' can be written with the output y alone, so the forward pass need not keep
a + b:

    relu / leaky_relu (slope s):  y = a + b if a + b > 0 else s (a + b);  act' = 1 if y > 0 else s
    tanh:                         act' = 1 - y^2
    sigmoid:                      act' = y (1 - y)
    identity (no activation):     act' = 1

``kind`` names the activation: "leaky_relu" (ReLU is slope 0), "tanh", "sigmoid" or "identity".
Shapes: ``a, y, dy, dpre: (batch, features)``, ``b, db: (features,)``.
"""
import numpy as np

from ..backend import get_backend
from ..functional import sigmoid
from ._jit import jit

KINDS = ("leaky_relu", "tanh", "sigmoid", "identity")


def bias_act_forward_numpy(a, b, kind, slope=0.0):
    """y = act(a + b), written into ``a`` (the fresh product x @ W) and returned."""
    a += b
    if kind == "leaky_relu":
        np.copyto(a, slope * a, where=~(a > 0))  # keeps NaN as NaN, like the layer
    elif kind == "tanh":
        np.tanh(a, out=a)
    elif kind == "sigmoid":
        a[...] = sigmoid(a)
    elif kind != "identity":
        raise ValueError(f"unknown activation kind {kind!r}")
    return a


def bias_act_backward_numpy(dy, y, kind, slope=0.0, db=None):
    """(dpre, db): dpre = dy * act'(from y), db = dpre summed over the batch (written into
    ``db`` when given)."""
    if kind == "leaky_relu":
        dpre = np.where(y > 0, dy, slope * dy) if slope else dy * (y > 0)
    elif kind == "tanh":
        dpre = dy * (1 - y * y)
    elif kind == "sigmoid":
        dpre = dy * y * (1 - y)
    elif kind == "identity":
        dpre = dy
    else:
        raise ValueError(f"unknown activation kind {kind!r}")
    if db is None:
        db = np.empty(dy.shape[1], dtype=dy.dtype)
    np.sum(dpre, axis=0, out=db)
    return dpre, db


# ---- Numba twins: one top-level function per activation (one cache entry each) ----

def _bias_leaky_relu_forward_numba(a, b, slope):
    n, d = a.shape
    for i in range(n):
        for j in range(d):
            s = a[i, j] + b[j]
            a[i, j] = s if s > 0 else slope * s


def _bias_tanh_forward_numba(a, b):
    n, d = a.shape
    for i in range(n):
        for j in range(d):
            a[i, j] = np.tanh(a[i, j] + b[j])


def _bias_sigmoid_forward_numba(a, b):
    n, d = a.shape
    for i in range(n):
        for j in range(d):
            s = a[i, j] + b[j]
            if s >= 0:
                a[i, j] = 1 / (1 + np.exp(-s))
            else:
                e = np.exp(s)
                a[i, j] = e / (1 + e)


def _bias_identity_forward_numba(a, b):
    n, d = a.shape
    for i in range(n):
        for j in range(d):
            a[i, j] += b[j]


def _leaky_relu_backward_numba(dy, y, slope, dpre, db):
    n, d = dy.shape
    db[:] = 0
    for i in range(n):
        for j in range(d):
            g = dy[i, j] if y[i, j] > 0 else slope * dy[i, j]
            dpre[i, j] = g
            db[j] += g


def _tanh_backward_numba(dy, y, dpre, db):
    n, d = dy.shape
    db[:] = 0
    for i in range(n):
        for j in range(d):
            g = dy[i, j] * (1 - y[i, j] * y[i, j])
            dpre[i, j] = g
            db[j] += g


def _sigmoid_backward_numba(dy, y, dpre, db):
    n, d = dy.shape
    db[:] = 0
    for i in range(n):
        for j in range(d):
            g = dy[i, j] * y[i, j] * (1 - y[i, j])
            dpre[i, j] = g
            db[j] += g


def _identity_backward_numba(dy, db):
    n, d = dy.shape
    db[:] = 0
    for i in range(n):
        for j in range(d):
            db[j] += dy[i, j]


def _use_numba(*arrays):
    return get_backend() == "numba" and all(a.flags.c_contiguous for a in arrays)


def bias_act_forward(a, b, kind, slope=0.0):
    """y = act(a + b) on the current backend, in place over ``a``; returns it."""
    if not _use_numba(a, b):
        return bias_act_forward_numpy(a, b, kind, slope)
    if kind == "leaky_relu":
        jit(_bias_leaky_relu_forward_numba)(a, b, a.dtype.type(slope))
    elif kind == "tanh":
        jit(_bias_tanh_forward_numba)(a, b)
    elif kind == "sigmoid":
        jit(_bias_sigmoid_forward_numba)(a, b)
    elif kind == "identity":
        jit(_bias_identity_forward_numba)(a, b)
    else:
        raise ValueError(f"unknown activation kind {kind!r}")
    return a


def bias_act_backward(dy, y, kind, slope=0.0, db=None):
    """(dpre, db) on the current backend; ``db`` (features,) is filled when given."""
    if not _use_numba(dy, y) or (db is not None and not db.flags.c_contiguous):
        return bias_act_backward_numpy(dy, y, kind, slope, db)
    if db is None:
        db = np.empty(dy.shape[1], dtype=dy.dtype)
    if kind == "identity":
        jit(_identity_backward_numba)(dy, db)
        return dy, db
    dpre = np.empty_like(dy)
    if kind == "leaky_relu":
        jit(_leaky_relu_backward_numba)(dy, y, dy.dtype.type(slope), dpre, db)
    elif kind == "tanh":
        jit(_tanh_backward_numba)(dy, y, dpre, db)
    elif kind == "sigmoid":
        jit(_sigmoid_backward_numba)(dy, y, dpre, db)
    else:
        raise ValueError(f"unknown activation kind {kind!r}")
    return dpre, db
