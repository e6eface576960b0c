"""Pictures and small computations for chapter 3, "Latent variable models and the
intractable posterior".

The chapter's toy model has a 1-D latent code and 2-D data:

    z ~ N(0, 1),    x | z ~ N(f(z), noise^2 I),    f(z) = (sin(b z) / b, (1 - cos(b z)) / b).

The decoder f walks along a circle of radius 1/b (arc length z), so ``bend`` = b is its
curvature: b = 0 is the straight line f(z) = (z, 0), a linear decoder; a large b wraps the
line around a small circle, and several distant codes z then land on the same point x.

Everything here is plain: numbers in, numbers (or a matplotlib Figure) out.

    arc_decoder(z, bend)                        the decoder f: (...,) -> (..., 2)
    log_joint(x, z, bend, noise)                log p(z) + log p(x | z)
    grid_posterior(x, z_grid, bend, noise)      p(z | x) on a grid, and log p(x)
    log_marginal_grid(x, z_grid, bend, noise)   log p(x) for many x, by quadrature over z
    best_gaussian_fit(z_grid, log_post)         the Gaussian q minimising KL(q || p(z | x))
    mc_log_marginal(x, ...)                     Monte-Carlo log p(x) from prior samples
    mc_dimension_experiment(dims, ...)          the table of chapter 3 (error against d)
    draw_posterior(z_true, bend, noise)         Figure: data space and latent space
"""
import matplotlib.pyplot as plt
import numpy as np

from ..functional import logsumexp
from ..losses import gaussian_log_prob

Z_GRID = np.linspace(-5, 5, 1001)  # the chapter's default latent grid


def arc_decoder(z, bend):
    """f(z) = (sin(b z) / b, (1 - cos(b z)) / b), and its limit (z, 0) at b = 0: (..., 2).

    Written with np.sinc (sinc(t) = sin(pi t) / (pi t)) so that b = 0 needs no special case:
    sin(b z) / b = z sinc(b z / pi) and (1 - cos(b z)) / b = 2 sin^2(b z / 2) / b
    = (b z^2 / 2) sinc^2(b z / (2 pi)).
    """
    z = np.asarray(z, dtype=float)
    x1 = z * np.sinc(bend * z / np.pi)
    x2 = 0.5 * bend * z**2 * np.sinc(bend * z / (2 * np.pi)) ** 2
    return np.stack([x1, x2], axis=-1)


def log_joint(x, z, bend, noise):
    """log p(x, z) = log N(z; 0, 1) + log N(x; f(z), noise^2 I).

    x: (2,) or (..., 2), z: (...,) broadcasting against x's leading axes. Returns (...,).
    """
    z = np.asarray(z, dtype=float)
    log_prior = gaussian_log_prob(z[..., None], 0.0, 0.0)
    log_lik = gaussian_log_prob(np.asarray(x, dtype=float), arc_decoder(z, bend),
                                2 * np.log(noise))
    return log_prior + log_lik


def normalise_log_density(log_p, dz):
    """Turn unnormalised log-density values on an equally spaced grid into a density.

    Returns (density, log_normaliser) with density = exp(log_p - log_normaliser), whose
    Riemann sum is 1, and log_normaliser = log(sum(exp(log_p)) dz), computed with logsumexp
    so that values like -1000 neither underflow nor overflow.
    """
    log_p = np.asarray(log_p, dtype=float)
    log_norm = logsumexp(log_p, axis=-1) + np.log(dz)
    return np.exp(log_p - np.expand_dims(log_norm, -1)), log_norm


def grid_posterior(x, z_grid=Z_GRID, bend=2.0, noise=0.2):
    """Bayes' rule on a grid: (p(z | x) at each grid point, log p(x)) for one x: (2,)."""
    dz = z_grid[1] - z_grid[0]
    return normalise_log_density(log_joint(x, z_grid, bend, noise), dz)


def log_marginal_grid(x, z_grid=Z_GRID, bend=2.0, noise=0.2):
    """log p(x) = log integral p(z) p(x | z) dz, by quadrature on z_grid, for x: (..., 2)."""
    x = np.asarray(x, dtype=float)
    dz = z_grid[1] - z_grid[0]
    lj = log_joint(x[..., None, :], z_grid, bend, noise)      # (..., len(z_grid))
    return logsumexp(lj, axis=-1) + np.log(dz)


def gaussian_kl_to_grid(m, s, z_grid, log_post):
    """KL(N(m, s^2) || p) for a density p given by its log on an equally spaced grid.

    KL = E_q[log q] - E_q[log p]; the first term is exactly -0.5 log(2 pi e s^2), the second
    a Riemann sum. m, s broadcast (any shape); returns their broadcast shape.
    """
    m, s = np.broadcast_arrays(np.asarray(m, dtype=float), np.asarray(s, dtype=float))
    dz = z_grid[1] - z_grid[0]
    log_q = gaussian_log_prob(z_grid[..., None], m[..., None, None], 2 * np.log(s[..., None, None]))
    q = np.exp(log_q)
    cross = np.sum(q * log_post, axis=-1) * dz
    neg_entropy = -0.5 * np.log(2 * np.pi * np.e * s**2)
    return neg_entropy - cross


def best_gaussian_fit(z_grid, log_post, zooms=10):
    """The Gaussian q = N(m, s^2) closest to the grid density p in KL(q || p): (m, s, kl).

    This is the fit a VAE's encoder aims for (chapter 4 shows why it is this KL). Found by a
    coarse search over (m, log s), then repeated zooms: an 11 x 11 search around the best
    point, each 2.5 times finer than the last. A teaching tool, not an optimiser: the
    posterior should lie well inside z_grid.
    """
    log_post = np.asarray(log_post, dtype=float)
    dz = z_grid[1] - z_grid[0]
    width = z_grid[-1] - z_grid[0]
    ms = np.linspace(z_grid[0] + 0.1 * width, z_grid[-1] - 0.1 * width, 41)
    log_ss = np.linspace(np.log(3 * dz), np.log(width / 4), 20)
    for _ in range(zooms + 1):
        kl = gaussian_kl_to_grid(ms[:, None], np.exp(log_ss)[None, :], z_grid, log_post)
        i, j = np.unravel_index(np.argmin(kl), kl.shape)
        m_step, s_step = ms[1] - ms[0], log_ss[1] - log_ss[0]
        ms = ms[i] + m_step * np.linspace(-2, 2, 11)
        log_ss = log_ss[j] + s_step * np.linspace(-2, 2, 11)
    best_m, best_s = ms[5], np.exp(log_ss[5])
    best_kl = gaussian_kl_to_grid(best_m, best_s, z_grid, log_post)
    return float(best_m), float(best_s), float(best_kl)


# ----------------------------------------------------------------------------- dimension

def mc_log_marginal(x, n_samples, rng, noise=0.5):
    """Monte-Carlo log p(x) for z ~ N(0, I_d), x | z ~ N(z, noise^2 I_d): (d,) -> float.

    p(x) = E_{p(z)}[p(x | z)] ~ (1/S) sum_s p(x | z_s) with z_s drawn from the prior,
    averaged in log space: log p(x) ~ logsumexp_s log p(x | z_s) - log S.
    """
    x = np.asarray(x, dtype=float)
    z = rng.standard_normal((n_samples, x.size))
    log_lik = gaussian_log_prob(x, z, 2 * np.log(noise))
    return float(logsumexp(log_lik, axis=0) - np.log(n_samples))


def mc_relative_variance(x, noise=0.5):
    """Var[p(x | z)] / p(x)^2 for z ~ N(0, I_d) in the model of mc_log_marginal.

    Uses N(x; z, s^2)^2 = N(x; z, s^2 / 2) / sqrt(4 pi s^2), so
    E_z[p(x | z)^2] = N(x; 0, (1 + s^2/2) I) / (4 pi s^2)^(d/2), and p(x) = N(x; 0, (1 + s^2) I).
    An S-sample estimate has relative standard deviation sqrt(this / S).
    """
    x = np.asarray(x, dtype=float)
    log_second = (-0.5 * x.size * np.log(4 * np.pi * noise**2)
                  + gaussian_log_prob(x, 0.0, np.log(1 + noise**2 / 2)))
    log_p = gaussian_log_prob(x, 0.0, np.log(1 + noise**2))
    return float(np.expm1(log_second - 2 * log_p))


def mc_dimension_experiment(dims, n_samples=1000, repeats=100, noise=0.5, seed=0):
    """Estimate p(x) by Monte Carlo from the prior in d = dims dimensions, `repeats` times.

    x is the typical point x_j = sqrt(1 + noise^2) for every j (its squared distance from the
    origin is the average one). Returns a list of dicts with keys d, log_p (exact),
    ratios (p_hat / p, one per repeat), predicted_rel_std (sqrt(relative variance / S)).
    """
    rng = np.random.default_rng(seed)
    rows = []
    for d in dims:
        x = np.full(d, np.sqrt(1 + noise**2))
        log_p = float(gaussian_log_prob(x, 0.0, np.log(1 + noise**2)))
        log_hat = np.array([mc_log_marginal(x, n_samples, rng, noise) for _ in range(repeats)])
        rows.append({"d": d, "log_p": log_p, "ratios": np.exp(log_hat - log_p),
                     "log_ratios": log_hat - log_p,
                     "predicted_rel_std": np.sqrt(mc_relative_variance(x, noise) / n_samples)})
    return rows


# ----------------------------------------------------------------------------- picture

def _data_space_density(bend, noise, n=70):
    """p(x) on an n x n grid of a square around the decoder's curve, by quadrature over z.

    Returns (extent, density): extent = [x1_min, x1_max, x2_min, x2_max], density (n, n)
    with rows along x2 and columns along x1.
    """
    curve = arc_decoder(np.linspace(-3, 3, 301), bend)
    lo, hi = curve.min(axis=0), curve.max(axis=0)
    centre, half = (lo + hi) / 2, np.max(hi - lo) / 2 + 3 * noise + 0.2
    g1 = np.linspace(centre[0] - half, centre[0] + half, n)
    g2 = np.linspace(centre[1] - half, centre[1] + half, n)
    x = np.stack(np.meshgrid(g1, g2), axis=-1)            # (n, n, 2), x[i, j] = (g1[j], g2[i])
    z_grid = np.arange(-4, 4 + 1e-9, min(0.05, noise / 4))   # a few points per noise std
    return [g1[0], g1[-1], g2[0], g2[-1]], np.exp(log_marginal_grid(x, z_grid, bend, noise))


def draw_posterior(z_true=1.2, bend=2.0, noise=0.2):
    """Figure: left, the data space (p(x) and the decoder's curve) with x = f(z_true);
    right, the posterior p(z | x) on a grid beside the prior and the best Gaussian q."""
    x = arc_decoder(z_true, bend)
    post, log_px = grid_posterior(x, Z_GRID, bend, noise)
    log_post = log_joint(x, Z_GRID, bend, noise) - log_px   # log p(z | x), finite everywhere
    m, s, kl = best_gaussian_fit(Z_GRID, log_post)

    fig, (ax0, ax1) = plt.subplots(1, 2, figsize=(10, 3.8),
                                   gridspec_kw={"width_ratios": [1, 1.35]})
    fig.subplots_adjust(left=0.06, right=0.98, bottom=0.14, top=0.88, wspace=0.22)
    extent, px = _data_space_density(bend, noise)
    g1, g2 = np.linspace(*extent[:2], px.shape[1]), np.linspace(*extent[2:], px.shape[0])
    ax0.contourf(g1, g2, px, levels=8, cmap="Greys")  # flat bands: a small PNG
    ax0.set_aspect("equal")
    zc = np.linspace(-3, 3, 301)
    curve = arc_decoder(zc, bend)
    dots = ax0.scatter(curve[:, 0], curve[:, 1], c=zc, cmap="viridis", s=3, vmin=-3, vmax=3)
    fig.colorbar(dots, ax=ax0, shrink=0.8, pad=0.02, label="$z$")
    ax0.plot(*x, marker="*", color="gold", mec="k", ms=15, ls="none", label="observed $x$")
    ax0.set(xlim=extent[:2], ylim=extent[2:], xlabel="$x_1$", ylabel="$x_2$",
            title="data space: $p(x)$, and $f(z)$ coloured by $z$")
    ax0.legend(loc="lower right", fontsize=8)

    ax1.plot(Z_GRID, np.exp(gaussian_log_prob(Z_GRID[:, None], 0.0, 0.0)), color="#7f7f7f",
             label="prior $p(z)$")
    ax1.fill_between(Z_GRID, post, color="#c0392b", alpha=0.3)
    ax1.plot(Z_GRID, post, color="#c0392b", lw=2, label="posterior $p(z \\mid x)$ (grid)")
    ax1.plot(Z_GRID, np.exp(gaussian_log_prob(Z_GRID[:, None], m, 2 * np.log(s))),
             color="#1f77b4", ls="--", lw=2, label="best Gaussian $q$")
    ax1.axvline(z_true, color="k", lw=0.8, ls=":", label=f"$z$ that made $x$: {z_true:g}")
    ax1.set(xlim=(-4, 4), ylim=(0, max(2.2, 1.05 * post.max())), xlabel="latent $z$",
            ylabel="density",
            title=f"bend {bend:g}: log p(x) = {log_px:.2f},  KL(q || p(z|x)) = {kl:.3f}")
    ax1.legend(loc="upper left", fontsize=8, frameon=False)
    return fig
