"""Widget of chapter 4, "The ELBO": move q(z|x) and watch the gap to log p(x) close.

The model is the chapter's linear-Gaussian model with one latent dimension,

    z ~ N(0, 1),   x | z ~ N(W z + b, sigma^2 I_D),   q(z|x) = N(mu, exp(logvar)),

for which log p(x), the posterior p(z|x) and the ELBO are all available in closed form.
The plain functions here are what the sliders call (and what the tests check).
"""
import matplotlib.pyplot as plt
import numpy as np

__all__ = ["MODEL", "posterior", "log_evidence", "elbo_parts", "path", "draw", "draw_path"]

# One data point x in D = 2 dimensions, a 1-D latent z.
MODEL = {"W": np.array([[1.2], [0.8]]), "b": np.array([0.0, 0.5]), "sigma": 0.8,
         "x": np.array([1.5, 1.0])}


def posterior(model=MODEL):
    """Mean m: (d,) and covariance S: (d, d) of p(z|x) = N(m, S), with
    S = (I + W^T W / sigma^2)^-1 and m = S W^T (x - b) / sigma^2."""
    W, b, s2, x = model["W"], model["b"], model["sigma"] ** 2, model["x"]
    S = np.linalg.inv(np.eye(W.shape[1]) + W.T @ W / s2)
    return S @ W.T @ (x - b) / s2, S


def log_evidence(model=MODEL):
    """log p(x) = log N(x; b, W W^T + sigma^2 I)."""
    W, b, x = model["W"], model["b"], model["x"]
    C = W @ W.T + model["sigma"] ** 2 * np.eye(len(b))
    r = x - b
    return float(-0.5 * (len(b) * np.log(2 * np.pi) + np.linalg.slogdet(C)[1]
                         + r @ np.linalg.solve(C, r)))


def elbo_parts(mu, logvar, model=MODEL):
    """Everything the widget shows for q = N(mu, exp(logvar)) (scalars for the 1-D latent).

    Returns a dict: log_px, recon = E_q[log p(x|z)], kl = KL(q || p(z)),
    elbo = recon - kl, gap = log_px - elbo, kl_posterior = KL(q || p(z|x)) (equal to gap).
    """
    W, b, sigma, x = model["W"], model["b"], model["sigma"], model["x"]
    mu, s2 = np.atleast_1d(float(mu)), np.exp(np.atleast_1d(float(logvar)))
    D = len(x)
    r = x - W @ mu - b
    recon = -0.5 * D * np.log(2 * np.pi * sigma**2) - (r @ r + np.sum(s2 * np.sum(W**2, 0))) \
        / (2 * sigma**2)
    kl = 0.5 * np.sum(mu**2 + s2 - 1 - np.log(s2))
    m, S = posterior(model)
    P = np.linalg.inv(S)
    dm = m - mu
    kl_post = 0.5 * (np.sum(np.diag(P) * s2) + dm @ P @ dm - len(m)
                     + np.linalg.slogdet(S)[1] - np.sum(np.log(s2)))
    log_px = log_evidence(model)
    elbo = float(recon - kl)
    return {"log_px": log_px, "recon": float(recon), "kl": float(kl), "elbo": elbo,
            "gap": log_px - elbo, "kl_posterior": float(kl_post)}


def path(t, model=MODEL):
    """(mu, logvar) a fraction t of the way from the prior N(0, 1) (t = 0) to the exact
    posterior (t = 1), on a straight line in (mu, logvar)."""
    m, S = posterior(model)
    return float(t * m[0]) + 0.0, float(t * np.log(S[0, 0])) + 0.0  # + 0.0: no "-0.00"


def _normal_pdf(z, mean, var):
    return np.exp(-0.5 * (z - mean) ** 2 / var) / np.sqrt(2 * np.pi * var)


def draw(mu, logvar, model=MODEL):
    """Left: the densities q(z|x), p(z|x) and p(z). Right: log p(x), the ELBO and the gap."""
    parts = elbo_parts(mu, logvar, model)
    m, S = posterior(model)
    z = np.linspace(-3.5, 3.5, 400)
    fig, (ax, bx) = plt.subplots(1, 2, figsize=(8, 3),
                                 gridspec_kw={"width_ratios": [2, 1]})
    # fixed margins, not layout="constrained": the book renders many frames of this figure
    fig.subplots_adjust(left=0.08, right=0.98, bottom=0.16, top=0.86, wspace=0.28)
    # q first and wide, the other two dashed on top: where q lies on the prior (t = 0 of the
    # book's path) or on the posterior (t = 1), both curves of the legend stay visible
    q = _normal_pdf(z, mu, np.exp(logvar))
    q_line, = ax.plot(z, q, color="C0", lw=3, label="q(z|x)", zorder=1)
    ax.fill_between(z, q, color="C0", alpha=0.2, zorder=0)
    post_line, = ax.plot(z, _normal_pdf(z, m[0], S[0, 0]), color="k", ls="--", lw=1.5,
                         label="posterior p(z|x)", zorder=3)
    prior_line, = ax.plot(z, _normal_pdf(z, 0.0, 1.0), color="C1", ls=":", lw=2.2,
                          label="prior p(z)", zorder=2)
    ax.set(xlim=(z[0], z[-1]), ylim=(0, 2.0), xlabel="z", ylabel="density",
           title=f"q = N({mu:.2f}, exp({logvar:.2f}))   log p(x) = {parts['log_px']:.3f}")
    ax.legend(handles=[prior_line, post_line, q_line], loc="upper left", fontsize=8,
              frameon=False)

    top, floor = parts["log_px"] + 1.0, parts["log_px"] - 6.0
    elbo = max(parts["elbo"], floor)
    bx.bar([0], [elbo - floor], bottom=floor, width=0.6, color="C0")
    bx.bar([0], [parts["log_px"] - elbo], bottom=elbo, width=0.6, color="C3", alpha=0.5)
    bx.axhline(parts["log_px"], color="k", lw=1.5)
    bx.text(0.35, parts["log_px"] + 0.1, "log p(x)", va="bottom", fontsize=8)
    bx.text(0.35, elbo - 0.1, "ELBO", va="top", color="C0", fontsize=8)
    if parts["gap"] > 0.3:
        bx.text(0.35, (elbo + parts["log_px"]) / 2, "gap =\nKL(q ‖ p(z|x))", va="center",
                color="C3", fontsize=8)
    bx.set(xlim=(-0.4, 1.3), ylim=(floor, top), xticks=[], ylabel="nats")
    gap = max(parts["gap"], 0.0)  # >= 0 in exact arithmetic; rounding can give -4e-16
    bx.set_title(f"ELBO {parts['elbo']:.3f}\ngap {gap:.3f}", fontsize=10)
    return fig


def draw_path(t, model=MODEL):
    """draw() for the q a fraction t of the way from the prior to the posterior."""
    return draw(*path(t, model), model=model)
