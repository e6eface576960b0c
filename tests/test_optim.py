"""Optimizers: hand-computed steps, Adam's bias correction, minimising a quadratic, in-place
updates (also of 0-d parameters), argument errors. Run on every CPU backend."""
import numpy as np
import pytest

import vaelite
from vaelite import SGD, VAE, Adam

from vaelite.backends import CPU_BACKENDS


def triple(values, dtype=np.float64, name="p"):
    p = np.array(values, dtype=dtype)
    return (name, p, np.zeros_like(p))


def test_adam_two_steps_by_hand(backend):
    """p0 = 1, lr = 0.1, betas (0.9, 0.999), eps 1e-8; gradients 2 then -1.

    step 1: m = 0.2, v = 0.004; m_hat = 0.2 / 0.1 = 2, v_hat = 0.004 / 0.001 = 4
            p = 1 - 0.1 * 2 / (2 + 1e-8) = 0.9000000005
    step 2: m = 0.9 * 0.2 - 0.1 = 0.08, v = 0.999 * 0.004 + 0.001 = 0.004996
            m_hat = 0.08 / 0.19 = 0.42105263, v_hat = 0.004996 / 0.001999 = 2.49924962
            p = 0.9000000005 - 0.1 * 0.42105263 / 1.58090152 = 0.87336630
    """
    for dtype, rtol in ((np.float64, 1e-12), (np.float32, 1e-6)):
        name, p, g = triple([1.0, -1.0], dtype)
        opt = Adam([(name, p, g)], lr=0.1)
        g[...] = [2.0, -2.0]
        opt.step()
        np.testing.assert_allclose(p, [0.9000000005, -0.9000000005], rtol=rtol)
        np.testing.assert_allclose(opt.m[0], [0.2, -0.2], rtol=rtol)
        np.testing.assert_allclose(opt.v[0], [0.004, 0.004], rtol=rtol)
        g[...] = [-1.0, 1.0]
        opt.step()
        np.testing.assert_allclose(p, [0.8733662967024315, -0.8733662967024315], rtol=rtol)
        np.testing.assert_allclose(opt.m[0], [0.08, -0.08], rtol=rtol)
        np.testing.assert_allclose(opt.v[0], [0.004996, 0.004996], rtol=rtol)
        assert opt.t == 2 and p.dtype == dtype


def test_adam_first_step_is_lr_times_sign(backend):
    """Bias correction makes the first step lr * g / (|g| + eps) ~ lr * sign(g), whatever |g|."""
    for dtype in (np.float64, np.float32):
        rng = np.random.default_rng(0)
        magnitudes = 10.0 ** rng.uniform(-3, 3, 50)
        g_values = magnitudes * rng.choice([-1, 1], 50)
        name, p, g = triple(rng.standard_normal(50), dtype)
        p0 = p.copy()
        g[...] = g_values
        Adam([(name, p, g)], lr=1e-2).step()
        np.testing.assert_allclose(p0 - p, 1e-2 * np.sign(g_values), rtol=1e-4)


def test_sgd_momentum_two_steps_by_hand(backend):
    """v = 0.9 v + g; p -= 0.1 v. g = 2: v = 2, p = 0.8. g = -1: v = 0.8, p = 0.72."""
    name, p, g = triple([1.0])
    opt = SGD([(name, p, g)], lr=0.1, momentum=0.9)
    g[...] = 2.0
    opt.step()
    np.testing.assert_allclose(p, [0.8], rtol=1e-14)
    g[...] = -1.0
    opt.step()
    np.testing.assert_allclose(p, [0.72], rtol=1e-14)
    # without momentum it is plain gradient descent
    name, p, g = triple([1.0, 2.0])
    g[...] = [0.5, -0.5]
    SGD([(name, p, g)], lr=0.1).step()
    np.testing.assert_allclose(p, [0.95, 2.05], rtol=1e-14)


@pytest.mark.parametrize("make,steps", [
    (lambda ps: SGD(ps, lr=0.1), 300),
    (lambda ps: SGD(ps, lr=0.05, momentum=0.9), 300),
    (lambda ps: Adam(ps, lr=0.05), 1500),
], ids=["sgd", "sgd_momentum", "adam"])
def test_minimises_a_quadratic(backend, make, steps):
    """f(p) = 0.5 sum a (p - c)^2 over a matrix and a vector: both reach c."""
    rng = np.random.default_rng(1)
    a = {"W": rng.uniform(0.5, 2, (4, 3)), "b": rng.uniform(0.5, 2, 3)}
    c = {"W": rng.standard_normal((4, 3)), "b": rng.standard_normal(3)}
    params = {k: np.zeros_like(v) for k, v in c.items()}
    grads = {k: np.zeros_like(v) for k, v in c.items()}
    opt = make([(k, params[k], grads[k]) for k in params])

    def f():
        return sum(0.5 * np.sum(a[k] * (params[k] - c[k]) ** 2) for k in params)

    start = f()
    for _ in range(steps):
        for k in params:
            grads[k][...] = a[k] * (params[k] - c[k])
        opt.step()
    assert f() < 1e-6 * start
    for k in params:
        np.testing.assert_allclose(params[k], c[k], atol=1e-3)


@pytest.mark.parametrize("make", [lambda ps: SGD(ps, lr=0.1, momentum=0.5),
                                  lambda ps: Adam(ps, lr=0.1)], ids=["sgd", "adam"])
def test_updates_model_parameters_in_place(backend, make):
    """The optimizer changes the model's own arrays, 0-d learned variances included."""
    model = VAE(12, (7,), 3, likelihood="gaussian", variance="global", seed=0)
    triples = model.parameters()
    before = {n: p.copy() for n, p, _ in triples}
    ids = {n: id(p) for n, p, _ in triples}
    opt = make(triples)
    x = np.random.default_rng(0).random((8, 12)).astype(np.float32)
    model.loss_and_grads(x, np.random.default_rng(1))
    opt.step()
    for n, p, g in model.parameters():
        assert id(p) == ids[n]
        assert p.dtype == np.float32
        assert np.all(np.isfinite(p))
        changed = np.any(p != before[n])
        assert changed == bool(np.any(g != 0)), n
    assert np.ndim(model.likelihood.params["logvar"]) == 0
    assert model.likelihood.params["logvar"] != before["likelihood.logvar"]


def test_backends_agree_on_adam():
    rng = np.random.default_rng(3)
    g_seq = rng.standard_normal((5, 40)).astype(np.float32)
    results = {}
    for name in CPU_BACKENDS:
        with vaelite.use_backend(name):
            n, p, g = triple(np.linspace(-1, 1, 40), np.float32)
            opt = Adam([(n, p, g)], lr=1e-2)
            for step_g in g_seq:
                g[...] = step_g
                opt.step()
            results[name] = p
    np.testing.assert_allclose(results["numba"], results["numpy"], rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("lr", [0.0, -1e-3, float("nan")])
def test_bad_learning_rate(lr):
    for opt in (SGD, Adam):
        with pytest.raises(ValueError, match=r"lr \(the learning rate\) must be a finite number > 0"):
            opt([triple([1.0])], lr=lr)


@pytest.mark.parametrize("betas", [(1.0, 0.999), (0.9, 1.0), (-0.1, 0.999), (0.9, 1.5)])
def test_bad_adam_betas(betas):
    with pytest.raises(ValueError, match="betas must"):
        Adam([triple([1.0])], betas=betas)


@pytest.mark.parametrize("momentum", [1.0, -0.1, 2.0])
def test_bad_momentum(momentum):
    with pytest.raises(ValueError, match="momentum must"):
        SGD([triple([1.0])], momentum=momentum)


def test_no_parameters():
    for opt in (SGD, Adam):
        with pytest.raises(ValueError, match="no parameters"):
            opt([])
