"""Compiled twins of the hot loops of a training step, used by the "numba" backend.

One file per topic; each twin is a plain-Python loop that reads like C, compiled by Numba on first
use (``_jit.py``: importing vaelite compiles nothing and does not import numba). The readable
reference of each is a method of ``vaelite.backends.numpy_backend.NumpyBackend``, and
``vaelite.backends.numba_backend.NumbaBackend`` calls the twin in its place;
``tests/test_backends.py`` holds every twin equal to its reference.

- ``adam.py``        the Adam update of every parameter array, in place, in one call
                     (``adam_step``, ``adam_update``);
- ``activation.py``  bias + activation after a matrix product, and its backward pass
                     (``bias_act_forward``, ``bias_act_backward``);
- ``reparam.py``     reparameterization z = mu + sigma * eps fused with the closed-form KL to
                     N(0, I), and both gradients (``reparam_kl_forward``, ``reparam_kl_backward``);
- ``bernoulli.py``   Bernoulli negative log-likelihood from logits with its gradient
                     (``bernoulli_nll``, ``bernoulli_log_prob``);
- ``binarize.py``    dynamic binarization x_bin = (u < x) (``binarize``);
- ``pcg64.py``       the same, with NumPy's PCG64 draws made inside the loop (``binarize``
                     with ``np.random.default_rng``);
- ``logsumexp.py``   log-sum-exp over importance samples (``logsumexp``).
"""
