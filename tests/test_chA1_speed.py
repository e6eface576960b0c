"""Tests of chapter 7's helpers, widget functions and exercises (where the time goes)."""
import tracemalloc

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

import vaelite  # noqa: E402
from vaelite import benchmark as tt  # noqa: E402
from vaelite import losses  # noqa: E402
from vaelite.exercises import chA1_speed as ex  # noqa: E402
from vaelite.backends import make_backend  # noqa: E402
from vaelite.widgets import chA1_speed as w  # noqa: E402

adam_update_reference = make_backend("numpy").adam_update


PARAMS = {
    "flops_per_sample": 3.28e6,
    "gemm_batches": [16, 128, 1024],
    "gemm_gflops": [20.0, 40.0, 50.0],
    "numpy": {"elementwise_s_per_sample": 40e-6, "adam_s": 4e-3},
    "numba": {"elementwise_s_per_sample": 10e-6, "adam_s": 1e-3},
}


# ---------------------------------------------------------------- exercises

@pytest.mark.parametrize("hidden, latent, batch", [((400,), 20, 128), ((512, 256), 32, 512),
                                                   ((7, 5, 3), 2, 1), ((), 4, 9)])
def test_step_flops_matches_the_benchmark(hidden, latent, batch):
    assert ex.step_flops(hidden, latent, batch) == tt.gemm_flops(hidden, latent, batch)


def test_step_flops_is_linear_in_the_batch():
    assert ex.step_flops((400,), 20, 256) == 2 * ex.step_flops((400,), 20, 128)
    assert ex.step_flops((400,), 20, 1) == 3_280_000


@pytest.mark.parametrize("dtype, t", [(np.float64, 1), (np.float64, 50), (np.float32, 3)])
def test_buffered_adam_matches_the_reference(dtype, t):
    rng = np.random.default_rng(t)
    p, g, m = (rng.standard_normal((30, 7)).astype(dtype) for _ in range(3))
    v = rng.random((30, 7)).astype(dtype)
    ref = [a.copy() for a in (p, g, m, v)]
    adam_update_reference(*ref, 1e-3, 0.9, 0.999, 1e-8, t)
    buf = np.empty_like(p)
    out = ex.adam_step_buffered(p, g, m, v, buf, 1e-3, 0.9, 0.999, 1e-8, t)
    assert out[0] is p and out[1] is m and out[2] is v  # in place
    rtol = 1e-6 if dtype == np.float32 else 1e-12
    for got, want in zip((p, m, v), (ref[0], ref[2], ref[3])):
        np.testing.assert_allclose(got, want, rtol=rtol, atol=1e-7 if dtype == np.float32 else 0)


def test_buffered_adam_allocates_nothing_large():
    rng = np.random.default_rng(0)
    p, g, m = (rng.standard_normal(200_000) for _ in range(3))
    v = rng.random(200_000)
    buf = np.empty_like(p)
    ex.adam_step_buffered(p, g, m, v, buf, 1e-3, 0.9, 0.999, 1e-8, 1)
    tracemalloc.start()
    ex.adam_step_buffered(p, g, m, v, buf, 1e-3, 0.9, 0.999, 1e-8, 2)
    peak_buffered = tracemalloc.get_traced_memory()[1]
    tracemalloc.reset_peak()
    adam_update_reference(p, g, m, v, 1e-3, 0.9, 0.999, 1e-8, 3)
    peak_reference = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak_buffered < 10_000 < p.nbytes <= peak_reference


def test_one_pass_bernoulli_matches_the_library():
    rng = np.random.default_rng(1)
    logits = rng.normal(scale=5.0, size=(16, 784))
    x = rng.random((16, 784))
    value, grad = ex.bernoulli_nll_one_pass(logits, x)
    with vaelite.use_backend("numpy"):
        want_value, want_grad = losses.bernoulli_nll(logits, x)
    assert np.isclose(value, want_value, rtol=1e-12)
    np.testing.assert_allclose(grad, want_grad, rtol=1e-12, atol=1e-15)


def test_one_pass_bernoulli_is_finite_for_huge_logits():
    logits = np.array([[1e4, -1e4, 0.0]])
    value, grad = ex.bernoulli_nll_one_pass(logits, np.array([[0.0, 0.0, 1.0]]))
    assert np.isclose(value, 1e4 + np.log(2.0))
    np.testing.assert_allclose(grad, [[1.0, 0.0, -0.5]])


# ---------------------------------------------------------------- the step-time model

def test_model_parts_add_up_and_scale():
    parts = w.step_time_model(128, PARAMS, "numpy")
    assert set(parts) == set(w.PARTS)
    assert np.isclose(parts["GEMM"], 3.28e6 * 128 / 40e9)  # 128 is a measured batch
    assert np.isclose(parts["elementwise"], 128 * 40e-6)
    assert parts["Adam"] == 4e-3
    # between measured batches, GFLOP/s are interpolated in log2(batch)
    assert np.isclose(w.step_time_model(362, PARAMS, "numba")["GEMM"],
                      3.28e6 * 362 / (1e9 * (40 + 10 * np.log2(362 / 128) / 3)))
    # outside, they are held constant
    assert np.isclose(w.step_time_model(4096, PARAMS, "numba")["GEMM"], 3.28e6 * 4096 / 50e9)


def test_speeds_stay_below_the_bound_and_adam_is_amortised():
    for batch in (8, 16, 128, 1000, 2048):
        s = w.speeds(batch, PARAMS)
        assert s["numpy"] < s["numba"] < s["GEMM bound"]
        total = sum(w.step_time_model(batch, PARAMS, "numba").values())
        assert np.isclose(s["numba"], batch / total)
    per_example = [w.step_time_model(b, PARAMS, "numba")["Adam"] / b for b in (16, 128, 1024)]
    assert per_example[0] > per_example[1] > per_example[2]


def test_model_rejects_a_bad_batch():
    with pytest.raises(ValueError):
        w.step_time_model(0, PARAMS, "numpy")


@pytest.mark.parametrize("batch", [16, 128, 1024])
def test_draw_batch_model_returns_a_figure(batch):
    fig = w.draw_batch_model(batch, PARAMS)
    assert isinstance(fig, Figure) and len(fig.axes) == 2
    assert f"batch {batch}" in fig.axes[0].get_title()
    plt.close(fig)


def test_side_by_side_shows_both_sources():
    from vaelite.kernels import adam
    shown = w.side_by_side(adam_update_reference, adam.adam_update_numba)
    html = shown._repr_html_()
    assert "adam_update" in html and "adam_update_numba" in html
    assert "def adam_update(self" in repr(shown) and "for i in range" in repr(shown)


@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_time_step_parts_times_a_real_step(backend):
    x = np.random.default_rng(0).random((64, 784), dtype=np.float32)
    before = vaelite.get_backend()
    parts = w.time_step_parts(backend, x, hidden=(16,), latent=2, batch=8, steps=3, warmup=1)
    assert set(parts) == {"data", "forward+backward", "Adam", "total"}
    assert all(v > 0 for v in parts.values())
    assert np.isclose(parts["total"], parts["data"] + parts["forward+backward"] + parts["Adam"])
    assert vaelite.get_backend() == before  # the backend is restored afterwards
