"""Bernoulli negative log-likelihood from logits, with its gradient, in one sweep.

For a pixel x in [0, 1] and a logit l (p = sigmoid(l)):

    -log p(x | l) = softplus(l) - x l,     softplus(l) = max(l, 0) + log1p(exp(-|l|))
    d/dl          = sigmoid(l) - x,        sigmoid(l)  = 1 / (1 + e) if l >= 0 else e / (1 + e),
                                           with e = exp(-|l|) in (0, 1]

One exp and one log1p per pixel, finite for any finite logit (|l| = 1e4 included): exp never
sees a positive argument. Convention: sum over pixels, mean over the batch; the gradient is the
gradient of that mean. Shapes: ``logits, x, dlogits: (batch, dim)``.
"""
import numpy as np


def bernoulli_nll_numba(logits, x, inv_batch, dlogits):
    """Twin with libm's exp and log1p (used for float64, where speed does not matter)."""
    batch, dim = logits.shape
    total = 0.0
    for i in range(batch):
        row = logits.dtype.type(0)
        for j in range(dim):
            l = logits[i, j]
            xv = x[i, j]
            e = np.exp(-np.abs(l))
            row += (max(l, 0) - xv * l) + np.log1p(e)
            p = 1 / (1 + e) if l >= 0 else e / (1 + e)
            dlogits[i, j] = (p - xv) * inv_batch
        total += row
    return total * inv_batch


# float32 exp(-a) without libm, so that LLVM can vectorise the loop (llvmlite from PyPI has no
# vector math library: np.exp and np.log1p in Numba are one scalar libm call per element, and
# log1pf costs about 35 ns here). exp(-a) = 2^-k * exp(r) with k = round(a / ln 2),
# r = k ln2 - a in [-ln2/2, ln2/2]; exp(r) by its Taylor polynomial to r^7 (error < 1e-8),
# 2^-k as a product of powers of two. log1p(e) for e in (0, 1] by log1p(e) = 2 atanh(s), s = e / (2 + e) <= 1/3,
# whose odd series to s^15 is within 3e-8 relative error.
# Every intermediate stays a normal float32: subnormal numbers are tens of times slower on x86
# CPUs, and saturated logits (|l| in the tens) made this kernel 8x slower before it was fixed.
# |l| is capped at 70, so e >= exp(-70) ~ 4e-31, s ~ e / 2 and the gradient e / batch (for any
# batch below 10^7) stay normal (sigmoid(-70) and below come out as 4e-31: an error below 4e-31,
# where the reference's float32 values are below 4e-31 too); and s is
# taken as 0 in the series' s^2 when s < 1e-18, where s^2 (< 1e-36, added to 1) changes nothing
# but would make subnormal numbers. A SIMD loop computes both sides of a choice, so the choice is
# made before the multiplication, not after it.
_A_MAX = np.float32(70.0)
_S_MIN = np.float32(1e-18)
_LOG2E = np.float32(1.4426950408889634)
_LN2_HI = np.float32(0.693145751953125)  # ln 2 in two parts (Cody and Waite)
_LN2_LO = np.float32(1.428606765330187e-06)


def bernoulli_nll_numba_f32(logits, x, inv_batch, dlogits, rows):
    """float32 twin with the polynomial exp and log1p above (vectorised by LLVM): writes the
    gradient into ``dlogits`` and each example's NLL (summed over pixels) into ``rows``, which
    the caller sums."""
    batch, dim = logits.shape
    one, two = np.float32(1), np.float32(2)
    for i in range(batch):
        row = np.float32(0)
        for j in range(dim):
            l = logits[i, j]
            xv = x[i, j]
            a = np.abs(l)
            a = a if a < _A_MAX else _A_MAX  # also maps NaN to _A_MAX, restored below
            k = np.floor(a * _LOG2E + np.float32(0.5))
            r = (k * _LN2_HI - a) + k * _LN2_LO
            er = one + r * (one + r * (np.float32(1 / 2) + r * (np.float32(1 / 6) + r * (
                np.float32(1 / 24) + r * (np.float32(1 / 120) + r * (
                    np.float32(1 / 720) + r * np.float32(1 / 5040)))))))
            n = np.int32(k)  # 0 <= n <= 101: 2^-n as the product of its binary digits
            pow2 = np.float32(0.5) if n & 1 else one
            pow2 *= np.float32(0.25) if n & 2 else one
            pow2 *= np.float32(2.0**-4) if n & 4 else one
            pow2 *= np.float32(2.0**-8) if n & 8 else one
            pow2 *= np.float32(2.0**-16) if n & 16 else one
            pow2 *= np.float32(2.0**-32) if n & 32 else one
            pow2 *= np.float32(2.0**-64) if n & 64 else one
            e = er * pow2  # exp(-|l|) in (0, 1]
            # one division for both quotients: q = 1 / ((1 + e)(2 + e))
            q = one / ((one + e) * (two + e))
            inv_1pe = (two + e) * q  # 1 / (1 + e)
            s = e * (one + e) * q  # e / (2 + e)
            s_series = s if s >= _S_MIN else s - s  # s - s: a float32 zero
            s2 = s_series * s_series
            log1p_e = two * s * (one + s2 * (np.float32(1 / 3) + s2 * (np.float32(1 / 5) + s2 * (
                np.float32(1 / 7) + s2 * (np.float32(1 / 9) + s2 * (np.float32(1 / 11) + s2 * (
                    np.float32(1 / 13) + s2 * np.float32(1 / 15))))))))
            row += (max(l, np.float32(0)) - xv * l) + log1p_e
            p = inv_1pe if l >= 0 else e * inv_1pe  # sigmoid(l)
            p = p if l == l else l  # NaN in, NaN out
            dlogits[i, j] = (p - xv) * inv_batch
        rows[i] = row


def bernoulli_log_prob_numba(logits, x, out):
    batch, dim = logits.shape
    for i in range(batch):
        row = logits.dtype.type(0)
        for j in range(dim):
            l = logits[i, j]
            row += x[i, j] * l - (max(l, 0) + np.log1p(np.exp(-np.abs(l))))
        out[i] = row
