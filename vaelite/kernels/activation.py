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


KINDS = ("leaky_relu", "tanh", "sigmoid", "identity")


# ---- Numba twins: one top-level function per activation (one cache entry each) ----

def bias_leaky_relu_forward_numba(a, b, slope):
    n, d = a.shape
    for i in range(n):
        for j in range(d):
            s = a[i, j] + b[j]
            a[i, j] = s if s > 0 else slope * s


def bias_tanh_forward_numba(a, b):
    n, d = a.shape
    for i in range(n):
        for j in range(d):
            a[i, j] = np.tanh(a[i, j] + b[j])


def bias_sigmoid_forward_numba(a, b):
    n, d = a.shape
    for i in range(n):
        for j in range(d):
            s = a[i, j] + b[j]
            if s >= 0:
                a[i, j] = 1 / (1 + np.exp(-s))
            else:
                e = np.exp(s)
                a[i, j] = e / (1 + e)


def bias_identity_forward_numba(a, b):
    n, d = a.shape
    for i in range(n):
        for j in range(d):
            a[i, j] += b[j]


def leaky_relu_backward_numba(dy, y, slope, dpre, db):
    n, d = dy.shape
    db[:] = 0
    for i in range(n):
        for j in range(d):
            g = dy[i, j] if y[i, j] > 0 else slope * dy[i, j]
            dpre[i, j] = g
            db[j] += g


def tanh_backward_numba(dy, y, dpre, db):
    n, d = dy.shape
    db[:] = 0
    for i in range(n):
        for j in range(d):
            g = dy[i, j] * (1 - y[i, j] * y[i, j])
            dpre[i, j] = g
            db[j] += g


def sigmoid_backward_numba(dy, y, dpre, db):
    n, d = dy.shape
    db[:] = 0
    for i in range(n):
        for j in range(d):
            g = dy[i, j] * y[i, j] * (1 - y[i, j])
            dpre[i, j] = g
            db[j] += g


def identity_backward_numba(dy, db):
    n, d = dy.shape
    db[:] = 0
    for i in range(n):
        for j in range(d):
            db[j] += dy[i, j]
