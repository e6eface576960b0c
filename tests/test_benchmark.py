"""benchmarks/train_throughput.py: importable by path, its arithmetic and its table (no timing
assertions; the figures themselves are measured by running the script)."""
import importlib.util
import json

import numpy as np
import pytest


def test_gemm_flops_of_one_step(tt):
    # 784-400-20: forward and weight gradient of every layer, input gradient of all but the
    # encoder's first (its input is data)
    first = 2 * 2 * 128 * 784 * 400
    rest = 3 * 2 * 128 * (400 * 40 + 20 * 400 + 400 * 784)
    assert tt.gemm_flops((400,), 20, 128) == first + rest == 419_840_000
    assert tt.layer_shapes((512, 256), 32) == [(784, 512), (512, 256), (256, 64), (32, 256),
                                               (256, 512), (512, 784)]


def test_trainers_compute_the_same_loss(tt):
    """The vaelite trainers under both backends see the same batches and noise, so their
    first losses agree (PyTorch too, when installed)."""
    rng = np.random.default_rng(0)
    x = rng.random((64, 784), dtype=np.float32)
    impls = ["numpy", "numba"]
    if importlib.util.find_spec("torch") is not None:
        impls.append("pytorch")
    losses = {i: tt.make_trainer(i, (32,), 4, 16, x, seed=3).run(2) for i in impls}
    for i in impls:
        np.testing.assert_allclose(losses[i], losses["numpy"], rtol=1e-4)


def test_table_json_and_key_line(tt):
    rows = []
    for impl, speed in (("numpy", 100.0), ("numba", 150.0), ("pytorch", 100.0)):
        rows.append({"model": "784-400-20", "batch": 128, "threads": 2, "impl": impl,
                     "samples_per_s": speed, "step_ms": 1.28e5 / speed,
                     "gemm_bound_samples_per_s": 200.0, "gemm_gflops": 50.0,
                     "ratio_to_pytorch": speed / 100, "ratio_to_gemm_bound": speed / 200,
                     "peak_mem_mib": 10.0, "peak_rss_mib": 100.0, "final_neg_elbo": 120.0})
    results = {"rows": rows, "meta": {}}
    assert tt.key_ratio(results) == pytest.approx(1.5)
    table = tt.format_table(results)
    assert len(table.splitlines()) == 2 + len(rows) and "numba" in table
    summary = tt.summary_rows(results)
    assert summary[1]["ratio_to_pytorch"] == 1.5
    json.dumps(results)  # what --json writes
