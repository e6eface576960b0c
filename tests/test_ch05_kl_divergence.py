"""Chapter 5 (KL divergence): the widget's callbacks and the exercises' reference solutions."""
import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from vaelite.exercises import check  # noqa: E402
from vaelite.exercises import ch05_kl_divergence as ex  # noqa: E402
from vaelite.losses import kl_normal  # noqa: E402
from vaelite.widgets import ch05_kl_divergence as w  # noqa: E402


def test_golden_values():
    assert np.isclose(w.kl_parts(2.0, 1.0)["total"], 2.0)
    assert np.isclose(w.kl_parts(0.0, np.e)["total"], 2.194528, atol=1e-6)
    assert w.kl_parts(0.0, 1.0) == {"mean": 0.0, "variance": 0.0, "total": 0.0}


@pytest.mark.parametrize("mu,sigma", [(0.0, 1.0), (1.5, 0.5), (-2.0, 2.0), (0.3, 0.05)])
def test_kl_parts_match_library_and_quadrature(mu, sigma):
    parts = w.kl_parts(mu, sigma)
    assert np.isclose(parts["total"], parts["mean"] + parts["variance"])
    assert parts["mean"] >= 0 and parts["variance"] >= 0
    value, _, _ = kl_normal(np.array([[mu]]), np.array([[2 * np.log(sigma)]]))
    assert np.isclose(parts["total"], value)
    per_example = ex.kl_diag_gaussians(np.array([[mu]]), np.array([[2 * np.log(sigma)]]),
                                       np.zeros((1, 1)), np.zeros((1, 1)))
    assert np.isclose(parts["total"], per_example[0])
    z = np.linspace(mu - 12 * sigma, mu + 12 * sigma, 200_001)
    log_q = -0.5 * np.log(2 * np.pi * sigma**2) - 0.5 * ((z - mu) / sigma) ** 2
    log_p = -0.5 * np.log(2 * np.pi) - 0.5 * z**2
    integral = np.sum(np.exp(log_q) * (log_q - log_p)) * (z[1] - z[0])
    assert np.isclose(parts["total"], integral, atol=1e-8)


def test_kl_parts_rejects_bad_sigma():
    with pytest.raises(ValueError):
        w.kl_parts(0.0, 0.0)


@pytest.mark.parametrize("mu,sigma", [(0.0, 1.0), (3.0, 0.3), (-3.0, 2.5)])
def test_draw_returns_figure(mu, sigma):
    fig = w.draw(mu, sigma)
    assert isinstance(fig, Figure)
    plt.close(fig)


def test_wrong_answers_fail():
    assert not check("ch05.moment_match", lambda w, m, s: None, verbose=False)
    # the variance where the standard deviation is meant
    wrong = lambda w, m, s: (ex.moment_match(w, m, s)[0], ex.moment_match(w, m, s)[1] ** 2)  # noqa: E731,E501
    assert not check("ch05.moment_match", wrong, verbose=False)
    # summed over the batch too
    total = lambda *a: np.sum(ex.kl_diag_gaussians(*a))  # noqa: E731
    assert not check("ch05.kl_diag_gaussians", total, verbose=False)


def test_kl_diag_gaussians_against_prior_is_library():
    rng = np.random.default_rng(0)
    mu, logvar = rng.normal(size=(8, 4)), rng.normal(size=(8, 4))
    per_example = ex.kl_diag_gaussians(mu, logvar, np.zeros_like(mu), np.zeros_like(mu))
    assert np.isclose(per_example.mean(), kl_normal(mu, logvar)[0])


def test_kl_discrete_is_nonnegative_and_asymmetric():
    rng = np.random.default_rng(1)
    for _ in range(100):
        p, q = rng.dirichlet(np.ones(5)), rng.dirichlet(np.ones(5))
        assert ex.kl_discrete(p, q) >= 0
    assert ex.kl_discrete(p, p) == 0
    p, q = np.array([0.9, 0.1]), np.array([0.5, 0.5])
    assert not np.isclose(ex.kl_discrete(p, q), ex.kl_discrete(q, p))


def test_moment_match_minimises_forward_kl():
    """On a grid of Gaussians, KL(p || q) is smallest at the moment-matched q."""
    weights, means, sds = np.array([0.3, 0.7]), np.array([-1.0, 2.0]), np.array([0.5, 1.0])
    z = np.linspace(-12, 14, 8001)
    dz = z[1] - z[0]
    p = sum(w_ * np.exp(-0.5 * ((z - m_) / s_) ** 2) / np.sqrt(2 * np.pi * s_**2)
            for w_, m_, s_ in zip(weights, means, sds))
    m, s = ex.moment_match(weights, means, sds)

    def forward_kl(mq, sq):
        log_q = -0.5 * np.log(2 * np.pi * sq**2) - 0.5 * ((z - mq) / sq) ** 2
        return np.sum(p * (np.log(p) - log_q)) * dz

    best = forward_kl(m, s)
    for dm in (-0.05, 0.0, 0.05):
        for ds in (-0.05, 0.0, 0.05):
            assert forward_kl(m + dm, s + ds) >= best - 1e-12
