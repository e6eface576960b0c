"""Every method of the numba backend (a compiled twin in vaelite/kernels) equals the NumPy
backend's reference method; the numba backend trains to the same numbers as the numpy backend;
importing vaelite neither compiles nor imports numba.

No timings here: speed is measured by benchmarks/train_throughput.py.
"""
import os
import subprocess
import sys

import numpy as np
import pytest

import vaelite
from vaelite import backends
from vaelite.kernels import binarize

pytest.importorskip("numba")
REF = backends.make_backend("numpy")  # the reference methods
NUMBA = backends.make_backend("numba")  # the compiled twins

DTYPES = [np.float32, np.float64]
SHAPES = [(1, 1), (1, 784), (3, 7), (17, 33), (128, 784)]


def tol(dtype, scale=1.0):
    if dtype == np.float32:
        return dict(rtol=2e-5, atol=2e-6 * scale)
    return dict(rtol=1e-11, atol=1e-13 * scale)


def rand(rng, shape, dtype, scale=1.0):
    return (scale * rng.standard_normal(shape)).astype(dtype)


# ---- Adam ----

@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(), (1,), (5,), (3, 7), (784, 400)])
def test_adam_twin_equals_reference(dtype, shape):
    rng = np.random.default_rng(0)
    p = rand(rng, shape, dtype)
    refs = [p.copy(), np.zeros(shape, dtype), np.zeros(shape, dtype)]
    twins = [p.copy(), np.zeros(shape, dtype), np.zeros(shape, dtype)]
    for t in range(1, 6):
        g = rand(rng, shape, dtype, scale=10.0 ** rng.integers(-6, 4))
        REF.adam_update(refs[0], g, refs[1], refs[2], 1e-3, 0.9, 0.999, 1e-8, t)
        NUMBA.adam_update(twins[0], g, twins[1], twins[2], 1e-3, 0.9, 0.999, 1e-8, t)
    for r, w in zip(refs, twins):
        np.testing.assert_allclose(w, r, **tol(dtype, 1e-3))


@pytest.mark.filterwarnings("ignore:overflow encountered")
@pytest.mark.parametrize("dtype", DTYPES)
def test_adam_twin_extreme_gradients(dtype):
    g = np.array([0.0, -0.0, 1e-30, -1e-30, 1e20, -1e20, 1.0], dtype=dtype)
    ref = [np.ones_like(g), np.zeros_like(g), np.zeros_like(g)]
    twin = [np.ones_like(g), np.zeros_like(g), np.zeros_like(g)]
    REF.adam_update(*ref[:1], g, *ref[1:], 1e-3, 0.9, 0.999, 1e-8, 1)
    NUMBA.adam_update(*twin[:1], g, *twin[1:], 1e-3, 0.9, 0.999, 1e-8, 1)
    for r, w in zip(ref, twin):
        np.testing.assert_allclose(w, r, **tol(dtype))


def _adam_arrays(shapes, dtype, seed):
    rng = np.random.default_rng(seed)
    return [[rand(rng, s, dtype) for s in shapes], [rand(rng, s, dtype) for s in shapes],
            [rand(rng, s, dtype, 0.1) for s in shapes],
            [np.abs(rand(rng, s, dtype)) for s in shapes]]


@pytest.mark.parametrize("dtype", DTYPES)
def test_adam_step_of_a_whole_model_equals_reference(dtype):
    """One kernel call for every parameter: the reference's numbers."""
    shapes = [(64, 40), (40,), (40, 6), (6,), (3, 40), (40,), (40, 64), (64,), ()]
    ref, twin = _adam_arrays(shapes, dtype, 0), _adam_arrays(shapes, dtype, 0)
    for t in range(1, 4):
        REF.adam_step(*ref, 1e-3, 0.9, 0.999, 1e-8, t)
        NUMBA.adam_step(*twin, 1e-3, 0.9, 0.999, 1e-8, t)
    for kind in (0, 2, 3):  # p, m, v
        for r, w in zip(ref[kind], twin[kind]):
            np.testing.assert_allclose(w, r, **tol(dtype, 1e-3))


def test_adam_twin_stores_subnormal_first_moments_as_zero():
    """A zero gradient shrinks m by beta1 each step; once m would be subnormal the twin stores
    zero (subnormal arithmetic is slow), and the parameter moves exactly as in the reference."""
    tiny = np.finfo(np.float32).tiny
    p = np.array([0.03, -0.02, 0.5], np.float32)
    g = np.zeros(3, np.float32)
    m = np.array([tiny * 1.05, -tiny * 1.05, 1e-3], np.float32)
    v = np.full(3, 1e-6, np.float32)
    ref = [a.copy() for a in (p, g, m, v)]
    NUMBA.adam_update(p, g, m, v, 1e-3, 0.9, 0.999, 1e-8, 900)
    REF.adam_update(*ref, 1e-3, 0.9, 0.999, 1e-8, 900)
    assert 0 < abs(ref[2][0]) < tiny and m[0] == 0 and m[1] == 0  # the reference keeps it
    np.testing.assert_array_equal(p, ref[0])
    np.testing.assert_array_equal(m[2], ref[2][2])


def test_adam_twin_computes_float32_in_float32():
    """Every operation of the float32 twin in float32: its result is bit for bit the same
    operations done by NumPy on float32 arrays. (A float32 times a Python int is a float64 in
    Numba: once, `m * 0` made the whole update float64, 1.5x slower and rounded differently.)"""
    rng = np.random.default_rng(3)
    p, g = rand(rng, 10_000, np.float32), rand(rng, 10_000, np.float32, 1e-2)
    m, v = rand(rng, 10_000, np.float32, 1e-2), np.abs(rand(rng, 10_000, np.float32, 1e-4))
    want = [a.copy() for a in (p, m, v)]
    NUMBA.adam_update(p, g, m, v, 1e-3, 0.9, 0.999, 1e-8, 7)
    f = np.float32
    b1, b2, lr, eps = f(0.9), f(0.999), f(1e-3), f(1e-8)
    inv_c1, inv_c2 = f(1 / (1 - 0.9**7)), f(1 / (1 - 0.999**7))
    wp, wm, wv = want
    wm[...] = b1 * wm + f(1 - 0.9) * g
    wv[...] = b2 * wv + f(1 - 0.999) * g * g
    wp -= lr * (wm * inv_c1) / (np.sqrt(wv * inv_c2) + eps)
    for got, expected in zip((p, m, v), want):
        np.testing.assert_array_equal(got, expected)


def test_adam_step_falls_back_for_strided_arrays():
    p, g, m, v = _adam_arrays([(20, 30)], np.float32, 1)
    p_t = [p[0].T]  # not C-contiguous: a flattened view would be a copy
    ref = [a[0].T.copy() for a in (p, g, m, v)]
    NUMBA.adam_step(p_t, [g[0].T], [m[0].T], [v[0].T], 1e-3, 0.9, 0.999, 1e-8, 1)
    REF.adam_update(*ref, 1e-3, 0.9, 0.999, 1e-8, 1)
    np.testing.assert_array_equal(p_t[0], ref[0])  # updated in place, as the reference does


# ---- bias + activation ----

KINDS = [("leaky_relu", 0.0), ("leaky_relu", 0.2), ("tanh", 0.0), ("sigmoid", 0.0),
         ("identity", 0.0)]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("kind,slope", KINDS)
def test_bias_act_twins_equal_reference(dtype, shape, kind, slope):
    rng = np.random.default_rng(1)
    a = rand(rng, shape, dtype, 3.0)
    a.flat[:4] = np.array([1e4, -1e4, 0.0, -0.0])[: a.size]  # extreme pre-activations
    b = rand(rng, shape[1], dtype)
    y_ref = REF.bias_act_forward(a.copy(), b, kind, slope)
    y = NUMBA.bias_act_forward(a.copy(), b, kind, slope)
    np.testing.assert_allclose(y, y_ref, **tol(dtype))
    assert y.dtype == y_ref.dtype
    dy = rand(rng, shape, dtype)
    db_ref = np.full(shape[1], np.nan, dtype)
    dpre_ref = REF.bias_act_backward(dy, y_ref, kind, db_ref, slope)
    db = np.full(shape[1], np.nan, dtype)  # filled in place (the layer's grads["b"])
    dpre = NUMBA.bias_act_backward(dy, y_ref, kind, db, slope)
    np.testing.assert_allclose(dpre, dpre_ref, **tol(dtype))
    np.testing.assert_allclose(db, db_ref, **tol(dtype, shape[0]))


@pytest.mark.parametrize("act", ["relu", "leaky_relu", "tanh", "sigmoid", "softplus"])
@pytest.mark.parametrize("output_activation", [None, "sigmoid", "softplus"])
@pytest.mark.parametrize("batch", [1, 9])
def test_mlp_under_numba_equals_numpy(act, output_activation, batch):
    """The MLP under the numba backend gives the forward output, input gradient and every
    parameter gradient it gives under the numpy backend."""
    dtype = np.float64
    mlps = {name: vaelite.MLP([13, 11, 7, 5], np.random.default_rng(2), act, output_activation,
                              dtype=dtype) for name in ("numpy", "numba")}
    rng = np.random.default_rng(3)
    x, dy = rand(rng, (batch, 13), dtype), rand(rng, (batch, 5), dtype)
    out, dx = {}, {}
    for name, mlp in mlps.items():
        with vaelite.use_backend(name):
            out[name] = mlp.forward(x)
            dx[name] = mlp.backward(dy)
    np.testing.assert_allclose(out["numba"], out["numpy"], **tol(dtype))
    np.testing.assert_allclose(dx["numba"], dx["numpy"], **tol(dtype))
    for (n1, _, g1), (n2, _, g2) in zip(mlps["numpy"].parameters(), mlps["numba"].parameters()):
        assert n1 == n2
        np.testing.assert_allclose(g2, g1, **tol(dtype), err_msg=n1)


@pytest.mark.parametrize("name", ["numpy", "numba"])
def test_mlp_backward_can_skip_the_input_gradient(name):
    mlp = vaelite.MLP([6, 4, 3], np.random.default_rng(0), dtype=np.float64)
    rng = np.random.default_rng(1)
    x, dy = rand(rng, (5, 6), np.float64), rand(rng, (5, 3), np.float64)
    with vaelite.use_backend(name):
        mlp.forward(x)
        mlp.backward(dy)
        grads = [g.copy() for _, _, g in mlp.parameters()]
        mlp.forward(x)
        assert mlp.backward(dy, need_dx=False) is None
    for g, (_, _, g2) in zip(grads, mlp.parameters()):
        np.testing.assert_array_equal(g, g2)


# ---- reparameterization + KL ----

@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("batch,latent", [(1, 1), (1, 20), (7, 3), (128, 20)])
@pytest.mark.parametrize("beta", [0.0, 1.0, 4.0])
def test_reparam_kl_twins_equal_reference(dtype, batch, latent, beta):
    rng = np.random.default_rng(4)
    h = rand(rng, (batch, 2 * latent), dtype, 2.0)
    extremes = np.array([30.0, -30.0, 1e-7, 0.0])[:latent]
    h[0, latent:latent + len(extremes)] = extremes  # extreme log-variances
    eps = rand(rng, (batch, latent), dtype)
    z_ref, s_ref, kl_ref = REF.reparam_kl_forward(h, eps)
    z, s, kl = NUMBA.reparam_kl_forward(h, eps)
    np.testing.assert_allclose(z, z_ref, **tol(dtype))
    np.testing.assert_allclose(s, s_ref, **tol(dtype))
    np.testing.assert_allclose(kl, kl_ref, rtol=2e-5 if dtype == np.float32 else 1e-11)
    assert kl >= 0
    dz = rand(rng, (batch, latent), dtype)
    np.testing.assert_allclose(NUMBA.reparam_kl_backward(dz, eps, s_ref, h, beta),
                               REF.reparam_kl_backward(dz, eps, s_ref, h, beta),
                               **tol(dtype))


def test_reparam_reference_is_built_on_losses_kl_normal():
    rng = np.random.default_rng(5)
    h, eps = rand(rng, (6, 8), np.float64), rand(rng, (6, 4), np.float64)
    kl, dmu, dlogvar = vaelite.losses.kl_normal(h[:, :4], h[:, 4:])
    _, sigma, kl_ref = REF.reparam_kl_forward(h, eps)
    np.testing.assert_allclose(kl_ref, kl, rtol=1e-12)
    dh = REF.reparam_kl_backward(np.zeros_like(eps), eps, sigma, h, 1.0)
    np.testing.assert_allclose(dh, np.concatenate([dmu, dlogvar], axis=1), rtol=1e-12)


# ---- Bernoulli NLL from logits ----

EXTREME_LOGITS = [1e4, -1e4, 100.0, -100.0, 88.0, -88.0, 87.5, -87.5, 30.0, -30.0, 17.0, -17.0,
                  1e-3, -1e-3, 0.0, -0.0, 0.5, -0.5]


def logits_and_pixels(shape, dtype, seed=6):
    rng = np.random.default_rng(seed)
    logits = rand(rng, shape, dtype, 5.0)
    n = min(logits.size, len(EXTREME_LOGITS))
    logits.flat[:n] = EXTREME_LOGITS[:n]
    x = (rng.random(shape) < 0.3).astype(dtype)
    x.flat[n // 2: n] = 1.0 - x.flat[n // 2: n]  # extremes meet both pixel values
    x.flat[-1] = 0.25  # pixels in between (grey-level data) are allowed too
    return logits, x


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", SHAPES + [(2, 9)])
def test_bernoulli_nll_twin_equals_reference(dtype, shape):
    logits, x = logits_and_pixels(shape, dtype)
    value_ref, grad_ref = REF.bernoulli_nll(logits, x)
    value, grad = NUMBA.bernoulli_nll(logits, x)
    assert np.isfinite(value) and np.all(np.isfinite(grad))
    np.testing.assert_allclose(value, value_ref, rtol=1e-5 if dtype == np.float32 else 1e-11)
    assert grad.dtype == grad_ref.dtype == dtype
    np.testing.assert_allclose(grad, grad_ref, **tol(dtype, 1 / shape[0]))
    lp = NUMBA.bernoulli_log_prob(logits, x)
    np.testing.assert_allclose(lp, REF.bernoulli_log_prob(logits, x),
                               rtol=1e-5 if dtype == np.float32 else 1e-11, atol=1e-4)


@pytest.mark.parametrize("dtype", DTYPES)
def test_bernoulli_nll_twin_accuracy_on_a_dense_grid(dtype):
    """Over a dense grid of logits (one pixel per example), the twin's per-pixel NLL and
    gradient are at least about as close to the float64 truth as the reference is (the float32
    twin uses a polynomial exp and log1p)."""
    l = np.linspace(-95, 95, 20001).astype(dtype)[:, None]
    eps = np.finfo(dtype).eps
    for pixel in (0.0, 1.0, 0.3):
        x = np.full_like(l, pixel)
        truth = -REF.bernoulli_log_prob(l.astype(np.float64), x.astype(np.float64))
        g_truth = REF.bernoulli_nll(l.astype(np.float64), x.astype(np.float64))[1]
        ref = -REF.bernoulli_log_prob(l, x)
        g_ref = REF.bernoulli_nll(l, x)[1]
        twin = -NUMBA.bernoulli_log_prob(l, x)
        g_twin = NUMBA.bernoulli_nll(l, x)[1]
        # scale: the size of the terms that cancel (rounding in them is unavoidable)
        value_scale = np.abs(l[:, 0]) * (1 + pixel) + truth
        grad_scale = (1 + pixel) / l.shape[0]
        for t, r, truth_, scale in ((twin, ref, truth, value_scale),
                                    (g_twin, g_ref, g_truth, grad_scale)):
            err_twin, err_ref = np.abs(t - truth_), np.abs(r - truth_)
            assert np.all(err_twin <= err_ref + 8 * eps * scale + 1e-37), pixel
        value = NUMBA.bernoulli_nll(l, x)[0]
        np.testing.assert_allclose(value, truth.mean(), rtol=100 * eps)


def test_bernoulli_nll_twin_makes_no_subnormal_gradient():
    """Saturated logits (a confident decoder's background pixels) give gradients that are zero
    or normal float32 numbers, never subnormal ones (slow arithmetic on x86), for batches up to
    10,000; and the loss stays the reference's."""
    tiny = np.finfo(np.float32).tiny
    rng = np.random.default_rng(5)
    for batch in (128, 10_000):
        logits = rng.choice(np.float32([-1e4, -200, -90, -75, -50, 50, 90]), (batch, 6))
        x = rng.integers(0, 2, (batch, 6)).astype(np.float32)
        value, grad = NUMBA.bernoulli_nll(logits, x)
        magnitude = np.abs(grad)
        assert np.all((magnitude == 0) | (magnitude >= tiny))
        np.testing.assert_allclose(value, REF.bernoulli_nll(logits, x)[0], rtol=1e-6)


def test_bernoulli_nll_twin_propagates_nan():
    logits, x = logits_and_pixels((3, 5), np.float32)
    logits[1, 2] = np.nan
    value, grad = NUMBA.bernoulli_nll(logits, x)
    assert np.isnan(value) and np.isnan(grad[1, 2])
    assert np.isfinite(np.delete(grad.ravel(), 1 * 5 + 2)).all()


def test_losses_dispatch_to_the_twin():
    logits, x = logits_and_pixels((4, 10), np.float64)
    with vaelite.use_backend("numpy"):
        ref = vaelite.losses.bernoulli_nll(logits, x)
    with vaelite.use_backend("numba"):
        twin = vaelite.losses.bernoulli_nll(logits, x)
    np.testing.assert_allclose(twin[0], ref[0], rtol=1e-12)
    np.testing.assert_allclose(twin[1], ref[1], rtol=1e-12, atol=1e-15)


# ---- binarization and log-sum-exp ----

@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", SHAPES)
def test_binarize_twin_equals_reference(dtype, shape):
    rng = np.random.default_rng(7)
    x = rng.random(shape).astype(dtype)
    x.flat[:3] = [0.0, 1.0, 0.5][: x.size]
    out = NUMBA.binarize(x, np.random.default_rng(8))
    assert out.dtype == dtype
    np.testing.assert_array_equal(out, REF.binarize(x, np.random.default_rng(8)))


@pytest.mark.parametrize("bits", [np.random.PCG64, np.random.Philox])
@pytest.mark.parametrize("shapes", [[(128, 784)] * 3, [(1, 1), (3, 7), (2, 2), (1, 5)],
                                    [(0, 3), (5, 5), (17, 33), (1, 9), (2, 3)]])
def test_binarize_twin_continues_numpys_stream(bits, shapes):
    """The PCG64 draws made inside the twin are NumPy's: the same images call after call (odd
    sizes leave half a 64-bit output in the generator), the generator left in NumPy's state, so
    the next draw of anything else is the same too; other bit generators take NumPy's path."""
    x = np.random.default_rng(3).random((128, 784), dtype=np.float32)
    ref_rng, twin_rng = np.random.Generator(bits(11)), np.random.Generator(bits(11))
    for shape in shapes:
        xs = x[:shape[0], :shape[1]]
        np.testing.assert_array_equal(NUMBA.binarize(xs, twin_rng), REF.binarize(xs, ref_rng))
        if bits is np.random.PCG64:
            assert twin_rng.bit_generator.state == ref_rng.bit_generator.state
        np.testing.assert_array_equal(twin_rng.standard_normal(3), ref_rng.standard_normal(3))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("axis", [0, 1, -1])
@pytest.mark.parametrize("shape", [(1, 1), (1, 5000), (64, 3), (5000, 2)])
def test_logsumexp_twin_equals_reference(dtype, axis, shape):
    rng = np.random.default_rng(8)
    a = rand(rng, shape, dtype, 300.0)  # log-weights far beyond exp's range
    np.testing.assert_allclose(NUMBA.logsumexp(a, axis), REF.logsumexp(a, axis),
                               **tol(dtype, 300))


@pytest.mark.filterwarnings("ignore:divide by zero")
def test_logsumexp_twin_infinities():
    a = np.array([[-np.inf, -np.inf], [np.inf, 0.0], [-np.inf, 2.0]])
    np.testing.assert_array_equal(NUMBA.logsumexp(a, 1), REF.logsumexp(a, 1))


# ---- the whole training step, backend against backend ----

@pytest.mark.parametrize("dtype,rtol", [(np.float64, 1e-10), (np.float32, 1e-4)])
@pytest.mark.parametrize("hidden,act", [((400,), "relu"), ((32, 16), "tanh")])
def test_training_gives_the_same_numbers_under_numpy_and_numba(dtype, rtol, hidden, act):
    data_rng = np.random.default_rng(9)
    x = (data_rng.random((4, 64, 784)) < 0.2).astype(dtype)
    results = {}
    for name in ("numpy", "numba"):
        with vaelite.use_backend(name):
            model = vaelite.VAE(hidden=hidden, latent_dim=8, activation=act, dtype=dtype, seed=1)
            opt = vaelite.Adam(model.parameters(), lr=1e-3)
            rng = np.random.default_rng(10)
            losses = []
            for step in range(8):
                losses.append(model.loss_and_grads(x[step % 4], rng))
                opt.step()
            results[name] = (losses, [p.copy() for _, p, _ in model.parameters()],
                             model.loss(x[0], np.random.default_rng(11)))
    (l1, p1, e1), (l2, p2, e2) = results["numpy"], results["numba"]
    for a, b in zip(l1, l2):
        for key in ("loss", "recon", "kl"):
            np.testing.assert_allclose(b[key], a[key], rtol=rtol, atol=rtol)
    for key in ("loss", "recon", "kl"):
        np.testing.assert_allclose(e2[key], e1[key], rtol=rtol, atol=rtol)
    # In float32 a gradient near 0 may round to the other sign; Adam then moves that weight by
    # up to lr the other way, so parameters agree to a few lr, losses to float precision.
    for a, b in zip(p1, p2):
        np.testing.assert_allclose(b, a, rtol=rtol, atol=1e-12 if dtype == np.float64 else 2e-3)


# ---- dispatch, laziness, caching ----

def test_import_vaelite_neither_imports_nor_compiles_numba():
    code = ("import sys, vaelite, vaelite.kernels.adam, vaelite.kernels.bernoulli;"
            "vaelite.set_backend('numba');"
            "assert 'numba' not in sys.modules, 'import vaelite imported numba';"
            "m = vaelite.VAE(hidden=(8,), latent_dim=2);"
            "import numpy as np;"
            "m.loss_and_grads(np.zeros((2, 784), np.float32), np.random.default_rng(0));"
            "assert 'numba' in sys.modules")
    env = {k: v for k, v in os.environ.items() if k != "VAELITE_BACKEND"}
    subprocess.run([sys.executable, "-c", code], check=True, env=env, timeout=300)


def test_each_twin_is_compiled_once_with_disk_cache():
    from vaelite.kernels._jit import jit
    k1 = jit(binarize.binarize_numba)
    assert jit(binarize.binarize_numba) is k1
    assert k1._cache is not None and type(k1._cache).__name__ == "FunctionCache"


def test_numba_backend_needs_numba(monkeypatch):
    import importlib.util
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "numba" else real(name, *a))
    monkeypatch.setattr(backends, "_instances", {})  # not the one made already
    with pytest.raises(RuntimeError, match="Numba"):
        vaelite.set_backend("numba")
