"""Central finite differences: the referee for every hand-written backward pass.

    df/dp_i ~= (f(p + h e_i) - f(p - h e_i)) / (2 h)

Use float64: with h = 1e-6 the truncation error is O(h^2) and the rounding error O(1e-16 / h),
so agreement to about 1e-8 is expected, and a relative error above 1e-6 means a bug.
"""
import numpy as np


def numerical_gradient(f, p, h=1e-6, indices=None):
    """Finite-difference gradient of the scalar f() with respect to the array p (changed in
    place, then restored). ``indices``: flat positions to check (default: all).
    Returns an array like p (zeros where not checked)."""
    if not isinstance(p, np.ndarray):
        # a NumPy scalar or a Python float cannot be nudged in place: f() would never see it
        raise TypeError(f"finite differences need a numpy array to change in place, "
                        f"got {type(p).__name__}")
    if p.dtype != np.float64:
        raise TypeError(f"finite differences need float64 parameters, got {p.dtype}")
    grad = np.zeros(p.shape, dtype=p.dtype)
    for i in range(p.size) if indices is None else indices:
        # index p itself (not p.reshape(-1), which is a copy when p is a non-contiguous view)
        j = np.unravel_index(i, p.shape)
        old = p[j]
        p[j] = old + h
        f_plus = f()
        p[j] = old - h
        f_minus = f()
        p[j] = old
        grad[j] = (f_plus - f_minus) / (2 * h)
    return grad


def relative_error(analytic, numeric):
    """||a - n|| / (||a|| + ||n||): 0 when equal, 1 when unrelated, robust to tiny values."""
    denom = np.linalg.norm(analytic) + np.linalg.norm(numeric)
    return 0.0 if denom == 0 else float(np.linalg.norm(analytic - numeric) / denom)


def check_gradients(f, parameters, h=1e-6, max_checks=None, rng=None):
    """Compare analytic gradients with finite differences of f().

    parameters: (name, param, analytic_grad) triples, the grads already computed at the
    current point. max_checks: check at most this many random entries per array (all if None).
    Returns {name: relative error}.
    """
    errors = {}
    for name, p, g in parameters:
        indices = None
        if max_checks is not None and p.size > max_checks:
            rng = rng if rng is not None else np.random.default_rng(0)
            indices = rng.choice(p.size, max_checks, replace=False)
        numeric = numerical_gradient(f, p, h, indices)
        analytic = g.copy() if indices is None else _masked(g, indices)
        errors[name] = relative_error(analytic, numeric)
    return errors


def _masked(g, indices):
    out = np.zeros(g.size, dtype=g.dtype)
    out[indices] = g.reshape(-1)[indices]
    return out.reshape(g.shape)


def check_layer(layer, x, rng=None, h=1e-6):
    """Gradient check of a layer's backward pass for L = sum(forward(x) * w), w random.

    Checks dL/dx and every parameter. Returns {name: relative error} (key "x" for the input).
    """
    rng = rng if rng is not None else np.random.default_rng(0)
    w = rng.standard_normal(layer.forward(x).shape)

    def f():
        return float(np.sum(layer.forward(x) * w))

    layer.forward(x)
    dx = layer.backward(w)
    triples = [("x", x, dx)] + [(n, p, g.copy()) for n, p, g in layer.parameters()]
    return check_gradients(f, triples, h)


def assert_gradients_ok(errors, tol=1e-6):
    """Raise an AssertionError naming every gradient whose relative error is not below tol.

    errors: {name: relative error}, as ``check_gradients`` and ``check_layer`` return."""
    if not errors:
        raise AssertionError("no gradient was checked")
    bad = {name: err for name, err in errors.items() if not err < tol}
    if bad:
        raise AssertionError(f"relative errors above {tol}: {bad}")
