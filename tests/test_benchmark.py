"""vaelite.benchmark and the workers in benchmarks/: arithmetic, statistics, the table, and a
tiny end-to-end run with every implementation in its own process (no timing assertions; the
figures themselves are measured by running benchmarks/train_throughput.py)."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from vaelite import benchmark as bm


def test_importing_the_module_imports_nothing_heavy():
    code = ("import sys, vaelite.benchmark; "
            "print([m for m in ('torch', 'numba', 'cupy') if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=str(bm.ROOT))
    assert out.stdout.strip() == "[]"


def test_gemm_flops_of_one_step():
    # 784-400-20: forward and weight gradient of every layer, input gradient of all but the
    # encoder's first (its input is data)
    first = 2 * 2 * 128 * 784 * 400
    rest = 3 * 2 * 128 * (400 * 40 + 20 * 400 + 400 * 784)
    assert bm.gemm_flops((400,), 20, 128) == first + rest == 419_840_000
    assert bm.layer_shapes((512, 256), 32) == [(784, 512), (512, 256), (256, 64), (32, 256),
                                               (256, 512), (512, 784)]


def test_paired_ratios_and_medians():
    a = [100.0, 300.0, 200.0, 120.0]  # a slow phase in repeat 0 hits both
    b = [50.0, 200.0, 100.0, 100.0]
    assert bm.paired_ratios(a, b) == [2.0, 1.5, 2.0, 1.2]
    assert bm.paired_ratio(a, b) == pytest.approx(1.75)  # median of 1.2, 1.5, 2, 2
    assert bm.median(a) / bm.median(b) == pytest.approx(160 / 100)  # ratio of medians differs
    assert bm.median([3.0, 1.0, 2.0]) == 2.0
    with pytest.raises(ValueError):
        bm.paired_ratios([1.0, 2.0], [1.0])
    with pytest.raises(ValueError):
        bm.median([])


def made_up_results():
    rows = []
    speeds = {"numpy": [100.0, 90.0, 110.0], "numba": [150.0, 160.0, 120.0],
              "pytorch": [100.0, 80.0, 90.0], "pytorch-fused": [110.0, 100.0, 90.0]}
    for impl, s in speeds.items():
        med = float(np.median(s))
        rows.append({"model": "784-400-20", "batch": 128, "threads": 2, "impl": impl,
                     "samples_per_s": med, "step_ms": 1.28e5 / med,
                     "samples_per_s_repeats": s, "gemm_bound_samples_per_s": 200.0,
                     "gemm_gflops": 50.0, "peak_mem_mib": 10.0, "peak_rss_mib": 100.0,
                     "final_neg_elbo": 120.0})
    return {"rows": bm.add_ratios(rows), "meta": {},
            "not_measured": [{"impl": "cupy", "reason": "no GPU"},
                             {"impl": "pytorch-cuda", "reason": "no GPU"}]}


def test_key_ratio_summary_and_table():
    results = made_up_results()
    # numba / pytorch per repeat: 1.5, 2.0, 1.33 -> median 1.5 (the ratio of medians: 150 / 90)
    assert bm.key_ratio(results) == pytest.approx(1.5)
    numba = results["rows"][1]
    assert numba["paired_ratios_to_pytorch"] == pytest.approx([1.5, 2.0, 120 / 90])
    assert numba["ratio_to_pytorch"] == pytest.approx(150 / 90)
    assert numba["ratio_to_gemm_bound"] == pytest.approx(0.75)
    assert bm.pair_ratio(results, "numba", "numpy") == pytest.approx(1.5)
    assert bm.pair_ratio(results, "numba", "cupy") is None
    summary = bm.summary_rows(results)
    assert summary[1]["paired_ratio_to_pytorch"] == 1.5
    table = bm.format_table(results)
    assert len(table.splitlines()) == 2 + len(results["rows"]) + 2
    assert "1.33-2.00" in table
    assert "cupy" in table and "pytorch-cuda" in table and "not measured (no GPU)" in table
    assert bm.key_line(results) == ("numba/pytorch samples/s ratio (784-400-20, batch 128, "
                                    "2 threads): 1.50")
    json.dumps(results)  # what --json writes


def test_results_round_trip(tmp_path):
    results = made_up_results()
    bm.save_results(results, tmp_path / "r.json")
    assert bm.key_ratio(bm.load_results(tmp_path / "r.json")) == pytest.approx(1.5)


def test_committed_results_load():
    paths = sorted((bm.ROOT / "benchmarks" / "results").glob("*.json"))
    assert paths
    for path in paths:
        results = bm.load_results(path)
        assert bm.key_ratio(results) > 0
        bm.format_table(bm.add_ratios(results["rows"]) and results)


def test_worker_trainers_compute_the_same_first_losses():
    """numpy and numba workers, same seed, see the same batches and noise: the same losses."""
    losses = {}
    for impl in ("numpy", "numba"):
        with bm.Worker(impl, threads=1) as w:
            w.call("setup", hidden=[32], latent=4, batch=16, warmup=0, seed=3)
            losses[impl] = w.call("losses", steps=3)["losses"]
            assert w.pid != os.getpid()
    np.testing.assert_allclose(losses["numba"], losses["numpy"], rtol=1e-4)


def test_tiny_run_end_to_end_one_process_per_impl(monkeypatch):
    monkeypatch.setitem(bm.MODELS, "tiny", ((16,), 4))
    results = bm.run_benchmark(threads=(1,), models=("tiny",), batches=(32,),
                               impls=("numpy", "numba"), repeats=2, min_time=0.01, warmup=1,
                               settle_s=0.05, verbose=False, measure_mem=False,
                               gpu={"cupy": False, "torch_cuda": False})
    rows = results["rows"]
    assert [r["impl"] for r in rows] == ["numpy", "numba"]
    pids = {r["impl"]: r["pid"] for r in rows}
    assert len(set(pids.values())) == 2 and os.getpid() not in pids.values()
    for r in rows:
        assert r["samples_per_s"] > 0 and len(r["samples_per_s_repeats"]) == 2
        assert r["ratio_to_pytorch"] is None  # no PyTorch in this run
        assert r["worker"]["env"]["OPENBLAS_NUM_THREADS"] == "1"
    # same seed, same computation: the two backends train to the same weights
    assert rows[0]["final_neg_elbo"] == pytest.approx(rows[1]["final_neg_elbo"], rel=1e-4)
    assert [e["impl"] for e in results["not_measured"]] == ["cupy", "pytorch-cuda"]
    table = bm.format_table(results)
    assert "not measured (no GPU)" in table
    assert bm.key_ratio(results) is None
    assert "at most" in bm.isolation_line(results)
    json.dumps(results)


# ---- the step profiler ----

def _tiny_run(backend, batch=8):
    """A run(n) function training a tiny VAE under ``backend`` (the object)."""
    import vaelite
    model = vaelite.VAE(hidden=(16,), latent_dim=4, seed=0)
    opt = vaelite.Adam(model.parameters())
    rng = np.random.default_rng(0)
    x = rng.random((batch, 784), dtype=np.float32)

    def run(n):
        for _ in range(n):
            model.loss_and_grads(backend.binarize(x, rng), rng)
            opt.step()
    return run


@pytest.mark.parametrize("name", ["numpy", "numba"])
def test_profile_step_splits_a_real_step(name):
    import vaelite
    if name == "numba":
        pytest.importorskip("numba")
    with vaelite.use_backend(name) as be:
        prof = bm.profile_step(_tiny_run(be), be, (16,), 4, 8, steps=5, repeats=2)
        assert not set(bm.PROFILED) & set(vars(be))  # the timing wrappers are gone again
    kernels = prof["kernels_s"]
    assert {"binarize", "standard_normal", "bias_act_forward", "bias_act_backward",
            "reparam_kl_forward", "reparam_kl_backward", "bernoulli_nll",
            "adam_step"} <= set(kernels)
    assert "adam_update" not in kernels  # called inside adam_step: counted once, by it
    assert all(v > 0 for v in kernels.values()) and prof["gemm_s"] > 0
    parts = bm.profile_parts(prof)
    assert list(parts) == list(bm.PROFILE_PARTS)
    assert sum(parts.values()) == pytest.approx(prof["total_s"])
    pairs = [g / t for g, t in zip(prof["gemm_s_blocks"], prof["total_s_blocks"])]
    assert prof["fraction_of_gemm_bound"] == pytest.approx(bm.median(pairs))  # paired blocks
    assert prof["python_calls_per_step"] > 20 and len(prof["total_s_blocks"]) == 2
    assert len(prof["gemm_s_blocks"]) == 2
    assert "of the GEMM bound" in bm.format_profile(prof)


def test_profiles_of_two_trees_side_by_side(monkeypatch):
    pytest.importorskip("numba")
    monkeypatch.setitem(bm.MODELS, "tiny", ((16,), 4))
    script = str(bm.WORKER_SCRIPT)
    results = bm.measure_profiles({"a": script, "b": script}, threads=(1,), model="tiny",
                                  batch=8, rounds=2, steps=3, repeats=1, warmup=1,
                                  settle_s=0.0, verbose=False)
    rows = results["rows"]
    assert sorted((r["label"], r["round"]) for r in rows) == [("a", 0), ("a", 1), ("b", 0),
                                                              ("b", 1)]
    assert all(r["library"] == str(bm.ROOT / "vaelite") for r in rows)
    summary = bm.summarize_profiles(results)
    assert set(summary) == {("a", 1), ("b", 1)}
    assert "paired_total_ratio" in summary[("b", 1)]
    assert "paired_total_ratio" not in summary[("a", 1)]
    ratios = [r["total_s"] for r in rows if r["label"] == "b"]
    assert summary[("b", 1)]["total_s"] == pytest.approx(float(np.median(ratios)))
    json.dumps(results)


def test_profile_refuses_pytorch_workers():
    pytest.importorskip("torch")
    with bm.Worker("pytorch", threads=1) as w:
        w.call("setup", hidden=[8], latent=2, batch=4, warmup=0, seed=0)
        with pytest.raises(bm.WorkerError, match="primitives"):
            w.call("profile", steps=1, repeats=1)
