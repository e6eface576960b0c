"""Helpers and widget of chapter 7, "Where the time goes": the parts of a training step.

- ``time_step_parts``: times the data, forward+backward and Adam parts inside real training
  steps of a VAE under one backend;
- ``step_time_model`` / ``speeds``: a three-term model of the time of one step as a function of
  the batch size (matrix products at a measured GEMM throughput, elementwise work proportional
  to the batch, Adam proportional to the number of parameters);
- ``draw_batch_model``: the widget's figure (samples/s against batch size, and where the time of
  one example goes at the chosen batch);
- ``side_by_side``: two functions' source next to each other (a reference and its twin).

The model's parameters are measured in the chapter on the reader's machine; the plain
functions here only do arithmetic and drawing (and are what the tests check).
"""
import html
import inspect
import statistics
import textwrap
import time

import matplotlib.pyplot as plt
import numpy as np

__all__ = ["time_step_parts", "step_time_model", "speeds", "draw_batch_model", "side_by_side",
           "PARTS", "BACKENDS"]

PARTS = ("GEMM", "elementwise", "Adam")
BACKENDS = ("numpy", "numba")
COLORS = {"GEMM": "tab:blue", "elementwise": "tab:orange", "Adam": "tab:green",
          "data": "tab:purple", "numpy": "tab:gray", "numba": "tab:red", "bound": "k"}


# ------------------------------------------------------------------------------ measuring

def time_step_parts(backend, x_train, hidden=(400,), latent=20, batch=128, steps=30,
                    warmup=5, seed=0):
    """Seconds of each part of one training step of a VAE under ``backend`` (median over
    ``steps`` timed steps, after ``warmup`` untimed ones).

    The parts are the benchmark's training step cut in three: "data" (draw a minibatch and
    binarize it with fresh uniform noise), "forward+backward" (``model.loss_and_grads``, which
    includes the matrix products) and "Adam" (``opt.step()``). Returns a dict of floats
    with those keys and "total" (the sum of the three medians).
    """
    import vaelite

    model = vaelite.VAE(hidden=tuple(hidden), latent_dim=latent, seed=seed)
    opt = vaelite.Adam(model.parameters(), lr=1e-3)
    rng = np.random.default_rng(seed)
    n = len(x_train)
    times = {"data": [], "forward+backward": [], "Adam": []}
    with vaelite.use_backend(backend) as be:
        for i in range(warmup + steps):
            t0 = time.perf_counter()
            x = x_train[rng.integers(0, n, batch)]
            xb = be.binarize(x, rng)
            t1 = time.perf_counter()
            model.loss_and_grads(xb, rng)
            t2 = time.perf_counter()
            opt.step()
            t3 = time.perf_counter()
            if i >= warmup:
                times["data"].append(t1 - t0)
                times["forward+backward"].append(t2 - t1)
                times["Adam"].append(t3 - t2)
    out = {k: statistics.median(v) for k, v in times.items()}
    out["total"] = sum(out.values())
    return out


# ------------------------------------------------------------------------------ the model

def step_time_model(batch, params, backend):
    """Modelled seconds of each part of one training step at batch size ``batch``.

    params: a dict with
      "flops_per_sample": FLOPs of the matrix products of one step divided by the batch size
                          (they grow linearly with the batch);
      "gemm_batches", "gemm_gflops": measured GEMM throughput (GFLOP/s) at a few batch sizes,
                          interpolated linearly in log2(batch) (held constant outside);
      backend: {"elementwise_s_per_sample": seconds of everything but the products and Adam,
                per example; "adam_s": seconds of one Adam update of every parameter (it does
                not depend on the batch)}.
    Returns {"GEMM": s, "elementwise": s, "Adam": s}.
    """
    if not batch >= 1:
        raise ValueError(f"batch must be >= 1, got {batch}")
    gflops = np.interp(np.log2(batch), np.log2(params["gemm_batches"]), params["gemm_gflops"])
    own = params[backend]
    return {"GEMM": params["flops_per_sample"] * batch / (gflops * 1e9),
            "elementwise": own["elementwise_s_per_sample"] * batch,
            "Adam": own["adam_s"]}


def speeds(batch, params):
    """Modelled samples/s of each backend, and the GEMM bound batch / (time of the products)."""
    out = {}
    for backend in BACKENDS:
        out[backend] = batch / sum(step_time_model(batch, params, backend).values())
    out["GEMM bound"] = batch / step_time_model(batch, params, BACKENDS[0])["GEMM"]
    return out


BATCH_GRID = 2.0 ** np.arange(4, 11.01, 0.25)  # 16 ... 2048


def draw_batch_model(batch, params):
    """Left: modelled samples/s against the batch size (both backends and the GEMM bound), the
    chosen batch marked. Right: microseconds per example at that batch, by part."""
    grid = {name: np.array([speeds(b, params)[name] for b in BATCH_GRID])
            for name in (*BACKENDS, "GEMM bound")}
    here = speeds(batch, params)
    fig, (ax, bx) = plt.subplots(1, 2, figsize=(9, 3.4), gridspec_kw={"width_ratios": [3, 2]})
    fig.subplots_adjust(left=0.09, right=0.98, bottom=0.16, top=0.86, wspace=0.42)
    for name, style in (("GEMM bound", "--"), ("numba", "-"), ("numpy", "-")):
        color = COLORS["bound" if name == "GEMM bound" else name]
        ax.plot(BATCH_GRID, grid[name], style, color=color, label=name)
        ax.plot([batch], [here[name]], "o", color=color)
    ax.axvline(batch, color="0.8", lw=1, zorder=0)
    ax.set_xscale("log", base=2)
    ax.set(xlabel="batch size", ylabel="samples / s (model)",
           ylim=(0, 1.08 * grid["GEMM bound"].max()), xlim=(BATCH_GRID[0], BATCH_GRID[-1]))
    ax.legend(loc="lower right", fontsize=8, frameon=False)
    ax.set_title(f"batch {batch:g}: numba at {here['numba'] / here['GEMM bound']:.0%} "
                 f"of the GEMM bound", fontsize=10)

    # microseconds per example, by part, at the chosen batch
    worst = max(sum(step_time_model(b, params, k).values()) / b
                for b in BATCH_GRID for k in BACKENDS)
    for row, backend in enumerate(BACKENDS):
        left = 0.0
        for part, seconds in step_time_model(batch, params, backend).items():
            width = 1e6 * seconds / batch
            bx.barh(row, width, left=left, color=COLORS[part],
                    label=part if row == 0 else None)
            left += width
    bx.set(yticks=range(len(BACKENDS)), yticklabels=BACKENDS, ylim=(-0.6, 2.2),
           xlim=(0, 1.05e6 * worst), xlabel="µs per example")
    bx.legend(loc="upper right", fontsize=8, frameon=False, ncol=3)
    bx.set_title("where one example's time goes", fontsize=10)
    return fig


# ------------------------------------------------------------------------------ sources

class SideBySide:
    """Sources of two functions in two columns (HTML), or one after the other (text)."""

    def __init__(self, left, right, titles=None):
        self.items = []
        for func, title in zip((left, right), titles or (None, None)):
            source = textwrap.dedent(inspect.getsource(func)).rstrip() + "\n"
            module = getattr(func, "__module__", "")
            self.items.append((title or f"{module}.{func.__name__}", source))

    def __repr__(self):
        return "\n".join(f"# --- {title}\n{source}" for title, source in self.items)

    def _repr_html_(self):
        try:
            from pygments import highlight
            from pygments.formatters import HtmlFormatter
            from pygments.lexers import PythonLexer
            formatter = HtmlFormatter(cssclass="highlight")

            def code(source):
                return highlight(source, PythonLexer(), formatter)
            style = "<style>" + "\n".join(
                formatter.get_token_style_defs(".vaelite-side .highlight")) + "</style>"
        except ImportError:
            def code(source):
                return f"<pre>{html.escape(source)}</pre>"
            style = ""
        columns = "".join(
            '<div style="flex:1 1 38em;min-width:0;overflow-x:auto">'
            f'<div style="font-weight:600;font-size:90%">{html.escape(title)}</div>'
            f"{code(source)}</div>" for title, source in self.items)
        return (f'{style}<div class="vaelite-side" style="display:flex;flex-wrap:wrap;'
                f'gap:1em;font-size:85%">{columns}</div>')


def side_by_side(left, right, titles=None):
    """Show the source of two functions next to each other (e.g. a kernel's NumPy reference
    and its Numba twin), read from the library with ``inspect.getsource``."""
    return SideBySide(left, right, titles)
