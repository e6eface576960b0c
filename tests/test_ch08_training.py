"""Tests of chapter 8's helpers, widget and exercises (training a VAE on MNIST)."""
import copy

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from vaelite import VAE, Adam, Autoencoder, fit  # noqa: E402
from vaelite.exercises import ch08_training as ex  # noqa: E402
from vaelite.exercises import get, run_cases  # noqa: E402
from vaelite.widgets import ch08_training as w  # noqa: E402


# ----------------------------------------------------------------------------- measures

def test_cloud_measures_of_a_made_up_cloud():
    rng = np.random.default_rng(1)
    codes = rng.normal(loc=[3.0, -1.0], scale=[2.0, 0.5], size=(400, 2))
    labels = (codes[:, 0] > 3).astype(int)
    m = w.cloud_measures(codes, labels, codes[:50] + 1e-3, labels[:50], n_grid=20)
    assert np.allclose(m["centre"], codes.mean(0)) and np.allclose(m["spread"], codes.std(0))
    assert m["same_label"] == 1.0                  # each test code sits on its own training code
    assert 0 < m["radius"] and 0 <= m["box_gap"] <= 1


class Lookup:
    """A made-up 'model': decode draws the image of the nearest of two prototypes; code
    returns the prototype's code, so the round trip is the distance to it."""

    def __init__(self, protos, images):
        self.protos, self.images = protos, images

    def decode(self, z):
        which = np.argmin(np.linalg.norm(z[:, None, :] - self.protos[None], axis=2), axis=1)
        return self.images[which]

    def code(self, images):
        return self.protos[[int(np.argmax(img)) for img in images]]


def test_generation_measures_on_a_made_up_model():
    protos = np.array([[0.0, 0.0], [10.0, 0.0]])
    images = np.eye(2)                            # image i is one-hot at pixel i
    model = Lookup(protos, images)
    x_train, y_train = np.repeat(images, 11, axis=0), np.repeat([4, 9], 11)
    z = np.array([[0.0, 0.0], [0.0, 0.5], [10.0, 0.0], [4.0, 0.0]])
    m = w.generation_measures(model, z, protos, 1.0, x_train, y_train)
    assert m["gap"] == 0.25                        # only (4, 0) is farther than 1 from a code
    assert m["top"] == 0.75 and m["rarest"] == 0.0  # three 4s, one 9, no other digit
    assert m["vote"] == 1.0
    assert np.isclose(m["trip"], 0.25)            # median of 0, 0.5, 0, 4


def test_failure_table_has_a_line_per_row():
    row = dict(gap=0.5, top=0.25, rarest=0.01, vote=0.8, trip=1.0, trip_ratio=2.0)
    table = w.failure_table({"a: x": row, "b: y": row})
    lines = table.split("\n")
    assert len(lines) == 4 and lines[2].startswith("a: x") and "50%" in lines[3]
    assert "1.0%" in lines[2] and "2.0" in lines[2]


# ----------------------------------------------------------------------------- the bug

def test_mean_over_pixels_is_a_beta_of_d():
    rng = np.random.default_rng(2)
    model = VAE(input_dim=12, hidden=(8,), latent_dim=3, dtype=np.float64, seed=0)
    x, eps = rng.random((5, 12)), rng.standard_normal((5, 3))
    buggy, beta = copy.deepcopy(model), copy.deepcopy(model)
    buggy.likelihood = w.MeanOverPixels(buggy.likelihood)
    beta.beta = 12.0
    parts = buggy.loss_and_grads(x, eps=eps)
    grads = [g.copy() for _, _, g in buggy.parameters()]
    assert np.isclose(12 * parts["loss"], beta.loss_and_grads(x, eps=eps)["loss"])
    assert np.isclose(12 * parts["recon"], model.loss(x, eps=eps)["recon"])
    for g, (_, _, g_beta) in zip(grads, beta.parameters()):
        assert np.allclose(12 * g, g_beta)
    # everything else is the wrapped likelihood's; unwrapping restores the model
    assert buggy.likelihood.needs_unit_interval and buggy.n_parameters() == model.n_parameters()
    assert np.allclose(buggy.decode(eps), model.decode(eps))
    twin = copy.deepcopy(buggy)                                    # copies keep the bug
    assert np.isclose(twin.loss(x, eps=eps)["loss"], parts["loss"])
    buggy.likelihood = buggy.likelihood.inner
    assert np.isclose(buggy.loss(x, eps=eps)["loss"], model.loss(x, eps=eps)["loss"])


def test_sharpness():
    flat = np.full((3, 784), 0.4)
    checker = np.indices((28, 28)).sum(axis=0) % 2
    assert w.sharpness(flat) == 0.0
    assert np.isclose(w.sharpness(checker.reshape(1, 784)), 1.0)
    assert np.isclose(w.sharpness(3.0 * checker[None]), 1.0)      # clipped to [0, 1] first
    assert w.sharpness(np.eye(4).reshape(1, 16), image_shape=(4, 4)) > 0


# ----------------------------------------------------------------------------- snapshots, figures

@pytest.fixture(scope="module")
def trained():
    rng = np.random.default_rng(3)
    x = (rng.random((64, 784)) < 0.2).astype(np.float32)
    model = VAE(hidden=(16,), latent_dim=2, seed=0)
    snapshots = w.Snapshots(z=rng.standard_normal((4, 2)), x=x[:10], n_recon=4)
    fit(model, x, epochs=2, batch_size=32, optimizer=Adam(model.parameters(), lr=1e-3),
        test_data=x[:16], progress=False, callbacks=[snapshots])
    return model, snapshots, rng.integers(0, 10, 10)


def test_snapshots_record_every_epoch(trained):
    model, snapshots, _ = trained
    assert snapshots.epochs == [1, 2]
    assert snapshots.codes[0].shape == (10, 2) and snapshots.samples[1].shape == (4, 784)
    assert snapshots.recons[0].shape == (4, 784) and np.all(np.isfinite(snapshots.test_loss))
    assert np.allclose(snapshots.samples[-1], model.decode(snapshots.z))


def test_snapshots_without_a_test_set():
    model = Autoencoder(hidden=(8,), latent_dim=2, seed=0)
    snapshots = w.Snapshots(z=np.zeros((2, 2)), x=np.zeros((3, 784), dtype=np.float32))
    fit(model, np.zeros((8, 784), dtype=np.float32), epochs=1, progress=False,
        callbacks=[snapshots])
    assert np.isnan(snapshots.test_loss[0])
    fig = w.draw_snapshot(snapshots, 0, np.arange(3))
    assert "after epoch 1" in fig._suptitle.get_text() and "ELBO" not in fig._suptitle.get_text()


def test_draw_snapshot_returns_a_figure(trained):
    _, snapshots, labels = trained
    fig = w.draw_snapshot(snapshots, 1, labels)
    assert isinstance(fig, Figure) and len(fig.axes) == 3
    assert "epoch 2" in fig._suptitle.get_text()
    assert plt.get_fignums() == []                # not registered with pyplot


def test_draw_image_rows_and_codes_and_decodes(trained):
    model, snapshots, labels = trained
    fig = w.draw_image_rows({"a": snapshots.samples[0], "b": snapshots.recons[0]}, ncol=4)
    assert isinstance(fig, Figure) and len(fig.axes) == 2
    assert fig.axes[1].get_ylabel() == "b"
    z = np.random.default_rng(4).standard_normal((9, 2))
    fig = w.draw_codes_and_decodes([("one", snapshots.codes[0], labels, z, model.decode(z)),
                                    ("two", snapshots.codes[1], labels, z, model.decode(z))],
                                   ncol=3)
    assert isinstance(fig, Figure) and len(fig.axes) == 4
    assert "9 random codes" in fig.axes[0].get_title()


# ----------------------------------------------------------------------------- exercises

def test_negative_elbo_reference_agrees_with_the_library():
    rng = np.random.default_rng(5)
    model = VAE(input_dim=20, hidden=(8,), latent_dim=3, dtype=np.float64, seed=0)
    x, eps = (rng.random((6, 20)) < 0.5).astype(float), rng.standard_normal((6, 3))
    mu, logvar = model.encode(x)
    logits = model.decoder.forward(mu + np.exp(0.5 * logvar) * eps)
    loss, recon, kl = ex.negative_elbo(logits, x, mu, logvar)
    parts = model.loss(x, eps=eps)
    assert np.allclose([loss, recon, kl], [parts["loss"], parts["recon"], parts["kl"]])


def test_gaussian_reference_agrees_with_the_library_and_the_bug_fails():
    rng = np.random.default_rng(6)
    model = VAE(input_dim=20, hidden=(8,), latent_dim=3, likelihood="gaussian",
                dtype=np.float64, seed=0)
    x, eps = rng.random((6, 20)), rng.standard_normal((6, 3))
    mu, logvar = model.encode(x)
    x_mean = model.decoder.forward(mu + np.exp(0.5 * logvar) * eps)
    assert np.isclose(ex.gaussian_vae_loss(x_mean, x, mu, logvar), model.loss(x, eps=eps)["loss"])

    def buggy(x_mean, x, mu, logvar):      # the version printed in the exercise
        recon = np.mean((x - x_mean) ** 2)
        kl = -0.5 * np.mean(1 + logvar - mu**2 - np.exp(logvar))
        return recon + kl
    assert not run_cases(get("ch08.fix_the_mean"), buggy).passed


def test_bits_per_pixel_and_effective_beta():
    assert np.isclose(ex.bits_per_pixel(784 * np.log(2), 784), 1.0)
    assert np.isclose(ex.effective_beta("mean", "sum", 784, 2), 784)
    assert np.isclose(ex.effective_beta("mean", "mean", 784, 2), 392)
    # effective_beta agrees with the losses themselves: a * (R + beta * K)
    R, K, d, k = 150.0, 5.0, 784, 20
    for rr, kr in [("sum", "sum"), ("mean", "sum"), ("sum", "mean"), ("mean", "mean")]:
        a = 1 / d if rr == "mean" else 1.0
        b = 1 / k if kr == "mean" else 1.0
        assert np.isclose(a * R + b * K, a * (R + ex.effective_beta(rr, kr, d, k) * K))


def test_wrong_answers_are_caught():
    def mean_over_pixels(logits, x, mu, logvar):   # the chapter's bug
        loss, recon, kl = ex.negative_elbo(logits, x, mu, logvar)
        return recon / x.shape[1] + kl, recon / x.shape[1], kl
    assert not run_cases(get("ch08.negative_elbo"), mean_over_pixels).passed

    def naive(logits, x, mu, logvar):              # the textbook formula overflows at 800
        p = 1 / (1 + np.exp(-logits))
        recon = -np.mean(np.sum(x * np.log(p) + (1 - x) * np.log(1 - p), axis=1))
        kl = np.mean(0.5 * np.sum(mu**2 + np.exp(logvar) - 1 - logvar, axis=1))
        return recon + kl, recon, kl
    with np.errstate(all="ignore"):
        assert not run_cases(get("ch08.negative_elbo"), naive).passed

    assert not run_cases(get("ch08.bits_per_pixel"), lambda n, d: n / d / np.log(10)).passed
    assert not run_cases(get("ch08.effective_beta"),
                         lambda r, k, d, n: d if r == "mean" else 1.0).passed
