"""Figures and widget of chapter 7 (book/07_backprop.ipynb): backprop by hand, checked.

- ``draw_vae_graph``: the computational graph of the VAE, forward values in one colour and
  gradients in another, with the two paths of the gradient into mu and logvar.
- ``entry_errors`` and ``draw_error_histogram``: how far each entry of a hand-written gradient is
  from its finite-difference estimate, on the scale of its array.
- ``step_errors`` and ``draw_step_error``: the error of a central difference as a function of the
  step h, measured on a tiny VAE in float64 and float32: truncation (~h^2) for large h,
  rounding (~1/h) for small h.

    central difference:  dL/dw ~ (L(w + h) - L(w - h)) / (2 h)
    error ~ |L'''| h^2 / 6  +  eps_machine |L| / h
"""
import functools

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.patches import FancyBboxPatch

from ..gradcheck import relative_error
from ..models import VAE

__all__ = ["FORWARD", "BACKWARD", "draw_vae_graph", "entry_errors", "draw_error_histogram",
           "STEPS", "tiny_vae", "central_difference", "step_errors", "fit_slope",
           "shared_digits", "draw_step_error"]

FORWARD, BACKWARD = "tab:blue", "tab:red"  # the colours of values and of gradients


# ----------------------------------------------------------------------------- the graph

# name: (x, y, label, width); a box is centred at (x, y). The graph runs top to bottom.
_NODES = {
    "x": (0.0, 9.2, "data $x$  (B, D)", 2.0),
    "enc": (0.0, 7.7, "encoder MLP", 2.0),
    "mu": (-2.0, 6.1, r"$\mu$  (B, K)", 1.5),
    "logvar": (2.0, 6.1, r"$\log\sigma^2$  (B, K)", 2.0),
    "eps": (-4.7, 3.9, r"$\varepsilon\sim\mathcal{N}(0, I)$", 1.9),
    "z": (-2.0, 3.9, r"$z=\mu+\sigma\odot\varepsilon$" + "\n"
         + r"$\sigma=\exp(\frac{1}{2}\log\sigma^2)$", 2.4),
    "kl": (3.0, 3.9, r"KL$(q\,\|\,\mathcal{N}(0, I))$", 2.4),
    "dec": (-2.0, 2.1, "decoder MLP", 2.0),
    "recon": (-2.0, 0.3, r"recon $=-\log p(x\,|\,z)$", 2.9),
    "loss": (1.8, -1.2, r"$L=$ recon $+\;\beta$ KL", 2.6),
}

# (from, to, forward label, gradient label, where along the edge the labels sit, the side of
# the gradient label: -1 right of the forward direction, +1 left of it);
# the gradient flows from "to" back to "from"
_EDGES = [
    ("x", "enc", "", "", 0.5, -1),
    ("enc", "mu", "", r"$\partial L/\partial\mu$", 0.5, -1),
    ("enc", "logvar", "", r"$\partial L/\partial\log\sigma^2$", 0.5, +1),
    ("mu", "z", "", r"$\bar z$", 0.5, -1),
    ("logvar", "z", "", r"$\bar z\odot\varepsilon\odot\sigma/2$", 0.72, +1),
    ("eps", "z", "", "", 0.5, -1),
    ("z", "dec", "", r"$\bar z=\partial L/\partial z$", 0.5, -1),
    ("dec", "recon", r"logits $\ell$", r"$(\mathrm{sigmoid}(\ell)-x)/B$", 0.5, -1),
    ("mu", "kl", "", r"$\beta\,\mu/B$", 0.8, +1),
    ("logvar", "kl", "", r"$\beta\,(e^{\log\sigma^2}-1)/(2B)$", 0.5, +1),
    ("recon", "loss", "", "1", 0.5, -1),
    ("kl", "loss", "", r"$\beta$", 0.5, +1),
]


def draw_vae_graph(show_gradients=True):
    """The computational graph of the VAE's loss as boxes and arrows, top to bottom: forward
    (values) in blue; with ``show_gradients``, the gradients flowing back in red, each
    labelled with what it carries (B is the batch size, the loss is a mean over the batch).
    Returns a Figure."""
    fig, ax = plt.subplots(figsize=(7.4, 7.6))
    boxes = {}
    for name, (x, y, label, width) in _NODES.items():
        height = 0.85 if "\n" in label else 0.6
        face = "#eeeeee" if name in ("x", "eps") else "white"
        box = FancyBboxPatch((x - width / 2, y - height / 2), width, height,
                             boxstyle="round,pad=0.08,rounding_size=0.15", facecolor=face,
                             edgecolor="0.3", lw=1.2, zorder=2)
        ax.add_patch(box)
        ax.text(x, y, label, ha="center", va="center", fontsize=10, zorder=3)
        boxes[name] = box
    # the data x is also the target of the likelihood: a grey dashed line down the left side
    left, (x0, y0), (x1, y1) = -5.9, _NODES["x"][:2], _NODES["recon"][:2]
    ax.plot([x0 - 1.1, left, left], [y0, y0, y1], color="0.55", lw=1, ls="--", zorder=1)
    ax.annotate("", xy=(x1 - 1.55, y1), xytext=(left, y1), zorder=1,
                arrowprops=dict(arrowstyle="-|>", color="0.55", lw=1, ls="--",
                                shrinkA=0, shrinkB=0))
    ax.text(left + 0.12, (y0 + y1) / 2 + 2.6, "the data $x$ is also the\ntarget of the likelihood",
            color="0.4", fontsize=8.5, ha="left", va="center")
    for src, dst, forward_label, grad_label, at, side in _EDGES:
        (x0, y0), (x1, y1) = _NODES[src][:2], _NODES[dst][:2]
        pair = show_gradients and bool(grad_label)
        shift = 0.09 if pair else 0.0  # a forward arrow and its gradient run side by side
        _arrow(ax, (x0, y0), (x1, y1), boxes[src], boxes[dst], FORWARD, +shift)
        if forward_label:
            _label(ax, (x0, y0), (x1, y1), at, forward_label, FORWARD, -side)
        if pair:
            _arrow(ax, (x1, y1), (x0, y0), boxes[dst], boxes[src], BACKWARD, +shift)
            _label(ax, (x0, y0), (x1, y1), at, grad_label, BACKWARD, side)
    ax.plot([], [], color=FORWARD, lw=2, label="forward: values")
    if show_gradients:
        ax.plot([], [], color=BACKWARD, lw=2, label="backward: gradients of $L$")
        ax.text(4.3, 1.6, "two paths into $\\mu$ and\n$\\log\\sigma^2$: through $z$\n"
                "(reparameterization)\nand through KL", ha="center", va="center",
                fontsize=9, color=BACKWARD)
    ax.legend(loc="upper right", fontsize=9, frameon=False)
    ax.set_xlim(-6.1, 6.1)
    ax.set_ylim(-1.7, 9.7)
    ax.set_aspect("equal")
    ax.axis("off")
    ax.set_title("The VAE's loss as a computational graph\n(B images, D pixels, K latents)",
                 fontsize=11)
    fig.tight_layout()
    return fig


def _normal(start, end):
    """The unit vector to the left of the direction start -> end."""
    dx, dy = end[0] - start[0], end[1] - start[1]
    norm = np.hypot(dx, dy)
    return -dy / norm, dx / norm


def _arrow(ax, start, end, box_from, box_to, color, shift):
    """An arrow between two box centres, moved ``shift`` to its left, clipped at the boxes."""
    nx, ny = _normal(start, end)
    start = (start[0] + shift * nx, start[1] + shift * ny)
    end = (end[0] + shift * nx, end[1] + shift * ny)
    ax.annotate("", xy=end, xytext=start, zorder=1,
                arrowprops=dict(arrowstyle="-|>", color=color, lw=1.5, patchA=box_from,
                                patchB=box_to, shrinkA=2, shrinkB=2))


def _label(ax, start, end, at, text, color, side):
    """Text beside the point a fraction ``at`` along the edge start -> end of the forward
    direction; side +1 to its left, -1 to its right, aligned away from the edge."""
    nx, ny = _normal(start, end)
    nx, ny = side * nx, side * ny
    mx, my = start[0] + at * (end[0] - start[0]), start[1] + at * (end[1] - start[1])
    ha = "left" if nx > 0.3 else "right" if nx < -0.3 else "center"
    va = "bottom" if ny > 0.3 else "top" if ny < -0.3 else "center"
    ax.text(mx + 0.2 * nx, my + 0.2 * ny, text, color=color, fontsize=9, ha=ha, va=va,
            zorder=4, bbox=dict(facecolor="white", edgecolor="none", alpha=0.85, pad=0.5))


# ----------------------------------------------------------------------------- errors

def entry_errors(analytic, numeric):
    """|analytic - numeric| entry by entry, divided by the largest |entry| of either array.

    A relative error per entry on the scale of its array: an entry that is 0 in both is 0, and
    a tiny entry is not judged against itself (where rounding dominates) but against the
    array. Returns a flat float64 array."""
    a = np.asarray(analytic, dtype=np.float64).ravel()
    n = np.asarray(numeric, dtype=np.float64).ravel()
    if a.shape != n.shape:
        raise ValueError(f"shapes differ: {np.shape(analytic)} and {np.shape(numeric)}")
    scale = max(np.max(np.abs(a), initial=0.0), np.max(np.abs(n), initial=0.0))
    return np.zeros_like(a) if scale == 0 else np.abs(a - n) / scale


def draw_error_histogram(groups, threshold=1e-6, floor=1e-17):
    """Histogram of log10 errors, one colour per group. groups: {label: array of errors}.

    Errors below ``floor`` (exact agreement) are drawn at the floor, marked "equal". A vertical
    line marks the ``threshold`` above which an error means a bug. Returns a Figure."""
    fig, ax = plt.subplots(figsize=(7.5, 3.4))
    logs = {label: np.log10(np.maximum(np.asarray(e, dtype=float).ravel(), floor))
            for label, e in groups.items()}
    every = np.concatenate(list(logs.values()))
    bins = np.arange(np.floor(every.min()) - 0.25, max(np.ceil(every.max()), 0.0) + 0.5, 0.25)
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for i, (label, values) in enumerate(logs.items()):
        ax.hist(values, bins=bins, alpha=0.6, color=colors[i % len(colors)],
                label=f"{label} ({values.size} entries)")
    if np.any(every <= np.log10(floor)):
        ax.annotate("equal", (np.log10(floor), 0), xytext=(0, -22), textcoords="offset points",
                    ha="center", fontsize=8, color="0.3")
    ax.axvline(np.log10(threshold), color="black", lw=1.2, ls="--")
    ax.text(np.log10(threshold) + 0.1, ax.get_ylim()[1] * 0.92, f"{threshold:g}: a bug above",
            fontsize=8.5)
    ax.set_xlabel(r"$\log_{10}$ |hand-written $-$ finite difference| / largest entry")
    ax.set_ylabel("number of gradient entries")
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(0.08, 1.0))
    fig.tight_layout()
    return fig


# ----------------------------------------------------------------------------- the step h

STEPS = tuple(float(h) for h in np.logspace(-12, -1, 23))  # half decades, 1e-12 ... 1e-1


def tiny_vae(dtype=np.float64, activation="relu"):
    """(model, x, eps): a 12-8-3 VAE (seed 0), 5 images of 12 pixels, fixed noise, in dtype."""
    model = VAE(input_dim=12, hidden=(8,), latent_dim=3, dtype=dtype, seed=0,
                activation=activation)
    rng = np.random.default_rng(7)
    x = rng.random((5, 12)).astype(dtype)
    eps = rng.standard_normal((5, 3)).astype(dtype)
    return model, x, eps


def central_difference(f, p, h, indices):
    """(f(p + h e_i) - f(p - h e_i)) / (2 h) at the flat positions ``indices`` of the array p
    (changed in place, then restored), in p's own dtype: unlike ``vaelite.gradcheck``, float32
    is allowed, to show what it costs. Returns a float64 array of len(indices)."""
    out = np.empty(len(indices))
    for k, i in enumerate(indices):
        j = np.unravel_index(i, p.shape)
        old = p[j]
        p[j] = old + p.dtype.type(h)
        f_plus = f()
        p[j] = old - p.dtype.type(h)
        f_minus = f()
        p[j] = old
        out[k] = (f_plus - f_minus) / (2 * h)
    return out


@functools.lru_cache(maxsize=16)
def _step_errors(steps, dtype_name, activation, per_array, seed):
    dtype = np.dtype(dtype_name)
    model, x, eps = tiny_vae(dtype, activation)
    # the exact gradient at the same (rounded) point: the float64 model's backprop
    exact_model, _, _ = tiny_vae(np.float64, activation)
    for (_, p64, _), (_, p, _) in zip(exact_model.parameters(), model.parameters()):
        p64[...] = p
    exact_model.loss_and_grads(x.astype(np.float64), eps=eps.astype(np.float64))
    rng = np.random.default_rng(seed)
    picks = []
    for (_, p, _), (_, _, g) in zip(model.parameters(), exact_model.parameters()):
        idx = rng.choice(p.size, min(per_array, p.size), replace=False)
        picks.append((p, idx, g.reshape(-1)[idx].copy()))
    exact = np.concatenate([g for _, _, g in picks])

    def loss():
        return model.loss(x, eps=eps)["loss"]

    errors = []
    for h in steps:
        numeric = np.concatenate([central_difference(loss, p, h, idx) for p, idx, _ in picks])
        errors.append(relative_error(exact, numeric))
    return np.array(errors)


def step_errors(steps=STEPS, dtype=np.float64, activation="relu", per_array=4, seed=0):
    """Relative error (``gradcheck.relative_error``) of central differences against backprop
    for the tiny VAE of ``tiny_vae``, at each step h in ``steps``, over ``per_array`` random
    entries of every parameter array. Returns an array like steps (cached)."""
    steps = tuple(float(h) for h in steps)
    if any(not h > 0 for h in steps):
        raise ValueError(f"every step h must be positive, got {steps}")
    return _step_errors(steps, np.dtype(dtype).name, activation, int(per_array),
                        int(seed)).copy()


def fit_slope(steps, errors, lo, hi):
    """Slope of log10(error) against log10(h) by least squares, over lo <= h <= hi."""
    steps, errors = np.asarray(steps, dtype=float), np.asarray(errors, dtype=float)
    keep = (steps >= lo) & (steps <= hi) & (errors > 0)
    if keep.sum() < 2:
        raise ValueError(f"need at least two steps with positive errors in [{lo:g}, {hi:g}]")
    return float(np.polyfit(np.log10(steps[keep]), np.log10(errors[keep]), 1)[0])


def shared_digits(a, b, digits=16):
    """How many leading significant digits a and b share when both are written with
    ``digits`` significant digits (the same exponent assumed, as for L(w + h) and L(w - h))."""
    sa, sb = (f"{abs(v):.{digits - 1}e}".split("e")[0].replace(".", "") for v in (a, b))
    n = 0
    while n < len(sa) and sa[n] == sb[n]:
        n += 1
    return n


def draw_step_error(h, steps=STEPS):
    """Left: the measured error of central differences against h (float64 and float32), with
    the chosen h marked. Right: the two losses L(w + h), L(w - h) of float64 whose difference
    the quotient divides by 2h, and how many digits cancel. Returns a Figure."""
    h = float(h)
    if h <= 0:
        raise ValueError(f"h must be positive, got {h}")
    fig, (ax, ax_text) = plt.subplots(1, 2, figsize=(9.5, 3.6),
                                      gridspec_kw={"width_ratios": [1.35, 1]})
    for dtype, style, color in [(np.float64, "o-", "tab:blue"), (np.float32, "s-", "tab:orange")]:
        errors = step_errors(steps, dtype)
        ax.loglog(steps, errors, style, color=color, ms=3.5, lw=1, label=np.dtype(dtype).name)
        on_grid = np.isclose(steps, h, rtol=1e-9, atol=0)
        at_h = errors[on_grid][0] if on_grid.any() else step_errors((h,), dtype)[0]
        ax.loglog([h], [at_h], "o", ms=10, mfc="none", mec="black", mew=1.5)
    # guides parallel to the measured float64 curve, a factor 20 below it: slopes 2 and -1
    errors = step_errors(steps, np.float64)
    best = int(np.argmin(errors))
    for k, power, text in [(min(best + 4, len(steps) - 1), 2, r"$\propto h^2$: truncation"),
                           (max(best - 8, 0), -1, r"$\propto 1/h$: rounding")]:
        span = steps[k] * np.array([0.1, 10.0])
        guide = errors[k] / 20 * (span / steps[k]) ** power
        ax.loglog(span, guide, "--", color="0.35", lw=1.2)
        ax.text(span[0] if power > 0 else steps[k], guide.min() / 2, text, fontsize=8,
                color="0.3", ha="left", va="top")
    ax.axvline(h, color="black", lw=0.8, ls=":")
    ax.set(xlabel="step $h$", ylabel="relative error of the gradient",
           title="central differences against backprop (tiny VAE)")
    ax.legend(fontsize=8, loc="lower left")
    ax.grid(True, which="major", alpha=0.3)

    model, x, eps = tiny_vae(np.float64)
    w = model.decoder.parameters()[-1][1]  # the decoder's output bias
    grad_model, _, _ = tiny_vae(np.float64)
    grad_model.loss_and_grads(x, eps=eps)
    exact = grad_model.decoder.parameters()[-1][2][0]

    def loss():
        return model.loss(x, eps=eps)["loss"]

    old = w[0]
    w[0] = old + h
    plus = loss()
    w[0] = old - h
    minus = loss()
    w[0] = old
    quotient = (plus - minus) / (2 * h)
    same = shared_digits(plus, minus)
    lines = ["what the quotient divides by 2h:",
             f"one weight w (float64), h = {h:.0e}",
             "",
             f"L(w + h)    = {plus:.15e}",
             f"L(w - h)    = {minus:.15e}",
             f"              {'^' * (same + (1 if same > 1 else 0))}",
             f"{same} of 16 digits cancel in the difference",
             "",
             f"quotient    = {quotient: .10e}",
             f"backprop    = {exact: .10e}",
             f"rel. error  = {abs(quotient - exact) / abs(exact):.1e}"]
    ax_text.text(0.0, 0.95, "\n".join(lines), family="monospace", fontsize=8.5, va="top",
                 transform=ax_text.transAxes)
    ax_text.axis("off")
    fig.tight_layout()
    return fig
