"""A property of the whole public API, checked on random arguments with hypothesis: a call either
works, and then nothing it returns is NaN or infinite, or it raises a ValueError or TypeError
whose message names the argument that was bad.

Each test takes a call with good arguments and replaces one of them, chosen at random, with a
random value: a number of any kind (NaN, inf, negative, huge, a bool), None, a string, a tuple,
or an array of random shape, dtype and values (NaN, inf, outside [0, 1], empty).
"""
import math
import numbers
import os

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import vaelite
from vaelite import SGD, VAE, Adam, Autoencoder, evaluate, fit, io

D = 12  # a small input size keeps each call fast

SETTINGS = settings(max_examples=200, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow])


@st.composite
def arrays(draw, width=D):
    """Arrays of random shape and dtype, often the right width, with awkward values."""
    if draw(st.booleans()):
        shape = (draw(st.integers(0, 5)), width)
    else:
        shape = tuple(draw(st.lists(st.integers(0, 5), max_size=3)))
    dtype = draw(st.sampled_from([np.float32, np.float64, np.int64, np.uint8, np.bool_]))
    values = np.random.default_rng(draw(st.integers(0, 100))).random(shape)
    kind = draw(st.sampled_from(["unit", "binary", "wide", "nan", "inf"]))
    if kind == "binary":
        values = np.round(values)
    elif kind == "wide":
        values = 10 * values - 5
    elif kind in ("nan", "inf") and values.size:
        values.flat[0] = np.nan if kind == "nan" else -np.inf
    with np.errstate(invalid="ignore"):  # NaN and inf cast to integers: any value will do
        return values.astype(dtype)


# Numbers stay below 1000 in size: asked for a 1e15-unit layer, any library runs out of memory.
ANYTHING = st.one_of(
    st.none(), st.booleans(), st.integers(-3, 40), st.floats(-1e3, 1e3),
    st.sampled_from([math.nan, math.inf, -math.inf, 2.5, -0.0]),
    st.text(max_size=3), st.tuples(st.integers(-2, 20)), st.lists(st.integers(-2, 20), max_size=3),
    arrays(),
)


def all_finite(result):
    """True when no number in the result (nested dicts, tuples, lists, arrays) is NaN or inf."""
    if isinstance(result, dict):
        return all(all_finite(v) for v in result.values())
    if isinstance(result, (tuple, list)):
        return all(all_finite(v) for v in result)
    if isinstance(result, np.ndarray) and result.dtype.kind in "fc":
        return bool(np.all(np.isfinite(result)))
    if isinstance(result, numbers.Real):
        return math.isfinite(result)
    return True


def check(call, good, name, value):
    """Call ``call(**good)`` with ``good[name]`` replaced by ``value``: it works with finite
    results, or it raises a ValueError/TypeError naming ``name``."""
    args = {**good, name: value}
    try:
        with np.errstate(all="ignore"):
            result = call(**args)
    except (ValueError, TypeError) as err:
        assert name in str(err), f"{name}={value!r}: the error does not name it: {err!r}"
        return
    assert all_finite(result), f"{name}={value!r} gave a non-finite result: {result!r}"


def x_good(n=6):
    return np.random.default_rng(0).random((n, D)).astype(np.float32)


MODEL = VAE(input_dim=D, hidden=(8,), latent_dim=2)
AUTOENCODER = Autoencoder(input_dim=D, hidden=(8,), latent_dim=2)


def one_of(good):
    return st.sampled_from(sorted(good))


CONSTRUCTOR = {"input_dim": D, "hidden": (8,), "latent_dim": 2, "likelihood": "bernoulli",
               "beta": 1.0, "activation": "relu", "variance": "fixed", "sigma": 1.0, "seed": 0,
               "dtype": np.float32}


@SETTINGS
@given(name=one_of(CONSTRUCTOR), value=ANYTHING)
def test_vae_constructor(name, value):
    check(lambda **a: VAE(**a).config(), CONSTRUCTOR, name, value)


@SETTINGS
@given(name=one_of({k: v for k, v in CONSTRUCTOR.items() if k != "beta"}), value=ANYTHING)
def test_autoencoder_constructor(name, value):
    good = {k: v for k, v in CONSTRUCTOR.items() if k != "beta"}
    check(lambda **a: Autoencoder(**a).config(), good, name, value)


@SETTINGS
@given(name=st.sampled_from(["x", "rng"]), value=ANYTHING, train=st.booleans())
def test_loss(name, value, train):
    call = MODEL.loss_and_grads if train else MODEL.loss
    check(lambda x, rng: call(x, rng), {"x": x_good(), "rng": 0}, name, value)


@SETTINGS
@given(name=st.sampled_from(["x"]), value=ANYTHING, model=st.sampled_from([MODEL, AUTOENCODER]))
def test_encode_and_reconstruct(name, value, model):
    check(lambda x: (model.encode(x), model.reconstruct(x)), {"x": x_good()}, name, value)


@SETTINGS
@given(name=st.sampled_from(["z"]), value=st.one_of(ANYTHING, arrays(width=2)))
def test_decode(name, value):
    check(lambda z: MODEL.decode(z), {"z": np.zeros((3, 2))}, name, value)


@SETTINGS
@given(name=st.sampled_from(["n", "rng", "mean"]), value=ANYTHING)
def test_sample(name, value):
    check(lambda n, rng, mean: MODEL.sample(n, rng, mean), {"n": 3, "rng": 1, "mean": True},
          name, value)


@SETTINGS
@given(name=st.sampled_from(["x1", "x2", "steps"]), value=st.one_of(ANYTHING, arrays(width=D)))
def test_interpolate(name, value):
    good = {"x1": x_good(1)[0], "x2": x_good(2)[1], "steps": 4}
    check(lambda x1, x2, steps: MODEL.interpolate(x1, x2, steps), good, name, value)


EVALUATE = {"x": x_good(), "rng": 0, "batch_size": 4}


@SETTINGS
@given(name=one_of(EVALUATE), value=ANYTHING)
def test_evaluate_elbo(name, value):
    check(lambda **a: evaluate.elbo(MODEL, **a), EVALUATE, name, value)


@SETTINGS
@given(name=one_of({**EVALUATE, "k": 3, "sample_chunk": 2}), value=ANYTHING)
def test_evaluate_log_likelihood(name, value):
    check(lambda **a: evaluate.log_likelihood(MODEL, **a),
          {**EVALUATE, "k": 3, "sample_chunk": 2}, name, value)


@SETTINGS
@given(name=st.sampled_from(["x", "batch_size", "threshold"]), value=ANYTHING)
def test_evaluate_active_units(name, value):
    check(lambda **a: evaluate.active_units(MODEL, **a),
          {"x": x_good(), "batch_size": 4, "threshold": 0.01}, name, value)


FIT = {"data": x_good(10), "epochs": 1, "batch_size": 4, "test_data": x_good(3),
       "binarize": "dynamic", "seed": 0, "eval_every": 1, "callbacks": (), "optimizer": None}


@SETTINGS
@given(name=one_of(FIT), value=ANYTHING)
def test_fit(name, value):
    def call(**a):
        model = VAE(input_dim=D, hidden=(4,), latent_dim=2)
        return fit(model, progress=False, **a).as_dict()

    check(call, FIT, name, value)


@SETTINGS
@given(name=st.sampled_from(["parameters", "lr", "betas", "eps", "momentum"]), value=ANYTHING)
def test_optimizers(name, value):
    good = {"parameters": MODEL.parameters(), "lr": 1e-3}
    if name == "momentum":
        check(lambda **a: SGD(**a).lr, {**good, "momentum": 0.5}, name, value)
    else:
        check(lambda **a: Adam(**a).lr, {**good, "betas": (0.9, 0.999), "eps": 1e-8}, name,
              value)


@SETTINGS
@given(name=st.sampled_from(["path", "metadata"]), value=ANYTHING)
def test_save(tmp_path_factory, name, value):
    folder = tmp_path_factory.mktemp("save")
    good = {"path": folder / "model.npz", "metadata": {"epochs": 3}}
    cwd = os.getcwd()
    os.chdir(folder)  # a random relative path lands here, not in the repository
    try:
        check(lambda **a: str(io.save(MODEL, **a)), good, name, value)
    finally:
        os.chdir(cwd)


def test_the_property_can_fail():
    """The checker itself: an error that does not name the argument, and a NaN result, fail."""
    def raises(**a):
        raise ValueError("something went wrong")

    with pytest.raises(AssertionError, match="does not name"):
        check(raises, {"k": 1}, "k", 2)
    with pytest.raises(AssertionError, match="non-finite"):
        check(lambda **a: {"loss": float("nan")}, {"k": 1}, "k", 2)
