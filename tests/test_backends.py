"""Backends as objects: the switch, the strict array-API backend that proves the generic path
portable, every backend's primitives against the NumPy reference, and the CuPy backend (its
errors without a GPU here; its numbers where a GPU is present)."""
import os
import subprocess
import sys
import types

import numpy as np
import pytest

import vaelite
from vaelite import backends
from vaelite.data import load_mnist

REF = backends.make_backend("numpy")


@pytest.fixture(autouse=True)
def restore_backend(monkeypatch):
    """Every test leaves the library on the backend it found."""
    monkeypatch.setattr(backends, "_current", backends.current())


# ---- the switch ----

def test_set_get_use():
    for name in ("numba", "strict", "numpy"):
        vaelite.set_backend(name)
        assert vaelite.get_backend() == name == backends.current().name
    assert backends.BACKENDS == ("numpy", "numba", "cupy", "strict")
    with vaelite.use_backend("strict") as strict:
        assert backends.current() is strict and strict.name == "strict"
    assert vaelite.get_backend() == "numpy"
    with pytest.raises(KeyError):
        with vaelite.use_backend("numba"):
            raise KeyError("boom")
    assert vaelite.get_backend() == "numpy"


def test_unknown_backend_changes_nothing():
    vaelite.set_backend("numpy")
    with pytest.raises(ValueError, match="unknown backend 'jax'; choose one of numpy, numba, "
                                         "cupy, strict"):
        vaelite.set_backend("jax")
    assert vaelite.get_backend() == "numpy"


def test_default_from_environment(monkeypatch):
    for value, expected in (("numba", "numba"), (None, "numpy"), ("strict", "strict")):
        monkeypatch.setattr(backends, "_current", None)
        if value is None:
            monkeypatch.delenv("VAELITE_BACKEND", raising=False)
        else:
            monkeypatch.setenv("VAELITE_BACKEND", value)
        assert vaelite.get_backend() == expected
    monkeypatch.setattr(backends, "_current", None)
    monkeypatch.setenv("VAELITE_BACKEND", "fortran")
    with pytest.raises(ValueError, match="unknown backend 'fortran'"):
        vaelite.get_backend()


def test_import_vaelite_imports_neither_numba_nor_cupy():
    code = ("import sys, vaelite, vaelite.kernels.adam;"
            "bad = {'numba', 'cupy', 'array_api_strict'} & set(sys.modules);"
            "assert not bad, bad")
    env = {k: v for k, v in os.environ.items() if k != "VAELITE_BACKEND"}
    subprocess.run([sys.executable, "-c", code], check=True, env=env, timeout=120)


def test_no_backend_name_comparisons_above_the_backends():
    """Models, layers, losses, likelihoods, components and optimizers ask the backend object
    for its methods; they never branch on its name."""
    root = os.path.dirname(vaelite.__file__)
    paths = [os.path.join(root, f) for f in ("layers.py", "losses.py", "likelihoods.py",
                                             "optim.py", "train.py", "evaluate.py", "io.py")]
    for folder in ("models", "components"):
        paths += [os.path.join(root, folder, f) for f in os.listdir(os.path.join(root, folder))
                  if f.endswith(".py")]
    for path in paths:
        text = open(path).read()
        for needle in ("get_backend()", '"numba"', '"cupy"', '"strict"', ".name =="):
            assert needle not in text, f"{path} compares the backend: {needle}"


# ---- CuPy without a GPU: one clear error ----

@pytest.fixture
def fresh_registry(monkeypatch):
    monkeypatch.setattr(backends, "_instances", {})


def test_cupy_not_installed(monkeypatch, fresh_registry):
    monkeypatch.setitem(sys.modules, "cupy", None)  # `import cupy` raises ImportError
    vaelite.set_backend("numpy")
    with pytest.raises(RuntimeError, match=r"needs CuPy: pip install -e '.\[gpu\]'"):
        vaelite.set_backend("cupy")
    assert vaelite.get_backend() == "numpy"


def test_cupy_without_gpu(monkeypatch, fresh_registry):
    fake = types.ModuleType("cupy")
    fake.cuda = types.SimpleNamespace(is_available=lambda: False)
    monkeypatch.setitem(sys.modules, "cupy", fake)
    with pytest.raises(RuntimeError, match="needs a CUDA GPU, and none is available"):
        vaelite.set_backend("cupy")


# ---- the strict backend catches NumPy-only code ----

def test_strict_arrays_refuse_numpy():
    """What makes the strict backend a test: its arrays live on a device that NumPy cannot
    read, and it has only the standard's functions and methods."""
    strict = backends.make_backend("strict")
    a = strict.asarray(np.ones((2, 3), np.float32))
    with pytest.raises(RuntimeError, match="device"):
        np.exp(a)
    with pytest.raises(AttributeError):
        a.reshape(3, 2)
    np.testing.assert_array_equal(strict.to_host(strict.xp.reshape(a, (3, 2))), np.ones((3, 2)))
    assert strict.numpy_dtype(a.dtype) == np.float32


# ---- every backend's primitives equal the reference ----

def assert_close(backend, got, expected, rtol=1e-12, atol=1e-14):
    got = backend.to_host(got) if hasattr(got, "shape") else got
    np.testing.assert_allclose(got, np.asarray(expected), rtol=rtol, atol=atol)


def test_primitives_equal_the_reference(any_backend):
    be, rng = any_backend, np.random.default_rng(0)
    a, b, dy = rng.normal(size=(5, 7)), rng.normal(size=7), rng.normal(size=(5, 7))
    for kind, slope in (("leaky_relu", 0.0), ("leaky_relu", 0.1), ("tanh", 0.0),
                        ("sigmoid", 0.0), ("identity", 0.0)):
        y_ref = REF.bias_act_forward(a.copy(), b, kind, slope)
        y = be.bias_act_forward(be.asarray(a.copy()), be.asarray(b), kind, slope)
        assert_close(be, y, y_ref)
        db_ref, db = np.zeros(7), be.asarray(np.zeros(7))
        dpre = be.bias_act_backward(be.asarray(dy), y, kind, db, slope)
        assert_close(be, dpre, REF.bias_act_backward(dy, y_ref, kind, db_ref, slope))
        assert_close(be, db, db_ref)
    h, eps, dz = rng.normal(size=(4, 6)), rng.normal(size=(4, 3)), rng.normal(size=(4, 3))
    z_ref, s_ref, kl_ref = REF.reparam_kl_forward(h, eps)
    z, s, kl = be.reparam_kl_forward(be.asarray(h), be.asarray(eps))
    assert_close(be, z, z_ref)
    assert_close(be, s, s_ref)
    assert isinstance(kl, float) and np.isclose(kl, kl_ref, rtol=1e-12)
    assert_close(be, be.reparam_kl_backward(be.asarray(dz), be.asarray(eps), s, be.asarray(h),
                                            2.0),
                 REF.reparam_kl_backward(dz, eps, s_ref, h, 2.0))
    logits, x = 4 * rng.normal(size=(6, 9)), (rng.random((6, 9)) < 0.4).astype(np.float64)
    value_ref, grad_ref = REF.bernoulli_nll(logits, x)
    value, grad = be.bernoulli_nll(be.asarray(logits), be.asarray(x))
    assert np.isclose(float(value), float(value_ref), rtol=1e-12)
    assert_close(be, grad, grad_ref)
    assert_close(be, be.bernoulli_log_prob(be.asarray(logits), be.asarray(x)),
                 REF.bernoulli_log_prob(logits, x))
    lw = 300 * rng.normal(size=(50, 4))
    assert_close(be, be.logsumexp(be.asarray(lw), axis=0), REF.logsumexp(lw, 0), atol=1e-9)
    p, g = rng.normal(size=(3, 4)), rng.normal(size=(3, 4))
    ref_state = [p.copy(), np.zeros_like(p), np.zeros_like(p)]
    state = [be.asarray(p.copy()), be.asarray(np.zeros_like(p)), be.asarray(np.zeros_like(p))]
    for t in (1, 2, 3):
        REF.adam_update(ref_state[0], g, *ref_state[1:], 1e-2, 0.9, 0.999, 1e-8, t)
        be.adam_update(state[0], be.asarray(g), *state[1:], 1e-2, 0.9, 0.999, 1e-8, t)
    for s_, r in zip(state, ref_state):
        assert_close(be, s_, r)
    out = be.asarray(np.zeros((3, 3)))
    be.matmul(be.asarray(p), be.asarray(g.T), out)
    assert_close(be, out, p @ g.T)


def test_random_draws_and_binarization(any_backend):
    """Draws have the asked shape and dtype and are seeded by the NumPy Generator; the CPU
    backends (strict included) draw the very numbers of the numpy backend."""
    be = any_backend
    u = be.uniform(np.random.default_rng(1), (200, 50), np.float32)
    e = be.standard_normal(np.random.default_rng(1), (200, 50), np.float64)
    hu, he = be.to_host(u), be.to_host(e)
    assert hu.dtype == np.float32 and he.dtype == np.float64 and hu.shape == (200, 50)
    assert 0 <= hu.min() and hu.max() < 1 and abs(he.mean()) < 0.05 and abs(he.std() - 1) < 0.05
    x = np.linspace(0, 1, 200 * 50, dtype=np.float32).reshape(200, 50)
    xb = be.to_host(be.binarize(be.asarray(x), np.random.default_rng(2)))
    assert set(np.unique(xb)) <= {0.0, 1.0} and abs(xb.mean() - 0.5) < 0.02
    if be.name != "cupy":  # cupy draws on the device, from its own generator
        np.testing.assert_array_equal(he, REF.standard_normal(np.random.default_rng(1),
                                                              (200, 50), np.float64))
        np.testing.assert_array_equal(xb, REF.binarize(x, np.random.default_rng(2)))


# ---- whole runs: strict (and numba) equal numpy in float64 ----

def run_everything(name, x_train, x_test, tmp_path):
    """fit, evaluate, sample, reconstruct, interpolate, save and load under one backend; every
    result as NumPy arrays and floats."""
    with vaelite.use_backend(name):
        model = vaelite.VAE(hidden=(32,), latent_dim=3, dtype=np.float64, seed=4)
        history = vaelite.fit(model, x_train, epochs=2, batch_size=50, test_data=x_test,
                              progress=False, seed=5)
        path = vaelite.io.save(model, tmp_path / f"{name}.npz")
        loaded = vaelite.io.load(path)
        return {
            "train": history.train["loss"], "test": history.test["loss"],
            "elbo": vaelite.evaluate.elbo(loaded, x_test, rng=6)["loss"],
            "log_px": vaelite.evaluate.log_likelihood(model, x_test, k=7, rng=7,
                                                      sample_chunk=3),
            "active": vaelite.evaluate.latent_activity(model, x_test),
            "sample": model.sample(4, rng=8),
            "random_sample": model.sample(4, rng=8, mean=False),
            "reconstruct": model.reconstruct(x_test[:3]),
            "interpolate": model.interpolate(x_test[0], x_test[1], steps=4),
            "mu": model.encode(x_test[:2])[0],
            "params": [vaelite.backends.current().to_host(p) for _, p, _ in loaded.parameters()],
        }


def test_strict_and_numba_train_evaluate_and_sample_like_numpy(tmp_path):
    mnist = load_mnist()
    x_train, x_test = mnist.x_train[:200], mnist.x_test[:40]
    results = {name: run_everything(name, x_train, x_test, tmp_path)
               for name in ("numpy", "numba", "strict")}
    for name in ("numba", "strict"):
        for key, value in results["numpy"].items():
            got = results[name][key]
            for v, g in (zip(value, got) if key == "params" else [(value, got)]):
                assert type(g) is type(v), (name, key)  # floats and NumPy arrays for people
                np.testing.assert_allclose(g, v, rtol=1e-8, atol=1e-10, err_msg=f"{name} {key}")


def test_checkpoint_moves_between_backends(tmp_path):
    """A checkpoint saved under one backend loads under another (GPU <-> CPU in real life)."""
    with vaelite.use_backend("strict"):
        model = vaelite.VAE(hidden=(8,), latent_dim=2, seed=3)
        path = vaelite.io.save(model, tmp_path / "m.npz")
        mu_strict = model.encode(np.full((1, 784), 0.5, np.float32))[0]
    with vaelite.use_backend("numpy"):
        loaded = vaelite.io.load(path)
        np.testing.assert_array_equal(loaded.encode(np.full((1, 784), 0.5, np.float32))[0],
                                      mu_strict)
        path2 = vaelite.io.save(loaded, tmp_path / "m2.npz")
    with vaelite.use_backend("strict"):
        again = vaelite.io.load(path2)
        assert type(again.parameters()[0][1]).__module__.startswith("array_api_strict")
