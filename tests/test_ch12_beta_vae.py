"""Tests of chapter 12's helpers, figures and exercises (beta-VAE and disentanglement)."""
import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from vaelite.evaluate import factor_mutual_information, mutual_information_gap  # noqa: E402
from vaelite.exercises import ch12_beta_vae as ex  # noqa: E402
from vaelite.exercises import get, run_cases  # noqa: E402
from vaelite.synthetic import render, shapes_dataset  # noqa: E402
from vaelite.widgets import render_frame  # noqa: E402
from vaelite.widgets import ch12_beta_vae as w  # noqa: E402


@pytest.fixture(scope="module")
def sweep():
    """Two tiny VAEs (beta 1 and 8) trained 2 epochs on 300 shapes; 200 held-out shapes."""
    train, test = shapes_dataset(300, seed=0), shapes_dataset(200, seed=1)
    points, seconds = w.train_sweep(train.x, test.x, [1.0, 8.0], hidden=(16,), latent_dim=3,
                                    epochs=2, batch_size=50)
    return points, seconds, test


# ----------------------------------------------------------------------------- training

def test_train_sweep_gives_a_point_per_beta(sweep):
    points, seconds, test = sweep
    assert [p["beta"] for p in points] == [1.0, 8.0] and seconds > 0
    for p in points:
        assert p["model"].beta == p["beta"] and p["model"].latent_dim == 3
        assert p["nelbo"] == pytest.approx(p["rate"] + p["distortion"])
    assert points[0]["rate"] > points[1]["rate"]    # a higher price buys less information
    again, _ = w.train_sweep(shapes_dataset(300, seed=0).x, test.x, [1.0], hidden=(16,),
                             latent_dim=3, epochs=2, batch_size=50)
    assert again[0]["rate"] == points[0]["rate"]    # seeded


def test_disentanglement_agrees_with_the_library(sweep):
    points, _, test = sweep
    model = points[0]["model"]
    d = w.disentanglement(model, test.x, test.factors, bins=10)
    codes = model.code(test.x)
    assert d["info"].shape == (3, 4) and np.all((0 <= d["info"]) & (d["info"] <= 1))
    np.testing.assert_allclose(d["info"], factor_mutual_information(codes, test.factors, 10))
    assert d["mig"] == pytest.approx(mutual_information_gap(codes, test.factors, 10))
    assert d["gaps"].shape == (4,) and d["kl_dims"].shape == (3,)
    assert d["used"] == int(np.sum(d["kl_dims"] > 0.1))


# ----------------------------------------------------------------------------- traversals

def test_traversal_codes_agree_with_the_exercise_and_check_arguments():
    rng = np.random.default_rng(0)
    mu, values = rng.normal(size=5), np.linspace(-2, 2, 7)
    codes = w.traversal_codes(mu, 3, values)
    np.testing.assert_array_equal(codes, ex.traversal_codes(mu, 3, values))
    np.testing.assert_array_equal(codes[:, 3], values)
    np.testing.assert_array_equal(np.delete(codes, 3, axis=1), np.tile(np.delete(mu, 3), (7, 1)))
    with pytest.raises(ValueError, match="dim must be below"):
        w.traversal_codes(mu, 5, values)
    with pytest.raises(ValueError, match="mu must be one code"):
        w.traversal_codes(mu[None], 0, values)
    with pytest.raises(ValueError, match="dim must be"):
        w.traversal_codes(mu, -1, values)


def test_traverse_decodes_one_row_per_dimension(sweep):
    model = sweep[0][0]["model"]
    x = sweep[2].x[0]
    values = np.array([-1.0, 0.0, 1.0])
    frames = w.traverse(model, x, values)
    assert frames.shape == (3, 3, 256)
    mu = model.code(x[None])[0]
    np.testing.assert_allclose(frames[1], model.decode(w.traversal_codes(mu, 1, values)
                                                       .astype(np.float32)), rtol=1e-6)


def test_shape_moments_of_rendered_squares():
    # a square (shape 0) at every x with y and scale fixed: the centroid moves right, y stays
    factors = np.array([[0, 1, k, 2] for k in range(6)])
    m = w.shape_moments(render(factors))
    assert np.all(np.diff(m[:, 0]) > 1) and np.ptp(m[:, 1]) < 1e-9
    np.testing.assert_allclose(m[:, 2], m[0, 2], rtol=0.05)  # moving keeps the area (to pixels)
    r = 0.18 * 16
    assert m[0, 2] == pytest.approx(4 * r * r, rel=0.1)  # the square's area, 2r x 2r
    assert np.all(np.isfinite(w.shape_moments(np.zeros((2, 256)))))   # no ink: no NaN


def test_traversal_effects_are_ranges():
    # dimension 0 moves a square across, dimension 1 grows it, in place
    across = render(np.array([[0, 1, k, 2] for k in range(6)]))
    grows = render(np.array([[0, s, 2, 2] for s in (0, 1, 2, 2, 2, 2)]))
    effects = w.traversal_effects(np.stack([across, grows]))
    assert effects.shape == (2, 3)
    assert effects[0, 0] > 5 and effects[0, 1] < 1e-9 and effects[0, 2] < 2   # area: to pixels
    assert effects[1, 0] < 0.5 and effects[1, 2] > 30


# ----------------------------------------------------------------------------- figures

def _shown(fig):
    assert isinstance(fig, Figure)
    assert render_frame(fig).startswith("data:image/png;base64,")


def test_figures():
    rng = np.random.default_rng(1)
    betas = [1.0, 2.0, 4.0]
    _shown(w.draw_mig(betas, {"seed 0": [0.1, 0.2, 0.1], "seed 1": [0.05, 0.1, 0.2]}))
    _shown(w.draw_information({"a": rng.random((6, 4)), "b": rng.random((6, 4))},
                              ["shape", "scale", "x", "y"]))
    frames = rng.random((6, 9, 256))
    _shown(w.draw_traversal(frames, np.linspace(-2, 2, 9), title="t"))
    results = {2.0: {"frames": frames, "labels": [f"z{j}" for j in range(6)],
                     "info": rng.random((6, 4)), "mig": 0.2, "rate": 5.0,
                     "distortion": 30.0}}
    _shown(w.draw_setting(results, 2.0, ["shape", "scale", "x", "y"], np.linspace(-2, 2, 9)))
    with pytest.raises(KeyError):
        w.draw_setting(results, 3.0, ["shape", "scale", "x", "y"], np.linspace(-2, 2, 9))


# ----------------------------------------------------------------------------- exercises

def test_exercise_references_agree_with_the_library():
    rng = np.random.default_rng(2)
    factors = rng.integers(0, 3, size=(300, 2))
    codes = np.stack([factors[:, 0] * 2 + rng.integers(0, 2, 300), rng.integers(0, 6, 300),
                      factors[:, 1] * 2 + (rng.random(300) < 0.2)], axis=1)
    codes[:2] = [[0, 0, 0], [5, 5, 5]]   # every column spans 0..5: 6 bins are the values
    mi = np.array([[ex.mutual_information(codes[:, j], factors[:, k]) for k in range(2)]
                   for j in range(3)])
    h = np.array([ex.mutual_information(factors[:, k], factors[:, k]) for k in range(2)])
    np.testing.assert_allclose(mi / h, factor_mutual_information(codes.astype(float), factors,
                                                                 bins=6), rtol=1e-10)
    assert ex.mig(mi, h) == pytest.approx(mutual_information_gap(codes.astype(float), factors,
                                                                 bins=6), rel=1e-10)


def test_rate_distortion_reference_on_a_model_loss():
    from vaelite import VAE
    model = VAE(256, (8,), 2, beta=3.0, seed=0)
    x = shapes_dataset(20, seed=0).x
    parts = model.loss(x, np.random.default_rng(0))
    rate, distortion, elbo = ex.rate_distortion(parts, 3.0)
    assert rate == pytest.approx(parts["kl"], rel=1e-4)
    assert elbo == pytest.approx(-(parts["recon"] + parts["kl"]), rel=1e-5)


def test_typical_mistakes_fail():
    def elbo_from_loss(parts, beta):            # forgets that the loss weighs the rate by beta
        rate = parts["loss"] - parts["recon"]
        return rate, parts["recon"], -parts["loss"]
    result = run_cases(get("ch12.rate_distortion"), elbo_from_loss)
    assert not result.passed and result.failures[0].case == 2

    def log2_information(a, b):                 # bits instead of nats
        return ex.mutual_information(a, b) / np.log(2)
    assert not run_cases(get("ch12.mutual_information"), log2_information).passed

    def gap_over_largest(mi, entropies):         # divides by the largest MI, not by H(v)
        top = -np.sort(-np.asarray(mi), axis=0)
        return float(np.mean((top[0] - top[1]) / top[0]))
    result = run_cases(get("ch12.mig"), gap_over_largest)
    assert not result.passed and result.failures[0].case == 3

