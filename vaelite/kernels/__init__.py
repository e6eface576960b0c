"""Hot loops of a training step: each has a readable NumPy reference and a compiled twin.

One file per topic:

- ``adam.py``        the Adam update of one parameter array, in place;
- ``activation.py``  bias + activation after a matrix product (forward), and its backward
                     (activation gradient + bias gradient in one pass);
- ``reparam.py``     reparameterization z = mu + sigma * eps fused with the closed-form KL to
                     N(0, I): value and the gradients wrt mu and logvar;
- ``bernoulli.py``   Bernoulli negative log-likelihood from logits with its gradient;
- ``binarize.py``    dynamic binarization x_bin = (u < x) from uniform noise u;
- ``logsumexp.py``   log-sum-exp over importance samples.

In each file, ``<name>_numpy`` is the readable reference, ``_<name>_numba`` is a plain-Python
loop that Numba compiles on first use (see ``_jit.py``: importing vaelite compiles nothing and
does not import numba), and ``<name>`` dispatches on ``vaelite.get_backend()``: "numba" runs the
compiled twin, "numpy" and "cupy" run the reference array code. ``tests/test_kernels.py`` holds
each twin equal to its reference.
"""
