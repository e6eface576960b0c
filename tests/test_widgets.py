"""The widget framework: precomputed slider frames for the book, live sliders for Jupyter."""
import base64

import ipywidgets
import matplotlib.pyplot as plt
import numpy as np
import pytest

from vaelite.widgets import SliderFrames, live, render_frame, slider_frames, unique_scripts

PNG_MAGIC = b"\x89PNG"


def draw_line(slope):
    fig, ax = plt.subplots(figsize=(3, 2))
    x = np.linspace(0, 1, 10)
    ax.plot(x, slope * x)
    return fig


def test_render_frame_is_a_png_data_uri_and_closes_the_figure():
    uri = render_frame(draw_line(1.0), dpi=40)
    assert uri.startswith("data:image/png;base64,")
    assert base64.b64decode(uri.split(",", 1)[1])[:4] == PNG_MAGIC
    assert plt.get_fignums() == []


def test_render_frame_rejects_what_is_not_a_figure():
    with pytest.raises(TypeError, match="Figure"):
        render_frame(None)


def test_slider_frames_one_frame_per_value():
    player = slider_frames(draw_line, [0.0, 0.5, 1.0, 2.0], label="slope", dpi=40)
    assert isinstance(player, SliderFrames)
    assert len(player.frames) == 4 and player.labels == ["0", "0.5", "1", "2"]
    assert player.start == 2
    assert len(set(player.frames)) == 4  # each value draws a different picture
    assert plt.get_fignums() == []       # no figure left open to be shown again
    assert "4 frames" in repr(player)


def test_slider_html_is_self_contained():
    page = slider_frames(draw_line, [1, 2, 3], label="slope", dpi=40, start=0)._repr_html_()
    assert page.count("data:image/png;base64,") == 1 + 3  # the first image, then all frames
    assert 'type="range"' in page and 'max="2"' in page and 'value="0"' in page
    assert "slope" in page
    assert "http" not in page  # nothing loaded from the network


def test_slider_html_ids_are_unique_per_player():
    a = slider_frames(draw_line, [1, 2], dpi=40)._repr_html_()
    b = slider_frames(draw_line, [3, 4], dpi=40)._repr_html_()
    assert a.split('id="')[1].split('"')[0] != b.split('id="')[1].split('"')[0]


def test_slider_frames_limits():
    with pytest.raises(ValueError, match="at least one"):
        slider_frames(draw_line, [])
    with pytest.raises(ValueError, match="too many"):
        slider_frames(draw_line, range(16))
    assert len(slider_frames(draw_line, range(3), fmt="{:.2f}", dpi=20).labels) == 3


def test_labels_fall_back_to_str():
    player = slider_frames(lambda name: draw_line(1.0), ["a", "b"], fmt="{:.2f}", dpi=20)
    assert player.labels == ["a", "b"]


def test_live_builds_one_control_per_parameter():
    calls = []

    def draw(slope, style):
        calls.append((slope, style))
        return draw_line(slope)

    explorer = live(draw, slope=(0.0, 2.0, 0.5), style=["a", "b", "c"])
    assert isinstance(explorer, ipywidgets.interactive)
    slope, style = explorer.children[:2]
    assert isinstance(slope, ipywidgets.FloatSlider)
    assert (slope.min, slope.max, slope.step) == (0.0, 2.0, 0.5)
    assert isinstance(style, ipywidgets.SelectionSlider) and style.value == "b"
    assert not slope.continuous_update
    assert calls == [(slope.value, "b")]  # drawn once on creation
    style.value = "c"
    assert calls[-1] == (slope.value, "c")  # and again when a control moves
    assert plt.get_fignums() == []


def test_live_accepts_a_widget():
    slider = ipywidgets.IntSlider(min=1, max=3, value=2, description="slope")
    explorer = live(draw_line, slope=slider)
    assert explorer.children[0] is slider


def test_sphinx_extension_drops_saved_widget_state():
    import types

    import vaelite.widgets

    handlers = []
    app = types.SimpleNamespace(connect=lambda event, fn, priority: handlers.append((event, fn)))
    assert vaelite.widgets.setup(app)["parallel_read_safe"]
    (event, drop), (event2, dedupe) = handlers
    assert event == event2 == "html-page-context"
    js_files = {"ipywidgets_state": (None, {}), "other": ("x.js", {})}
    app.env = types.SimpleNamespace(nb_metadata={"book/ch": {"js_files": js_files}})
    drop(app, "book/ch", "page.html", {}, None)
    drop(app, "book/no_notebook", "page.html", {}, None)
    assert list(js_files) == ["other"]
    context = {"script_files": ["a.js", "b.js", "a.js"]}   # the page's list, changed in place
    scripts = context["script_files"]
    dedupe(app, "book/ch", "page.html", context, None)
    assert scripts == ["a.js", "b.js"] and context["script_files"] is scripts
    dedupe(app, "genindex", "page.html", {}, None)          # a page without scripts


def test_unique_scripts_keeps_one_copy_of_a_repeated_inline_script():
    # what Sphinx 7.4 hands a page: sphinx-thebe's inline script twice (file None, then "")
    from sphinx.builders.html._assets import _JavaScript

    body = 'const THEBE_JS_URL = "x"'
    scripts = [_JavaScript("a.js"), _JavaScript(None, body=body), _JavaScript("b.js"),
               _JavaScript("", body=body), _JavaScript("a.js"), _JavaScript(None, body="other")]
    kept = unique_scripts(scripts)
    assert [s.filename for s in kept] == ["a.js", None, "b.js", None]
    assert sum(s.attributes.get("body") == body for s in kept) == 1
