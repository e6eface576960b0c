"""Chapter 4 (The ELBO): the widget's callbacks and the exercises' reference solutions."""
import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from vaelite.exercises import check  # noqa: E402
from vaelite.exercises import ch04_elbo as ex  # noqa: E402
from vaelite.widgets import ch04_elbo as w  # noqa: E402


def _grid_log_evidence(model, n=4001):
    """log p(x) = log ∫ p(x|z) p(z) dz by a Riemann sum over the 1-D latent."""
    z = np.linspace(-10, 10, n)
    W, b, sigma, x = model["W"], model["b"], model["sigma"], model["x"]
    r = x[None, :] - z[:, None] * W[:, 0][None, :] - b
    log_joint = (-0.5 * len(x) * np.log(2 * np.pi * sigma**2) - 0.5 * np.sum(r**2, 1) / sigma**2
                 - 0.5 * np.log(2 * np.pi) - 0.5 * z**2)
    return np.log(np.sum(np.exp(log_joint)) * (z[1] - z[0]))


def test_log_evidence_matches_quadrature():
    assert np.isclose(w.log_evidence(), _grid_log_evidence(w.MODEL), rtol=0, atol=1e-9)


def test_posterior_is_bayes_rule():
    m, S = w.posterior()
    rng = np.random.default_rng(0)
    W, b, sigma, x = (w.MODEL[k] for k in ("W", "b", "sigma", "x"))
    for z in rng.normal(size=5):
        r = x - W[:, 0] * z - b
        log_joint = (-0.5 * len(x) * np.log(2 * np.pi * sigma**2) - 0.5 * r @ r / sigma**2
                     - 0.5 * np.log(2 * np.pi) - 0.5 * z**2)
        log_post = -0.5 * (np.log(2 * np.pi * S[0, 0]) + (z - m[0]) ** 2 / S[0, 0])
        assert np.isclose(log_joint - w.log_evidence(), log_post, atol=1e-12)


@pytest.mark.parametrize("mu,logvar", [(0.0, 0.0), (-1.0, 1.0), (2.0, -2.0), (0.8, -1.4)])
def test_elbo_parts(mu, logvar):
    p = w.elbo_parts(mu, logvar)
    assert np.isclose(p["elbo"], p["recon"] - p["kl"])
    assert p["elbo"] <= p["log_px"] + 1e-12
    assert np.isclose(p["gap"], p["kl_posterior"], atol=1e-12)
    assert np.isclose(p["kl"], 0.5 * (mu**2 + np.exp(logvar) - 1 - logvar))
    # the widget's ELBO is the exercise's reference solution
    m = w.MODEL
    L = np.array([[np.exp(0.5 * logvar)]])
    assert np.isclose(p["elbo"], ex.elbo_full_covariance(m["x"], m["W"], m["b"], m["sigma"],
                                                         np.array([mu]), L))


def test_recon_matches_monte_carlo():
    rng = np.random.default_rng(1)
    mu, logvar = 0.3, -0.5
    z = mu + np.exp(0.5 * logvar) * rng.standard_normal(200_000)
    W, b, sigma, x = (w.MODEL[k] for k in ("W", "b", "sigma", "x"))
    r = x[None, :] - z[:, None] * W[:, 0][None, :] - b
    log_lik = -0.5 * len(x) * np.log(2 * np.pi * sigma**2) - 0.5 * np.sum(r**2, 1) / sigma**2
    se = log_lik.std() / np.sqrt(len(z))
    assert abs(log_lik.mean() - w.elbo_parts(mu, logvar)["recon"]) < 5 * se


def test_path_ends_at_prior_and_posterior():
    assert w.path(0) == (0.0, 0.0)
    p = w.elbo_parts(*w.path(1))
    assert abs(p["gap"]) < 1e-12
    gaps = [w.elbo_parts(*w.path(t))["gap"] for t in np.linspace(0, 1, 11)]
    assert np.all(np.diff(gaps) < 0)  # the gap closes along the path


@pytest.mark.parametrize("mu,logvar", [(0.0, 0.0), (3.0, -3.0), (-3.0, 1.5)])
def test_draw_returns_figure(mu, logvar):
    fig = w.draw(mu, logvar)
    assert isinstance(fig, Figure)
    plt.close(fig)
    fig = w.draw_path(0.5)
    assert isinstance(fig, Figure)
    plt.close(fig)


def test_stub_and_wrong_answers_fail():
    assert not check("ch04.iwae_bound", lambda log_w: None, verbose=False)
    naive = lambda log_w: np.log(np.mean(np.exp(log_w), axis=-1))  # noqa: E731
    with np.errstate(all="ignore"):
        assert not check("ch04.iwae_bound", naive, verbose=False)
    variance_not_precision = lambda m, S: (m, np.log(np.diag(S)))  # noqa: E731
    assert not check("ch04.best_diagonal_q", variance_not_precision, verbose=False)


def test_best_diagonal_q_minimises_the_gap():
    """The best diagonal q has the smallest KL(q || N(m, S)) among nearby diagonal q."""
    rng = np.random.default_rng(2)
    m, S = np.array([0.5, -1.0]), np.array([[1.0, 0.6], [0.6, 0.5]])
    P = np.linalg.inv(S)

    def kl(mu, logvar):
        s2, dm = np.exp(logvar), m - mu
        return 0.5 * (np.sum(np.diag(P) * s2) + dm @ P @ dm - 2 + np.linalg.slogdet(S)[1]
                      - np.sum(logvar))

    mu, logvar = ex.best_diagonal_q(m, S)
    best = kl(mu, logvar)
    assert best > 0  # correlated posterior: no diagonal q is exact
    assert np.isclose(best, 0.5 * (np.sum(np.log(np.diag(P))) - np.linalg.slogdet(P)[1]))
    for _ in range(200):
        assert kl(mu + 0.1 * rng.normal(size=2), logvar + 0.1 * rng.normal(size=2)) >= best


def test_best_diagonal_q_matches_gradient_ascent():
    """Gradient ascent on the ELBO over diagonal q (as the chapter does) finds the reference."""
    rng = np.random.default_rng(3)
    D, d, sigma = 4, 2, 0.8
    W, b, x = rng.normal(size=(D, d)), rng.normal(size=D), rng.normal(size=D)
    S = np.linalg.inv(np.eye(d) + W.T @ W / sigma**2)
    m = S @ W.T @ (x - b) / sigma**2
    mu, logvar = np.zeros(d), np.zeros(d)
    col2 = np.sum(W**2, axis=0)
    for _ in range(5000):
        r = x - W @ mu - b
        mu = mu + 0.05 * (W.T @ r / sigma**2 - mu)
        logvar = logvar + 0.05 * (-0.5 * np.exp(logvar) * col2 / sigma**2
                                  - 0.5 * (np.exp(logvar) - 1))
    mu_ref, logvar_ref = ex.best_diagonal_q(m, S)
    assert np.allclose(mu, mu_ref, atol=1e-8) and np.allclose(logvar, logvar_ref, atol=1e-8)
    L = np.diag(np.exp(0.5 * logvar_ref))
    C = W @ W.T + sigma**2 * np.eye(D)
    log_px = -0.5 * (D * np.log(2 * np.pi) + np.linalg.slogdet(C)[1]
                     + (x - b) @ np.linalg.solve(C, x - b))
    P = np.linalg.inv(S)
    gap = log_px - ex.elbo_full_covariance(x, W, b, sigma, mu_ref, L)
    assert np.isclose(gap, 0.5 * (np.sum(np.log(np.diag(P))) - np.linalg.slogdet(P)[1]))


@pytest.mark.parametrize("t", [0.0, 0.5, 1.0])
def test_every_curve_in_the_legend_stays_visible_along_the_path(t):
    # at t = 0 q is the prior, at t = 1 the posterior: a solid curve drawn over one of them
    # would hide a curve that the legend lists
    fig = w.draw_path(t)
    ax = fig.axes[0]
    labels = [text.get_text() for text in ax.get_legend().get_texts()]
    assert labels == ["prior p(z)", "posterior p(z|x)", "q(z|x)"]
    lines = ax.get_lines()
    order = {id(line): (line.get_zorder(), i) for i, line in enumerate(lines)}
    for line in lines:
        hidden_by = [other.get_label() for other in lines
                     if order[id(other)] > order[id(line)] and other.get_linestyle() == "-"
                     and np.allclose(other.get_ydata(), line.get_ydata(), atol=1e-3)]
        assert not hidden_by, f"{line.get_label()} is hidden under {hidden_by} at t = {t}"
    plt.close(fig)
