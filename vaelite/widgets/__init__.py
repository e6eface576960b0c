"""Explorers with a slider: live in Jupyter, precomputed in the HTML book.

Write the picture as a plain function that returns a matplotlib Figure, then show it twice:

    def draw(sigma):                      # plain, testable: value(s) in, Figure out
        fig, ax = plt.subplots(figsize=(5, 3))
        ...
        return fig

    live(draw, sigma=(0.2, 3.0, 0.2))     # cell tagged remove-output: a live ipywidgets slider
    slider_frames(draw, [0.5, 1, 2, 3], label="sigma")   # cell tagged remove-input: the book's
                                          # stand-in, one PNG frame per value behind a slider

The HTML book has no Python kernel, so a live widget could only show its saved state there;
the stand-in is a small self-contained HTML/JavaScript player that loads nothing from the
network.
"""
import base64
import hashlib
import html
import io
import json

import matplotlib.pyplot as plt
from matplotlib.figure import Figure

__all__ = ["render_frame", "slider_frames", "SliderFrames", "live", "unique_scripts"]


def render_frame(fig, dpi=80):
    """A Figure as a PNG data URI; the figure is closed afterwards."""
    if not isinstance(fig, Figure):
        raise TypeError(f"draw() must return a matplotlib Figure, got {type(fig).__name__}")
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def slider_frames(draw, values, label="value", fmt="{:g}", dpi=80, start=None, max_frames=15):
    """Precompute draw(v) for each v in values; return an HTML slider over the frames.

    draw:   function value -> matplotlib Figure
    values: the slider positions (at most max_frames, to keep pages light)
    label:  the name shown beside the slider, e.g. "sigma"
    fmt:    how a value is printed
    start:  index of the frame shown first (default: the middle one)
    """
    values = list(values)
    if not values:
        raise ValueError("slider_frames needs at least one value")
    if len(values) > max_frames:
        raise ValueError(f"{len(values)} frames is too many for a light page "
                         f"(max_frames={max_frames})")
    frames = [render_frame(draw(v), dpi=dpi) for v in values]
    labels = [_format(fmt, v) for v in values]
    start = len(values) // 2 if start is None else start
    return SliderFrames(frames, labels, label, start)


def _format(fmt, value):
    try:
        return fmt.format(value)
    except (ValueError, TypeError):
        return str(value)


class SliderFrames:
    """Precomputed frames behind an <input type="range">; displays itself as HTML."""

    def __init__(self, frames, labels, label, start=0):
        self.frames, self.labels, self.label = frames, labels, label
        self.start = start

    def __repr__(self):
        kb = sum(len(f) for f in self.frames) / 1024
        return f"<SliderFrames {self.label}: {len(self.frames)} frames, {kb:.0f} kB>"

    def _repr_html_(self):
        uid = "vaelite-slider-" + hashlib.sha1("".join(self.frames).encode()).hexdigest()[:10]
        label = html.escape(self.label)
        last = len(self.frames) - 1
        return f"""<div class="vaelite-slider" id="{uid}">
<img src="{self.frames[self.start]}" alt="figure for {label} = {html.escape(self.labels[self.start])}" style="max-width:100%">
<div style="display:flex;align-items:center;gap:0.8em;font-family:sans-serif">
<label for="{uid}-range">{label} =</label><output style="min-width:4em">{html.escape(self.labels[self.start])}</output>
<input id="{uid}-range" type="range" min="0" max="{last}" step="1" value="{self.start}" style="flex:1;max-width:320px">
</div>
<script>
(function () {{
  var root = document.getElementById("{uid}");
  var frames = {json.dumps(self.frames)};
  var labels = {json.dumps(self.labels)};
  var img = root.querySelector("img"), out = root.querySelector("output");
  root.querySelector("input").addEventListener("input", function () {{
    img.src = frames[this.value];
    out.textContent = labels[this.value];
    img.alt = "figure for {label} = " + labels[this.value];
  }});
}})();
</script>
</div>"""


def live(draw, **sliders):
    """A live ipywidgets explorer: one slider per keyword argument, redrawn on release.

    Each keyword is a parameter of draw: a (min, max, step) tuple gives a slider,
    a list of values a SelectionSlider, and an ipywidgets widget is used as it is.
    """
    import ipywidgets
    from IPython.display import display

    controls = {}
    for name, spec in sliders.items():
        if isinstance(spec, ipywidgets.Widget) or isinstance(spec, tuple):
            controls[name] = spec
        else:
            options = list(spec)
            controls[name] = ipywidgets.SelectionSlider(
                options=options, value=options[len(options) // 2], description=name)

    def show(**kwargs):
        fig = draw(**kwargs)
        display(fig)
        plt.close(fig)  # shown once, not again at the end of the cell

    explorer = ipywidgets.interactive(show, **controls)
    for control in explorer.children[:-1]:
        if hasattr(control, "continuous_update"):
            control.continuous_update = False  # redraw when the slider is released
    return explorer


def unique_scripts(scripts):
    """The script entries of a page without repeats, in their first order.

    Two entries are the same script when they have the same file (an inline script has the
    file None or "") and the same attributes, its body included.
    """
    seen, unique = set(), []
    for script in scripts:
        filename = getattr(script, "filename", script) or ""
        attributes = getattr(script, "attributes", {})
        key = (str(filename), tuple(sorted((k, str(v)) for k, v in attributes.items())))
        if key not in seen:
            seen.add(key)
            unique.append(script)
    return unique


def setup(app):
    """Sphinx extension (listed in _config.yml): keep the pages' scripts clean.

    - When the book is built, each live() widget saves its state in the notebook (tens of kB
      a page). The HTML book shows the static stand-ins instead, so drop that state.
    - Every script once: Sphinx 7.4 adds an inline script that an extension registers after
      the builder started (sphinx-thebe's ``const THEBE_JS_URL = ...``, loaded by Jupyter
      Book's launch buttons) a second time, and a second ``const`` of the same name is a
      SyntaxError on every page load.
    """
    def drop_widget_state(app, pagename, *args):
        page = getattr(app.env, "nb_metadata", {}).get(pagename, {})
        page.get("js_files", {}).pop("ipywidgets_state", None)

    def drop_repeated_scripts(app, pagename, templatename, context, doctree):
        scripts = context.get("script_files")
        if scripts:
            scripts[:] = unique_scripts(scripts)  # the builder restores its list after the page

    app.connect("html-page-context", drop_widget_state, priority=400)  # before myst-nb (500)
    app.connect("html-page-context", drop_repeated_scripts, priority=900)  # after the others
    return {"parallel_read_safe": True, "parallel_write_safe": True}
