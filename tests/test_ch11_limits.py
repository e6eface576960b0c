"""Tests of chapter 11's helpers, figures and exercises (where the basic VAE falls short)."""
import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from vaelite import VAE, fit  # noqa: E402
from vaelite.components import DiagonalGaussian  # noqa: E402
from vaelite.exercises import ch11_limits as ex  # noqa: E402
from vaelite.exercises import get, run_cases  # noqa: E402
from vaelite.losses import kl_normal_per_dimension  # noqa: E402
from vaelite.widgets import render_frame  # noqa: E402
from vaelite.widgets import ch11_limits as w  # noqa: E402


@pytest.fixture(scope="module")
def tiny():
    """A tiny VAE on 60 random 16-pixel 'images', trained one epoch."""
    rng = np.random.default_rng(0)
    x = rng.random((60, 16)).astype(np.float32)
    model = VAE(input_dim=16, hidden=(8,), latent_dim=3, seed=0)
    fit(model, x, 1, batch_size=20, progress=False)
    return model, x


# ----------------------------------------------------------------------------- blur

def test_mean_abs_gradient_on_a_made_up_image():
    image = np.array([[0.0, 1.0, 0.0], [0.0, 1.0, 0.0]])
    # across: |1|, |-1| in each of 2 rows (4 values, sum 4); down: 3 zeros
    assert np.isclose(w.mean_abs_gradient(image[None], image_shape=(2, 3)), 4 / 7)
    assert w.mean_abs_gradient(np.full((2, 4), 0.3), image_shape=(2, 2)) == 0.0


def test_midgrey_share_and_scores():
    assert w.midgrey_share(np.array([0.0, 0.5, 1.0, 0.3])) == 0.5
    assert w.midgrey_share(np.array([0.2, 0.8])) == 0.0    # the bounds are excluded
    scores = w.sharpness_scores(np.zeros((2, 784)))
    assert scores == {"midgrey": 0.0, "gradient": 0.0}


def test_the_average_of_two_digits_is_greyer():
    a, b = np.zeros((28, 28)), np.zeros((28, 28))
    a[5:20, 10:12], b[5:20, 12:14] = 1.0, 1.0   # side by side: a's edge meets b's, in reverse
    mean = (a + b) / 2
    assert w.midgrey_share(mean) > w.midgrey_share(a) == 0.0
    assert w.mean_abs_gradient(mean[None]) < w.mean_abs_gradient(a[None])


def test_log_q_matrix_matches_a_direct_sum():
    rng = np.random.default_rng(1)
    z, mu, logvar = rng.normal(size=(4, 3)), rng.normal(size=(5, 3)), rng.normal(size=(5, 3))
    var = np.exp(logvar)
    direct = -0.5 * np.sum((z[:, None] - mu[None]) ** 2 / var[None] + logvar[None]
                           + np.log(2 * np.pi), axis=2)
    assert np.allclose(w.log_q_matrix(z, mu, logvar), direct)


def test_posterior_weights_and_effective_count():
    weights = w.posterior_weights(np.array([[-1000.0, -1000.0, -1000.0, -1000.0],
                                            [0.0, -800.0, -900.0, -1000.0]]))
    assert np.allclose(weights.sum(axis=1), 1) and np.all(np.isfinite(weights))
    assert np.allclose(w.effective_count(weights), [4.0, 1.0])
    assert np.isclose(w.effective_count(np.array([0.5, 0.5, 0.0])), 2.0)


def test_posterior_weights_agree_with_the_exercise():
    rng = np.random.default_rng(2)
    images, log_q = rng.random((6, 5)), rng.normal(scale=30, size=6) - 700
    assert np.allclose(w.posterior_weights(log_q) @ images,
                       ex.posterior_mean_decode(images, log_q))


def test_averaging_check(tiny):
    model, x = tiny
    z = np.random.default_rng(3).standard_normal((7, 3))
    c = w.averaging_check(model, z, x)
    assert c["decoded"].shape == c["mean"].shape == (7, 16)
    assert c["weights"].shape == (7, 60) and np.allclose(c["weights"].sum(axis=1), 1)
    assert np.allclose(c["mean"], c["weights"] @ x)
    assert np.all((c["n_eff"] >= 1 - 1e-9) & (c["n_eff"] <= 60 + 1e-9))
    assert np.allclose(c["to_global"], np.linalg.norm(c["decoded"] - x.mean(axis=0), axis=1))
    # the nearest image is at most as far as any image, and the mean of one image is itself
    one = w.averaging_check(model, z, x[:1])
    assert np.allclose(one["mean"], np.repeat(x[:1], 7, axis=0))
    assert np.allclose(one["to_mean"], one["to_nearest"], atol=1e-5)
    assert np.all(c["to_nearest"] <= np.linalg.norm(c["decoded"] - x[0], axis=1) + 1e-9)


# ----------------------------------------------------------------------------- collapse

def test_collapsed_nelbo_on_made_up_pixels():
    x_train = np.array([[1.0, 0.0], [0.0, 0.0], [1.0, 1.0], [0.0, 0.0]])   # means 0.5, 0.25
    x_test = np.array([[1.0, 0.0]])
    assert np.isclose(w.collapsed_nelbo(x_train, x_test), -(np.log(0.5) + np.log(0.75)))


def test_secant_slopes():
    assert np.allclose(w.secant_slopes([4.0, 2.0, 1.0], [10.0, 13.0, 17.0]), [-1.5, -4.0])


def test_train_vae_collapse_measures_and_trace():
    rng = np.random.default_rng(4)
    x_train, x_test = rng.random((80, 16)), rng.random((30, 16))
    trace = w.KLTrace(x_test)
    model, history, seconds = w.train_vae(x_train, beta=4.0, kl_warmup=1, callbacks=[trace],
                                          hidden=(8,), latent_dim=3, epochs=2, batch_size=40)
    assert model.beta == 4.0 and history.train["beta"] == [4.0, 4.0] and seconds > 0
    assert trace.epochs == [1, 2] and trace.kl_dims.shape == (2, 3)
    assert trace.used().shape == (2,)
    m = w.collapse_measures(model, x_test)
    assert np.isclose(m["kl_dims"].sum(), m["kl"], rtol=1e-4)
    assert np.allclose(m["kl_dims"], trace.kl_dims[-1])
    assert m["used"] == int(np.sum(m["kl_dims"] > w.USED_NATS))
    assert 0 <= m["active"] <= 3 and np.isclose(m["nelbo"], m["recon"] + m["kl"])
    again, _, _ = w.train_vae(x_train, beta=4.0, kl_warmup=1, hidden=(8,), latent_dim=3,
                              epochs=2, batch_size=40)
    assert np.array_equal(model.encode(x_test)[0], again.encode(x_test)[0])  # seeded


# ----------------------------------------------------------------------------- generation

def test_nearest_neighbour_labels_agree_with_the_exercise():
    rng = np.random.default_rng(5)
    images, x_train, y_train = rng.random((25, 6)), rng.random((40, 6)), rng.integers(0, 10, 40)
    labels = w.nearest_neighbour_labels(images, x_train, y_train, chunk=7)
    assert np.array_equal(labels, ex.nearest_neighbour_labels(images, x_train, y_train))
    assert np.array_equal(w.nearest_neighbour_labels(x_train, x_train, y_train), y_train)


def test_label_shares_and_balanced_maximum():
    assert np.allclose(w.label_shares(np.array([1, 1, 3, 9])), [0, .5, 0, .25, 0, 0, 0, 0, 0, .25])
    maxima = w.max_share_if_balanced(1000, runs=500, seed=1)
    assert maxima.shape == (500,) and np.all(maxima >= 0.1)
    assert np.array_equal(maxima, w.max_share_if_balanced(1000, runs=500, seed=1))
    assert np.quantile(maxima, 0.5) < 0.13   # a balanced source rarely looks very unbalanced


# ----------------------------------------------------------------------------- figures

def _shown(fig):
    assert isinstance(fig, Figure)
    assert render_frame(fig).startswith("data:image/png;base64,")


def test_figures(tiny):
    model, x = tiny
    rng = np.random.default_rng(6)
    images = rng.random((5, 784))
    _shown(w.draw_mean_of_digits(images[:3], ["a", "b", "mean"]))
    _shown(w.draw_image_rows({"one": images, "two": images[:2]}, ncol=4))
    scores = {"β = 1": {"reconstructions": w.sharpness_scores(images),
                        "samples": w.sharpness_scores(images)}}
    _shown(w.draw_sharpness(scores, w.sharpness_scores(images)))
    _shown(w.draw_kl_per_dimension({"a": rng.random(16), "b": rng.random(16) / 10}))
    _shown(w.draw_rate_distortion([20, 10, 5], [100, 120, 150], [1, 2, 4], collapsed=200))
    trace = w.KLTrace(x)
    for epoch in (1, 2):
        trace(epoch, model, None)
    _shown(w.draw_kl_traces({"no remedy": trace}))
    _shown(w.draw_label_shares(np.full(10, 0.1), 100, balanced_max=0.14))
    z = rng.standard_normal((4, 3))
    c = w.averaging_check(model, z, x)
    c16 = {**c, "decoded": images[:4, :16]}
    _shown(w.draw_code_neighbours(c16, x, [0, 2], top=3))


def test_draw_setting():
    rng = np.random.default_rng(7)
    results = {"β = 1": {"samples": rng.random((24, 784)), "kl_dims": rng.random(16),
                         "nelbo": 120.0, "kl": 20.0, "midgrey": 0.12}}
    _shown(w.draw_setting(results, "β = 1"))
    with pytest.raises(KeyError):
        w.draw_setting(results, "β = 3")


# ----------------------------------------------------------------------------- exercises

def test_exercise_references_agree_with_the_library():
    rng = np.random.default_rng(8)
    mu, logvar = rng.normal(size=(9, 4)), rng.normal(scale=0.5, size=(9, 4))
    assert np.allclose(ex.kl_per_dimension(mu, logvar), kl_normal_per_dimension(mu, logvar))
    lam = 0.4
    posterior = DiagonalGaussian(4, free_bits=lam)
    h = np.concatenate([mu, logvar], axis=1)
    _, _, kl_term = posterior.forward(h, rng.standard_normal((9, 4)))
    value, grad = ex.free_bits_kl(kl_normal_per_dimension(mu, logvar), lam)
    assert np.isclose(value, kl_term)
    assert np.array_equal(grad, (kl_normal_per_dimension(mu, logvar) > lam).astype(float))


def test_typical_mistakes_fail():
    def kl_summed_over_batch(mu, logvar):
        return np.sum(0.5 * (mu**2 + np.exp(logvar) - 1 - logvar), axis=0)
    assert not run_cases(get("ch11.kl_per_dimension"), kl_summed_over_batch).passed

    def unshifted(images, log_q):            # exp(-1000) underflows: 0 / 0
        with np.errstate(all="ignore"):
            w_ = np.exp(log_q)
            return (w_ / w_.sum()) @ images
    result = run_cases(get("ch11.posterior_mean_decode"), unshifted)
    assert not result.passed and result.failures[0].case == 3

    def tie_counts_kl(kl_dims, lam):
        counted = kl_dims >= lam
        return np.sum(np.where(counted, kl_dims, lam)), counted.astype(float)
    result = run_cases(get("ch11.free_bits_kl"), tie_counts_kl)
    assert not result.passed and result.failures[0].case == 4

    def largest_dot_product(images, x_train, y_train):
        return y_train[np.argmax(images @ x_train.T, axis=1)]
    assert not run_cases(get("ch11.nearest_neighbour_labels"), largest_dot_product).passed
