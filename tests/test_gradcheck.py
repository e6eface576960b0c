"""The referee itself: finite differences agree with known derivatives, restore the parameters,
flag wrong gradients, and refuse float32 and non-array input."""
import numpy as np
import pytest

from vaelite import gradcheck
from vaelite.layers import Layer, Tanh


def test_numerical_gradient_of_known_functions():
    p = np.random.default_rng(0).standard_normal((3, 4))
    original = p.copy()
    numeric = gradcheck.numerical_gradient(lambda: float(np.sum(p**3)), p)
    np.testing.assert_allclose(numeric, 3 * p**2, rtol=1e-8, atol=1e-9)
    np.testing.assert_array_equal(p, original)  # restored exactly
    q = np.array([0.3, -1.2])
    numeric = gradcheck.numerical_gradient(lambda: float(np.sin(q[0]) * np.exp(q[1])), q)
    np.testing.assert_allclose(numeric, [np.cos(0.3) * np.exp(-1.2), np.sin(0.3) * np.exp(-1.2)],
                               rtol=1e-8)


def test_numerical_gradient_zero_d_and_views():
    s = np.array(3.0)
    assert gradcheck.numerical_gradient(lambda: float(s**2), s) == pytest.approx(6.0, rel=1e-8)
    a = np.arange(12.0).reshape(3, 4)
    view = a[:, 1:3]  # non-contiguous: reshape(-1) would be a copy
    numeric = gradcheck.numerical_gradient(lambda: float(np.sum(a**2)), view)
    np.testing.assert_allclose(numeric, 2 * view, rtol=1e-7)
    np.testing.assert_array_equal(a, np.arange(12.0).reshape(3, 4))


def test_numerical_gradient_indices():
    p = np.linspace(-1, 1, 10)
    numeric = gradcheck.numerical_gradient(lambda: float(np.sum(p**2)), p, indices=[2, 7])
    expected = np.zeros(10)
    expected[[2, 7]] = 2 * p[[2, 7]]
    np.testing.assert_allclose(numeric, expected, rtol=1e-8, atol=1e-12)


def test_refuses_float32_and_non_arrays():
    with pytest.raises(TypeError, match="float64"):
        gradcheck.numerical_gradient(lambda: 0.0, np.zeros(3, np.float32))
    with pytest.raises(TypeError, match="numpy array"):
        gradcheck.numerical_gradient(lambda: 0.0, np.float64(1.0))
    with pytest.raises(TypeError, match="numpy array"):
        gradcheck.numerical_gradient(lambda: 0.0, 1.0)


def test_relative_error():
    a = np.array([1.0, 2.0, 3.0])
    assert gradcheck.relative_error(a, a) == 0.0
    assert gradcheck.relative_error(np.zeros(3), np.zeros(3)) == 0.0
    assert gradcheck.relative_error(a, np.zeros(3)) == 1.0
    assert gradcheck.relative_error(a, -a) == 1.0
    assert gradcheck.relative_error(a, a * (1 + 1e-9)) < 1e-9
    assert gradcheck.relative_error(a, a + 1) == gradcheck.relative_error(a + 1, a)


def test_check_gradients_passes_right_and_flags_wrong():
    p = np.random.default_rng(1).standard_normal(20)
    q = np.random.default_rng(2).standard_normal((2, 3))

    def f():
        return float(np.sum(np.tanh(p)) + np.sum(q**2))

    right = gradcheck.check_gradients(f, [("p", p, 1 - np.tanh(p) ** 2), ("q", q, 2 * q)])
    assert set(right) == {"p", "q"} and max(right.values()) < 1e-8
    wrong = gradcheck.check_gradients(f, [("p", p, 1 - np.tanh(p) ** 2), ("q", q, 2.02 * q)])
    assert wrong["p"] < 1e-8 and wrong["q"] > 1e-3


def test_check_gradients_max_checks():
    p = np.random.default_rng(1).standard_normal(500)
    calls = []

    def f():
        calls.append(1)
        return float(np.sum(p**2))

    errors = gradcheck.check_gradients(f, [("p", p, 2 * p)], max_checks=10)
    assert errors["p"] < 1e-8
    assert len(calls) == 20  # two evaluations per checked entry
    # a wrong entry among the checked ones is still flagged
    g = 2 * p
    g[:] = 0
    errors = gradcheck.check_gradients(f, [("p", p, g)], max_checks=10)
    assert errors["p"] == pytest.approx(1.0)


def test_check_layer_good_and_bad():
    x = np.random.default_rng(0).standard_normal((4, 6))
    assert gradcheck.check_layer(Tanh(), x)["x"] < 1e-8

    class WrongSquare(Layer):
        """y = x^2 with the factor 2 forgotten in backward."""

        def forward(self, x):
            self.x = x
            return x**2

        def backward(self, dy):
            return dy * self.x

    assert gradcheck.check_layer(WrongSquare(), x)["x"] > 0.1


def test_assert_gradients_ok_names_the_bad_gradient():
    from vaelite.gradcheck import assert_gradients_ok
    assert_gradients_ok({"W": 1e-9, "b": 3e-8})
    with pytest.raises(AssertionError, match="'b'"):
        assert_gradients_ok({"W": 1e-9, "b": 2e-3})
    with pytest.raises(AssertionError, match="no gradient"):
        assert_gradients_ok({})
    with pytest.raises(AssertionError, match="nan"):
        assert_gradients_ok({"W": float("nan")})
