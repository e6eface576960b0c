"""Tests of chapter 7's figures, helpers and exercises (backprop by hand)."""
import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from vaelite.exercises import ch07_backprop as ex  # noqa: E402
from vaelite.exercises import get, run_cases  # noqa: E402
from vaelite.gradcheck import check_gradients, numerical_gradient, relative_error  # noqa: E402
from vaelite.widgets import ch07_backprop as w  # noqa: E402


# ---------------------------------------------------------------- figures

@pytest.mark.parametrize("show_gradients", [True, False])
def test_draw_vae_graph_returns_a_figure_with_every_node(show_gradients):
    fig = w.draw_vae_graph(show_gradients=show_gradients)
    assert isinstance(fig, Figure)
    texts = [t.get_text() for t in fig.axes[0].texts]
    for needle in ["encoder", "decoder", r"\log\sigma^2", "KL", "recon"]:
        assert any(needle in t for t in texts), needle
    gradient_labels = [t for t in fig.axes[0].texts if t.get_color() == w.BACKWARD]
    assert bool(gradient_labels) == show_gradients
    if show_gradients:  # the KL gradients with the 1/B of the mean over the batch
        assert any(r"\beta\,\mu/B" in t.get_text() for t in gradient_labels)
    plt.close(fig)


def test_draw_error_histogram_returns_a_figure():
    fig = w.draw_error_histogram({"right": np.array([1e-11, 3e-9, 0.0]),
                                  "wrong": np.array([0.2, 1.0])})
    assert isinstance(fig, Figure)
    assert fig.axes[0].get_xlabel()
    assert len(fig.axes[0].get_legend().get_texts()) == 2
    plt.close(fig)


@pytest.mark.parametrize("h", [1e-1, 1e-6, 2e-7, 1e-12])
def test_draw_step_error_returns_a_figure(h):
    fig = w.draw_step_error(h)
    assert isinstance(fig, Figure)
    assert fig.axes[0].get_xscale() == "log"
    plt.close(fig)


def test_draw_step_error_rejects_a_bad_step():
    with pytest.raises(ValueError):
        w.draw_step_error(0.0)
    with pytest.raises(ValueError):
        w.step_errors((1e-3, -1e-3))


# ---------------------------------------------------------------- numeric helpers

def test_entry_errors():
    assert np.allclose(w.entry_errors([1.0, -2.0], [1.0, -2.0]), 0.0)
    assert np.allclose(w.entry_errors([0.0, 0.0], [0.0, 0.0]), 0.0)
    # on the scale of the largest entry, not of each entry
    assert np.allclose(w.entry_errors([4.0, 1e-9], [4.0, 2e-9]), [0.0, 1e-9 / 4])
    assert w.entry_errors(np.ones((2, 3)), np.ones((2, 3))).shape == (6,)
    with pytest.raises(ValueError):
        w.entry_errors(np.ones(3), np.ones(4))


def test_central_difference_equals_gradcheck_in_float64():
    model, x, eps = w.tiny_vae()
    p = model.decoder.parameters()[0][1]

    def f():
        return model.loss(x, eps=eps)["loss"]

    ours = w.central_difference(f, p, 1e-6, range(p.size))
    assert np.allclose(ours, numerical_gradient(f, p, 1e-6).ravel(), rtol=0, atol=1e-12)


def test_central_difference_works_in_float32_and_restores_the_parameter():
    model, x, eps = w.tiny_vae(np.float32)
    p = model.encoder.parameters()[1][1]
    before = p.copy()
    out = w.central_difference(lambda: model.loss(x, eps=eps)["loss"], p, 1e-2, [0, 3])
    assert out.shape == (2,) and np.all(np.isfinite(out))
    assert np.array_equal(p, before)


def test_tiny_vae_is_reproducible_and_its_backprop_passes_gradcheck():
    model, x, eps = w.tiny_vae()
    again, x2, eps2 = w.tiny_vae()
    assert np.array_equal(x, x2) and np.array_equal(eps, eps2)
    assert model.loss(x, eps=eps)["loss"] == again.loss(x2, eps=eps2)["loss"]
    model.loss_and_grads(x, eps=eps)
    triples = [(n, p, g.copy()) for n, p, g in model.parameters()]
    errors = check_gradients(lambda: model.loss(x, eps=eps)["loss"], triples)
    assert max(errors.values()) < 1e-6


def test_step_errors_show_truncation_and_rounding():
    steps = np.array(w.STEPS)
    e64 = w.step_errors()
    best = steps[np.argmin(e64)]
    assert 1e-6 <= best <= 1e-3 and e64.min() < 1e-8
    assert w.fit_slope(steps, e64, 3 * best, 1e-2) == pytest.approx(2.0, abs=0.3)
    assert w.fit_slope(steps, e64, steps[0], best / 3) == pytest.approx(-1.0, abs=0.3)
    e32 = w.step_errors(dtype=np.float32)
    assert e32.min() > 100 * e64.min()  # float32 cannot check a gradient to 1e-6
    assert steps[np.argmin(e32)] > 10 * best
    assert np.allclose(w.step_errors((w.STEPS[5],)), e64[5])  # cached or not, the same
    e64[:] = 0  # the cache hands out copies
    assert w.step_errors()[0] > 0


def test_fit_slope_of_exact_power_laws():
    h = np.logspace(-8, -1, 15)
    assert w.fit_slope(h, 3 * h**2, 1e-8, 1e-1) == pytest.approx(2.0)
    assert w.fit_slope(h, 1e-16 / h, 1e-8, 1e-1) == pytest.approx(-1.0)
    with pytest.raises(ValueError):
        w.fit_slope(h, h, 2.0, 3.0)


def test_shared_digits():
    assert w.shared_digits(8.708561441416480, 8.708561441416222) == 13
    assert w.shared_digits(1.5, 1.5) == 16
    assert w.shared_digits(1.0, 2.0) == 0
    assert w.shared_digits(-3.25, 3.25) == 16  # signs are not digits


# ---------------------------------------------------------------- exercises

def test_linear_backward_passes_gradcheck():
    rng = np.random.default_rng(0)
    x, W, b, dy = (rng.standard_normal((4, 3)), rng.standard_normal((3, 2)),
                   rng.standard_normal(2), rng.standard_normal((4, 2)))
    dx, dW, db = ex.linear_backward(x, W, dy)

    def f():
        return np.sum((x @ W + b) * dy)

    errors = check_gradients(f, [("x", x, dx), ("W", W, dW), ("b", b, db)])
    assert max(errors.values()) < 1e-8


def test_softplus_from_output_is_sigmoid_of_the_input():
    x = np.linspace(-40, 40, 81)
    y = np.logaddexp(0.0, x)
    assert np.allclose(ex.softplus_grad_from_output(y), 1 / (1 + np.exp(-x)), rtol=1e-12,
                       atol=0)


def test_latent_backward_matches_the_library_posterior():
    from vaelite.components import DiagonalGaussian

    rng = np.random.default_rng(1)
    dz, eps, mu, logvar = (rng.standard_normal((4, 3)) for _ in range(4))
    posterior = DiagonalGaussian(3)
    h = np.concatenate([mu, logvar], axis=1)
    posterior.forward(h, eps)
    dh = posterior.backward(dz, beta=2.0)
    dmu, dlogvar = ex.latent_backward(dz, eps, mu, logvar, 2.0)
    assert np.allclose(dh, np.concatenate([dmu, dlogvar], axis=1))


def test_mlp_backward_passes_gradcheck():
    rng = np.random.default_rng(2)
    x, W1, b1, W2, b2, dy = ex._mlp_case(rng, 5, 3, 4, 2)
    g = ex.mlp_backward(x, W1, b1, W2, b2, dy)

    def f():
        return np.sum((np.tanh(x @ W1 + b1) @ W2 + b2) * dy)

    triples = [("W1", W1, g["dW1"]), ("b1", b1, g["db1"]), ("W2", W2, g["dW2"]),
               ("b2", b2, g["db2"]), ("x", x, g["dx"])]
    assert max(check_gradients(f, triples).values()) < 1e-8


def _mlp_variant(mistake):
    """The chapter's two-layer backward pass with one kind of mistake."""
    def backward(x, W1, b1, W2, b2, dy):
        a = x @ W1 + b1
        h = np.tanh(a)
        dW2, db2 = h.T @ dy, dy.sum(axis=0)
        dh = dy @ W2 if mistake == "transpose" else dy @ W2.T
        da = dh * (1 - (a if mistake == "preactivation" else h) ** 2)
        db1 = da.mean(axis=0) if mistake == "mean" else da.sum(axis=0)
        out = {"dW1": x.T @ da, "db1": db1, "dW2": dW2, "db2": db2, "dx": da @ W1.T}
        if mistake == "no dx":
            del out["dx"]
        return out
    return backward


def test_each_mistake_in_the_mlp_fails_its_own_way():
    exercise = get("ch07.fix_mlp_backward")
    assert run_cases(exercise, _mlp_variant(None)).passed

    def failures(mistake):
        return {f.case: f.kind for f in run_cases(exercise, _mlp_variant(mistake)).failures}

    transpose = failures("transpose")  # the planted bug
    assert transpose[1] == "wrong value"  # square W2: runs, wrong numbers
    assert transpose[2] == "raised"       # W2 not square: the product cannot run
    mean = failures("mean")
    assert 3 not in mean and mean[1] == "wrong value"  # a batch of one hides a mean
    assert failures("preactivation")[4] == "wrong value"  # tanh saturates: 1 - a^2 is far off
    assert failures("no dx")[1] == "wrong type"


def test_planted_bug_is_what_the_chapter_finds():
    """dW2 and db2 are right, everything after the wrong line is wrong (relative error ~1)."""
    rng = np.random.default_rng(4)
    x, W1, b1, W2, b2, dy = ex._mlp_case(rng, 5, 3, 4, 4)
    g = _mlp_variant("transpose")(x, W1, b1, W2, b2, dy)
    right = ex.mlp_backward(x, W1, b1, W2, b2, dy)
    for key in ["dW2", "db2"]:
        assert np.allclose(g[key], right[key])
    for key in ["dW1", "db1", "dx"]:
        assert relative_error(g[key], right[key]) > 1e-2


def test_other_wrong_answers_are_caught():
    assert not run_cases(get("ch07.linear_backward"),
                         lambda x, W, dy: (dy @ W.T, x.T @ dy, dy.mean(axis=0))).passed
    assert not run_cases(get("ch07.softplus_from_output"), lambda y: 1 - np.exp(-y)).passed

    def kl_without_batch(dz, eps, mu, logvar, beta):  # forgets the mean over the batch
        sigma = np.exp(0.5 * logvar)
        return dz + beta * mu, dz * eps * sigma / 2 + beta * np.expm1(logvar) / 2

    def one_path(dz, eps, mu, logvar, beta):  # forgets the path through z into logvar
        b = mu.shape[0]
        return dz + beta * mu / b, beta * np.expm1(logvar) / (2 * b)

    assert not run_cases(get("ch07.latent_backward"), kl_without_batch).passed
    assert not run_cases(get("ch07.latent_backward"), one_path).passed
