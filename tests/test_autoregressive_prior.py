"""The MADE prior over discrete codes: gradients, the autoregressive property, exact likelihood,
sampling, training, bad inputs and backends."""
import itertools

import numpy as np
import pytest

import vaelite
from vaelite import gradcheck
from vaelite.components import MADEPrior
from vaelite.components.autoregressive_prior import log_softmax, made_masks

TOL = 1e-6


def random_codes(rng, n, d, k):
    return rng.integers(0, k, (n, d))


@pytest.mark.parametrize("hidden,act", [((16,), "tanh"), ((12, 10), "relu"), ((), "tanh"),
                                        ((8,), "softplus")])
def test_gradients_match_finite_differences(backend, hidden, act):
    prior = MADEPrior(4, 3, hidden=hidden, activation_name=act, seed=1, dtype=np.float64)
    codes = random_codes(np.random.default_rng(0), 7, 4, 3)
    prior.loss_and_grads(codes)
    triples = [(n, p, g.copy()) for n, p, g in prior.parameters()]
    assert all(np.any(g != 0) for name, _, g in triples if name.endswith("b"))
    errors = gradcheck.check_gradients(lambda: prior.loss(codes)["loss"], triples)
    bad = {k: v for k, v in errors.items() if not v < TOL}
    assert not bad, f"relative errors above {TOL}: {bad}"


def test_masked_weights_stay_masked_and_get_masked_gradients(backend):
    prior = MADEPrior(3, 4, hidden=(10,), seed=0, dtype=np.float64)
    prior.loss_and_grads(random_codes(np.random.default_rng(1), 5, 3, 4))
    for lin, mask in zip(prior.linears, made_masks(3, 4, [10])):
        assert np.all(lin.params["W"][mask == 0] == 0)
        assert np.all(lin.grads["W"][mask == 0] == 0)
        assert np.any(lin.grads["W"][mask == 1] != 0)


@pytest.mark.parametrize("d,hidden", [(5, (20, 20)), (4, ()), (1, (6,))])
def test_autoregressive_property(backend, d, hidden):
    """Changing the code at position j changes no logits of positions <= j; it does change
    some logit of a later position (else the test could not fail)."""
    k = 3
    prior = MADEPrior(d, k, hidden=hidden, activation_name="tanh", seed=2, dtype=np.float64)
    base = random_codes(np.random.default_rng(3), 1, d, k)
    ref = np.asarray(prior.logits(base))
    for j in range(d):
        other = base.copy()
        other[0, j] = (other[0, j] + 1) % k
        out = np.asarray(prior.logits(other))
        np.testing.assert_array_equal(out[:, :j + 1], ref[:, :j + 1])
        if j < d - 1:
            assert np.max(np.abs(out[:, j + 1:] - ref[:, j + 1:])) > 1e-6


def test_first_position_is_unconditional(backend):
    prior = MADEPrior(3, 4, hidden=(8,), seed=0, dtype=np.float64)
    logits = np.asarray(prior.logits(random_codes(np.random.default_rng(0), 6, 3, 4)))
    np.testing.assert_array_equal(logits[:, 0], np.broadcast_to(prior.linears[-1].params["b"][:4],
                                                                (6, 4)))


def all_sequences(d, k):
    return np.array(list(itertools.product(range(k), repeat=d)))


@pytest.mark.parametrize("hidden", [(16,), ()])
def test_exact_likelihood_sums_to_one(backend, hidden):
    """D = 3, K = 3: the probabilities of all 27 sequences sum to 1, and each equals the
    product of its conditionals computed by brute-force marginal sums."""
    prior = MADEPrior(3, 3, hidden=hidden, seed=4, dtype=np.float64)
    for p in prior.parameters():  # larger weights: conditionals far from uniform
        p[1][...] = 3 * p[1]
    seqs = all_sequences(3, 3)
    p = np.exp(prior.log_prob(seqs))
    assert p.shape == (27,)
    assert abs(p.sum() - 1) < 1e-12
    assert p.max() / p.min() > 5
    table = p.reshape(3, 3, 3)
    # p(c2 | c1) from the joint's marginals equals the model's conditional
    cond = table.sum(axis=2) / table.sum(axis=(1, 2))[:, None]
    logits = np.asarray(prior.logits(seqs))
    model = np.exp(np.asarray(log_softmax(prior.logits(seqs))))[:, 1].reshape(3, 3, 3, 3)[:, 0, 0]
    np.testing.assert_allclose(model, cond, atol=1e-12)
    assert logits.shape == (27, 3, 3)


def test_log_softmax_is_stable_for_large_logits():
    big = np.array([[1000.0, 0.0, -1000.0]])
    out = log_softmax(big)
    assert np.all(np.isfinite(out[:, :2]))
    np.testing.assert_allclose(out[0, :2], [0.0, -1000.0])


def test_sampling_frequencies_match_probabilities(backend):
    prior = MADEPrior(3, 3, hidden=(10,), seed=5, dtype=np.float64)
    for p in prior.parameters():
        p[1][...] = 2 * p[1]
    n = 20000
    samples = prior.sample(n, np.random.default_rng(6))
    assert samples.shape == (n, 3) and samples.dtype == np.int64
    seqs = all_sequences(3, 3)
    index = samples @ np.array([9, 3, 1])
    freq = np.bincount(index, minlength=27) / n
    p = np.exp(prior.log_prob(seqs))
    assert np.max(np.abs(freq - p)) < 0.02
    assert p.max() - p.min() > 0.05  # a non-uniform model, so the test means something


def test_training_lowers_nll_towards_entropy(backend):
    """Codes from a known Markov chain over D = 4 positions, K = 3: Adam drives the mean NLL
    from about D log K to near the chain's entropy, and never below it by much."""
    rng = np.random.default_rng(7)
    d, k = 4, 3
    p0 = np.array([0.6, 0.3, 0.1])
    trans = np.array([[0.8, 0.1, 0.1], [0.1, 0.1, 0.8], [0.3, 0.4, 0.3]])
    n = 4000
    codes = np.zeros((n, d), dtype=np.int64)
    codes[:, 0] = rng.choice(k, n, p=p0)
    for i in range(1, d):
        u = rng.random((n, 1))
        codes[:, i] = (u > np.cumsum(trans[codes[:, i - 1]], axis=1)).sum(axis=1)
    stationary_rows = [p0]
    for _ in range(1, d):
        stationary_rows.append(stationary_rows[-1] @ trans)
    row_entropy = -(trans * np.log(trans)).sum(axis=1)
    entropy = -(p0 * np.log(p0)).sum() + sum(r @ row_entropy for r in stationary_rows[:-1])

    prior = MADEPrior(d, k, hidden=(32,), seed=8, dtype=np.float64)
    opt = vaelite.Adam(prior.parameters(), lr=0.01)
    start = prior.loss(codes)["loss"]
    for step in range(300):
        batch = codes[rng.integers(0, n, 256)]
        prior.loss_and_grads(batch)
        opt.step()
    end = prior.loss(codes)["loss"]
    assert abs(start - d * np.log(k)) < 0.5
    assert end < entropy + 0.05
    assert end > entropy - 0.1
    np.testing.assert_allclose(-prior.log_prob(codes).mean(), end, rtol=1e-12)


def test_bad_inputs_raise_errors_naming_the_argument():
    prior = MADEPrior(3, 4, hidden=(5,), dtype=np.float64)
    with pytest.raises(ValueError, match="codes must lie in"):
        prior.log_prob(np.array([[0, 1, 4]]))
    with pytest.raises(ValueError, match="codes must lie in"):
        prior.loss(np.array([[0, -1, 2]]))
    with pytest.raises(ValueError, match=r"codes must have shape \(batch, 3\)"):
        prior.loss_and_grads(np.zeros((2, 4), dtype=int))
    with pytest.raises(ValueError, match="codes must have shape"):
        prior.log_prob(np.zeros(3, dtype=int))
    with pytest.raises(TypeError, match="codes must be an integer array"):
        prior.log_prob(np.zeros((2, 3)))
    with pytest.raises(TypeError, match="codes must be an integer array"):
        prior.log_prob("abc")
    with pytest.raises(ValueError, match="n_codes"):
        MADEPrior(3, 1)
    with pytest.raises(TypeError, match="n_positions"):
        MADEPrior(None, 3)
    with pytest.raises(ValueError, match="hidden"):
        MADEPrior(3, 3, hidden=(0,))
    with pytest.raises(ValueError, match="n must be"):
        prior.sample(0, np.random.default_rng(0))
    with pytest.raises(ValueError, match="rng"):
        prior.sample(3, None)
    np.testing.assert_array_equal(prior.log_prob([[0, 1, 3]]),
                                  prior.log_prob(np.array([[0, 1, 3]])))


def test_one_hot_rows_are_read_as_their_codes(backend):
    """fit feeds the prior float rows: the one-hot codes, the MADE's own input. They give the
    same loss, gradients and log-probabilities as the integer codes; anything else is refused."""
    prior = MADEPrior(3, 4, hidden=(6,), seed=2, dtype=np.float64)
    codes = random_codes(np.random.default_rng(12), 9, 3, 4)
    rows = np.eye(4)[codes].reshape(9, 12)
    np.testing.assert_array_equal(prior.check_codes(rows), codes)
    assert prior.input_dim == 12
    ref = prior.loss_and_grads(codes)
    ref_grads = [g.copy() for _, _, g in prior.parameters()]
    assert prior.loss_and_grads(rows, np.random.default_rng(0)) == ref
    for (_, _, g), r in zip(prior.parameters(), ref_grads):
        np.testing.assert_array_equal(g, r)
    np.testing.assert_array_equal(prior.log_prob(rows), prior.log_prob(codes))
    for bad in (rows * 0.5, rows + np.eye(12)[0], np.zeros((0, 12))):
        with pytest.raises(ValueError, match="one-hot rows"):
            prior.loss(bad)
    assert [n for n, _, _ in prior.parameters("prior.")][0] == "prior.layer0.W"


def run_everything():
    prior = MADEPrior(3, 4, hidden=(8, 6), seed=9, dtype=np.float64)
    codes = random_codes(np.random.default_rng(10), 16, 3, 4)
    opt = vaelite.Adam(prior.parameters(), lr=0.01)
    losses = []
    for _ in range(5):
        losses.append(prior.loss_and_grads(codes)["loss"])
        opt.step()
    grads = [vaelite.backends.current().to_host(g).copy() for _, _, g in prior.parameters()]
    return (losses, prior.log_prob(codes), grads, prior.sample(50, np.random.default_rng(11)))


def test_same_numbers_on_every_backend(any_backend):
    losses, logp, grads, samples = run_everything()
    with vaelite.use_backend("numpy"):
        ref_losses, ref_logp, ref_grads, ref_samples = run_everything()
    np.testing.assert_allclose(losses, ref_losses, rtol=1e-8)
    np.testing.assert_allclose(logp, ref_logp, rtol=1e-8)
    for g, r in zip(grads, ref_grads):
        np.testing.assert_allclose(g, r, rtol=1e-8, atol=1e-12)
    np.testing.assert_array_equal(samples, ref_samples)


def test_sample_after_a_prefix_keeps_it_and_draws_the_conditionals():
    prior = MADEPrior(3, 3, hidden=(6,), seed=3, dtype=np.float64)
    codes = prior.sample(20000, np.random.default_rng(0), prefix=[2])
    assert codes.shape == (20000, 3) and np.all(codes[:, 0] == 2)
    # the two free positions follow p(c_2, c_3 | c_1 = 2), from the brute-force joint
    joint = np.exp(prior.log_prob(np.array(list(itertools.product(range(3), repeat=3)))))
    joint = joint.reshape(3, 3, 3)[2] / joint.reshape(3, 3, 3)[2].sum()
    counts = np.zeros((3, 3))
    np.add.at(counts, (codes[:, 1], codes[:, 2]), 1)
    assert np.abs(counts / len(codes) - joint).max() < 0.015
    full = prior.sample(5, np.random.default_rng(0), prefix=[1, 0, 2])
    np.testing.assert_array_equal(full, np.tile([1, 0, 2], (5, 1)))
    for bad in ([0, 0, 0, 0], [3], [-1]):
        with pytest.raises(ValueError, match="prefix"):
            prior.sample(2, np.random.default_rng(0), prefix=bad)
    with pytest.raises(TypeError, match="prefix"):
        prior.sample(2, np.random.default_rng(0), prefix=[0.5])
