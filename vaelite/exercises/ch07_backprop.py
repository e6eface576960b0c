"""Exercises of "Backprop by hand" (book/07_backprop.ipynb).

(The speed appendix, book/A1_speed.ipynb, registers its own exercises as chA1.* in
chA1_speed.py.)
"""
import numpy as np

from vaelite.exercises import Exercise, register


def linear_backward(x, W, dy):
    """Backward pass of y = x @ W + b.

    x: (batch, in), W: (in, out), dy = dL/dy: (batch, out).
    Returns (dx, dW, db) with shapes (batch, in), (in, out), (out,).
    """
    dx = dy @ W.T          # (batch, out) @ (out, in)
    dW = x.T @ dy          # (in, batch) @ (batch, out): a sum over the batch
    db = dy.sum(axis=0)    # b is added to every row, so its gradient sums the rows
    return dx, dW, db


def softplus_grad_from_output(y):
    """The derivative of y = softplus(x) = log(1 + exp(x)), written with the output y only.

    softplus'(x) = sigmoid(x), and exp(y) = 1 + exp(x), so
    sigmoid(x) = exp(x) / (1 + exp(x)) = (exp(y) - 1) / exp(y) = 1 - exp(-y).
    expm1 keeps every digit when y is tiny (1 - exp(-y) would cancel).
    """
    return -np.expm1(-y)


def latent_backward(dz, eps, mu, logvar, beta):
    """Gradients of L = recon + beta * KL wrt mu and logvar, both paths added.

    dz = d recon / dz (already divided by the batch); eps, mu, logvar: (batch, latent).
    KL = mean over the batch of 0.5 * sum_j (mu^2 + exp(logvar) - 1 - logvar).
    Returns (dmu, dlogvar), each (batch, latent).
    """
    batch = mu.shape[0]
    sigma = np.exp(0.5 * logvar)
    dmu = dz + beta * mu / batch                                    # z = mu + sigma * eps
    dlogvar = dz * eps * sigma / 2 + beta * np.expm1(logvar) / (2 * batch)
    return dmu, dlogvar


def mlp_backward(x, W1, b1, W2, b2, dy):
    """Backward pass of out = tanh(x @ W1 + b1) @ W2 + b2, the bug of the chapter fixed.

    x: (batch, in), W1: (in, hidden), b1: (hidden,), W2: (hidden, out), b2: (out,),
    dy = dL/dout: (batch, out). Returns {"dW1", "db1", "dW2", "db2", "dx"}.
    """
    h = np.tanh(x @ W1 + b1)       # the forward pass again: the backward needs h
    dW2 = h.T @ dy
    db2 = dy.sum(axis=0)
    dh = dy @ W2.T                 # the bug was here: dy @ W2 (no transpose)
    da = dh * (1 - h**2)           # tanh' read from the output h
    dW1 = x.T @ da
    db1 = da.sum(axis=0)
    dx = da @ W1.T
    return {"dW1": dW1, "db1": db1, "dW2": dW2, "db2": db2, "dx": dx}


def _linear_case(rng, batch, n_in, n_out):
    return (rng.standard_normal((batch, n_in)), rng.standard_normal((n_in, n_out)),
            rng.standard_normal((batch, n_out)))


register(Exercise(
    name="ch07.linear_backward",
    title="The backward pass of a Linear layer",
    reference=linear_backward,
    cases=[((np.array([[1.0, 2.0]]), np.array([[1.0, 0.0, 2.0], [0.0, 1.0, -1.0]]),
             np.array([[1.0, 1.0, 1.0]])),
            (np.array([[3.0, 0.0]]), np.array([[1.0, 1.0, 1.0], [2.0, 2.0, 2.0]]),
             np.array([1.0, 1.0, 1.0]))),
           ((np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]), np.array([[1.0, 2.0], [3.0, 4.0]]),
             np.array([[1.0, 0.0], [0.0, 1.0], [1.0, -1.0]])),
            (np.array([[1.0, 3.0], [2.0, 4.0], [-1.0, -1.0]]),
             np.array([[2.0, -1.0], [1.0, 0.0]]), np.array([2.0, 0.0])))],
    random_cases=lambda rng: [_linear_case(rng, *shape)
                              for shape in [(1, 4, 4), (5, 3, 2), (7, 6, 1), (4, 4, 4)]],
    hint="Write the shapes under each product: dx must be (batch, in), so dy (batch, out) "
         "times W^T (out, in); dW must be (in, out), so x^T (in, batch) times dy; db sums dy "
         "over the batch (axis 0).",
    minutes=10,
))


def _softplus_cases(rng):
    x = np.concatenate([rng.uniform(-40.0, 40.0, 20), [-35.0, -0.5, 0.0, 3.0, 50.0]])
    return [(np.logaddexp(0.0, x),), (np.logaddexp(0.0, rng.standard_normal(7)),)]


register(Exercise(
    name="ch07.softplus_from_output",
    title="The derivative of softplus, read from its output",
    reference=softplus_grad_from_output,
    cases=[((np.array([np.log(2.0)]),), np.array([0.5])),
           ((np.array([np.log(1 + np.e), np.log(1 + 1 / np.e)]),),
            np.array([np.e / (1 + np.e), 1 / (1 + np.e)])),
           ((np.logaddexp(0.0, np.array([-30.0, -60.0])),),  # tiny y: every digit counts
            1 / (1 + np.exp(np.array([30.0, 60.0]))))],
    random_cases=_softplus_cases,
    rtol=1e-9,
    atol=0.0,  # relative precision even for tiny derivatives
    hint="exp(y) = 1 + exp(x), so sigmoid(x) = 1 - exp(-y). For tiny y, 1 - exp(-y) loses "
         "its digits to cancellation; np.expm1(t) computes exp(t) - 1 without that loss.",
    minutes=10,
))


def _latent_case(rng, batch, latent, beta):
    return (rng.standard_normal((batch, latent)) / batch, rng.standard_normal((batch, latent)),
            rng.standard_normal((batch, latent)), rng.normal(0.0, 0.7, (batch, latent)), beta)


register(Exercise(
    name="ch07.latent_backward",
    title="The two gradient paths into mu and logvar",
    reference=latent_backward,
    cases=[((np.array([[0.5]]), np.array([[0.0]]), np.array([[2.0]]), np.array([[0.0]]), 1.0),
            (np.array([[2.5]]), np.array([[0.0]]))),
           ((np.array([[1.0, 0.0]]), np.array([[2.0, 1.0]]), np.array([[0.0, 0.0]]),
             np.array([[2 * np.log(2.0), np.log(3.0)]]), 0.0),
            (np.array([[1.0, 0.0]]), np.array([[2.0, 0.0]]))),
           ((np.zeros((2, 1)), np.ones((2, 1)), np.array([[1.0], [-1.0]]),
             np.array([[np.log(3.0)], [0.0]]), 2.0),
            (np.array([[1.0], [-1.0]]), np.array([[1.0], [0.0]])))],
    random_cases=lambda rng: [_latent_case(rng, 1, 3, 1.0), _latent_case(rng, 4, 2, 1.0),
                              _latent_case(rng, 6, 5, 4.0)],
    hint="Path 1, through z = mu + sigma * eps: dz and dz * eps * sigma / 2. Path 2, the KL "
         "term, is a mean over the batch: beta * mu / batch and "
         "beta * (exp(logvar) - 1) / (2 * batch). Add the two paths.",
    minutes=15,
))


def _mlp_case(rng, batch, n_in, hidden, n_out, scale=1.0):
    return (rng.standard_normal((batch, n_in)), scale * rng.standard_normal((n_in, hidden)),
            rng.standard_normal(hidden), rng.standard_normal((hidden, n_out)),
            rng.standard_normal(n_out), rng.standard_normal((batch, n_out)))


def _mlp_fixed_cases():
    rng = np.random.default_rng(70)
    cases = [_mlp_case(rng, 5, 3, 4, 4),   # the chapter's shapes: W2 is square (4, 4)
             _mlp_case(rng, 3, 3, 4, 2),   # W2 not square
             _mlp_case(rng, 1, 2, 3, 3),   # one example: a mean equals a sum
             _mlp_case(rng, 4, 3, 5, 5, scale=3.0)]  # large pre-activations: tanh saturates
    return [(args, mlp_backward(*args)) for args in cases]


register(Exercise(
    name="ch07.fix_mlp_backward",
    title="Find and fix the bug in a hand-written backward pass",
    reference=mlp_backward,
    cases=_mlp_fixed_cases(),
    random_cases=lambda rng: [_mlp_case(rng, 6, 4, 3, 3), _mlp_case(rng, 2, 5, 6, 1)],
    rtol=1e-7,
    hint="A gradient check names the wrong arrays; the first one wrong in backward order "
         "points at the line that breaks. Check each product against the Linear rules: "
         "dL/dx = dy W^T, dL/dW = x^T dy, dL/db = the sum over the batch of dy; and tanh' = "
         "1 - h^2 with the output h.",
    minutes=20,
))
