"""Layers: every hand-written backward pass against central finite differences (float64),
the grads-overwrite contract, and stability of Sigmoid/Softplus for huge logits."""
import warnings

import numpy as np
import pytest

from vaelite import gradcheck
from vaelite.functional import logsumexp, sigmoid, softplus
from vaelite.layers import (ACTIVATIONS, MLP, LeakyReLU, Linear, ReLU, Sigmoid, Softplus, Tanh,
                            activation)

from vaelite.gradcheck import assert_gradients_ok

ACTIVATION_NAMES = ["relu", "leaky_relu", "tanh", "sigmoid", "softplus"]
def rng(seed=0):
    return np.random.default_rng(seed)


def x64(shape=(5, 12), seed=1, scale=1.0):
    return scale * rng(seed).standard_normal(shape)


# --- gradient checks ---------------------------------------------------------------------------

def test_linear_gradcheck():
    layer = Linear(12, 7, rng(), dtype=np.float64)
    errors = gradcheck.check_layer(layer, x64())
    assert set(errors) == {"x", "W", "b"}
    assert_gradients_ok(errors)


@pytest.mark.parametrize("make", [ReLU, lambda: LeakyReLU(0.2), LeakyReLU, Tanh, Sigmoid,
                                  Softplus],
                         ids=["relu", "leaky_relu_0.2", "leaky_relu", "tanh", "sigmoid",
                              "softplus"])
def test_activation_gradcheck(make):
    layer = make()
    # scale 3 reaches the saturated parts of tanh/sigmoid; no entry is within 1e-3 of a kink
    x = x64((6, 9), scale=3.0)
    assert np.min(np.abs(x)) > 1e-3
    errors = gradcheck.check_layer(layer, x)
    assert set(errors) == {"x"}
    assert_gradients_ok(errors)


@pytest.mark.parametrize("act", ACTIVATION_NAMES)
@pytest.mark.parametrize("output_activation", [None, "sigmoid"])
def test_mlp_gradcheck(act, output_activation, backend):
    mlp = MLP([12, 7, 5, 3], rng(), act, output_activation, dtype=np.float64)
    errors = gradcheck.check_layer(mlp, x64())
    # 3 Linear layers, each W and b, plus the input
    assert len(errors) == 7
    assert_gradients_ok(errors)


def test_gradcheck_catches_a_wrong_backward():
    """The checks above can fail: a Tanh with a backward pass off by a factor is caught."""

    class BadTanh(Tanh):
        def backward(self, dy):
            return 1.01 * super().backward(dy)

    errors = gradcheck.check_layer(BadTanh(), x64())
    assert errors["x"] > 1e-3


# --- forward values and the layer contract -----------------------------------------------------

def test_forward_values():
    x = np.array([[-2.0, -0.5, 0.0, 0.5, 2.0]])
    np.testing.assert_array_equal(ReLU().forward(x), [[0, 0, 0, 0.5, 2]])
    np.testing.assert_allclose(LeakyReLU(0.1).forward(x), [[-0.2, -0.05, 0, 0.5, 2]])
    np.testing.assert_allclose(Tanh().forward(x), np.tanh(x))
    np.testing.assert_allclose(Sigmoid().forward(x), 1 / (1 + np.exp(-x)), rtol=1e-15)
    np.testing.assert_allclose(Softplus().forward(x), np.log1p(np.exp(x)), rtol=1e-15)


def test_linear_forward_and_shapes():
    layer = Linear(12, 7, rng(), dtype=np.float64)
    x = x64((5, 12))
    y = layer.forward(x)
    assert y.shape == (5, 7)
    np.testing.assert_allclose(y, x @ layer.params["W"] + layer.params["b"])
    assert layer.backward(np.ones_like(y)).shape == (5, 12)
    assert layer.params["W"].shape == (12, 7) and layer.params["b"].shape == (7,)


def test_linear_init_bound_and_dtype():
    for dtype in (np.float32, np.float64):
        layer = Linear(100, 50, rng(), dtype=dtype)
        for name in ("W", "b"):
            p, g = layer.params[name], layer.grads[name]
            assert p.dtype == dtype and g.dtype == dtype and g.shape == p.shape
            assert np.max(np.abs(p)) <= 1 / np.sqrt(100)


def test_backward_overwrites_grads_in_place(backend):
    """grads are overwritten (not accumulated) and stay the same array objects."""
    mlp = MLP([12, 7, 3], rng(), "tanh", dtype=np.float64)
    x = x64()
    held = [g for _, _, g in mlp.parameters()]
    dy = rng(2).standard_normal((5, 3))
    mlp.forward(x)
    mlp.backward(dy)
    first = [g.copy() for g in held]
    mlp.forward(x)
    mlp.backward(dy)
    for (_, _, g), g_held, g_first in zip(mlp.parameters(), held, first):
        assert g is g_held
        np.testing.assert_allclose(g, g_first, rtol=1e-12)
        assert np.any(g != 0)


def test_mlp_structure_and_parameter_names(backend):
    mlp = MLP([12, 7, 5, 3], rng(), "leaky_relu", output_activation="sigmoid")
    kinds = [type(layer).__name__ for layer in mlp.layers]
    assert kinds == ["Linear", "LeakyReLU", "Linear", "LeakyReLU", "Linear", "Sigmoid"]
    names = [n for n, _, _ in mlp.parameters("enc.")]
    assert names == ["enc.0.W", "enc.0.b", "enc.2.W", "enc.2.b", "enc.4.W", "enc.4.b"]
    out = mlp.forward(rng().random((4, 12)).astype(np.float32))
    assert out.shape == (4, 3) and out.dtype == np.float32
    assert np.all((out > 0) & (out < 1))


def test_same_seed_same_weights():
    a = MLP([12, 7, 3], rng(5))
    b = MLP([12, 7, 3], rng(5))
    for (_, pa, _), (_, pb, _) in zip(a.parameters(), b.parameters()):
        np.testing.assert_array_equal(pa, pb)


@pytest.mark.parametrize("sizes", [[12], [], [12, 0, 3], [12, 2.5, 3], [12, -1]])
def test_mlp_bad_sizes(sizes):
    with pytest.raises(ValueError, match="MLP sizes"):
        MLP(sizes, rng())


def test_activation_by_name():
    for name in ACTIVATION_NAMES:
        assert isinstance(activation(name), ACTIVATIONS[name])
    with pytest.raises(ValueError, match="unknown activation 'gelu'"):
        activation("gelu")
    with pytest.raises(ValueError, match="unknown activation"):
        MLP([12, 7, 3], rng(), "swish")


# --- stability -----------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("make", [Sigmoid, Softplus])
def test_sigmoid_softplus_huge_logits(dtype, make, backend):
    x = np.array([[-1e4, -100.0, -1.0, 0.0, 1.0, 100.0, 1e4]], dtype=dtype)
    layer = make()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no overflow warnings either
        y = layer.forward(x)
        dx = layer.backward(np.ones_like(x))
    assert y.dtype == dtype and dx.dtype == dtype
    assert np.all(np.isfinite(y)) and np.all(np.isfinite(dx))
    if make is Sigmoid:
        assert y[0, 0] == 0 and y[0, -1] == 1 and y[0, 3] == 0.5
        assert dx[0, 0] == 0 and dx[0, -1] == 0
    else:
        assert y[0, 0] == 0 and y[0, -1] == 1e4
        np.testing.assert_allclose(y[0, 3], np.log(2), rtol=1e-6)
        assert dx[0, 0] == 0 and dx[0, -1] == 1


def test_functional_helpers():
    x = np.linspace(-30, 30, 61)
    np.testing.assert_allclose(sigmoid(x), 1 / (1 + np.exp(-x)), rtol=1e-14)
    np.testing.assert_allclose(softplus(x), np.log1p(np.exp(x)), rtol=1e-14)
    assert sigmoid(np.float32(3.0) * np.ones(2, np.float32)).dtype == np.float32


def test_logsumexp_huge_and_tiny_values(backend):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        a = np.array([[1e308, 1e308], [1000.0, 0.0], [-1e4, -1e4]])
        np.testing.assert_allclose(logsumexp(a, axis=1), [1e308, 1000.0, -1e4 + np.log(2)])
        a32 = np.array([[1e4, 1e4, 0.0]], dtype=np.float32)
        np.testing.assert_allclose(logsumexp(a32, axis=1), [1e4 + np.log(2)], rtol=1e-6)
        b = rng().standard_normal((3, 4, 5))
        np.testing.assert_allclose(logsumexp(b, axis=0), np.log(np.sum(np.exp(b), axis=0)))
        assert logsumexp(np.array([[-np.inf, 0.0]]), axis=1)[0] == 0.0


@pytest.mark.parametrize("act", ACTIVATION_NAMES)
def test_mlp_huge_inputs_stay_finite(act, backend):
    """Pre-activations of +-1e4 (float32): finite outputs and gradients, no warnings."""
    mlp = MLP([4, 3, 2], rng(), act, output_activation="sigmoid")
    mlp.layers[0].params["W"][...] = 1.0  # every hidden pre-activation is about x[:, 0]
    x = np.array([[1e4, 0, 0, 0], [-1e4, 0, 0, 0]], np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        y = mlp.forward(x)
        dx = mlp.backward(np.ones_like(y))
    assert np.all(np.isfinite(y)) and np.all(np.isfinite(dx))
    assert all(np.all(np.isfinite(g)) for _, _, g in mlp.parameters())


@pytest.mark.parametrize("act", ["relu", "leaky_relu", "tanh", "sigmoid", "softplus"])
@pytest.mark.parametrize("output_activation", [None, "sigmoid", "softplus"])
def test_mlp_blocks_equal_the_layers_one_by_one(backend, act, output_activation):
    """The MLP runs each Linear and its activation as one block (the backend's bias +
    activation primitive); the numbers equal Linear.forward/backward and the activation
    layers' forward/backward called one by one."""
    mlp = MLP([13, 11, 7, 5], np.random.default_rng(2), act, output_activation,
              dtype=np.float64)
    rng = np.random.default_rng(3)
    x, dy = rng.normal(size=(9, 13)), rng.normal(size=(9, 5))
    out, dx = mlp.forward(x), mlp.backward(dy)
    grads = [g.copy() for _, _, g in mlp.parameters()]
    h = x
    for layer in mlp.layers:
        h = layer.forward(h)
    d = dy
    for layer in reversed(mlp.layers):
        d = layer.backward(d)
    np.testing.assert_allclose(out, h, rtol=1e-12)
    np.testing.assert_allclose(dx, d, rtol=1e-12, atol=1e-15)
    for g, (name, _, g_layer) in zip(grads, mlp.parameters()):
        np.testing.assert_allclose(g, g_layer, rtol=1e-12, atol=1e-15, err_msg=name)
