"""Dynamic binarization with NumPy's own random stream, drawn inside the kernel.

``NumpyBackend.binarize`` draws u = ``rng.random(shape, dtype=np.float32)`` and keeps a pixel
where u < x. For the default generator (``np.random.default_rng``: PCG64) this twin computes
the very same u inside its loop, from the generator's state, and writes the same zeros and ones;
afterwards the generator's state is where NumPy's draw would have left it. So the binary images
are identical, and so is every later draw; only the array u and a function call per number
(NumPy calls the bit generator through a pointer) are saved.

PCG64 (O'Neill, 2014, as NumPy implements it): a 128-bit state s and odd increment c,

    s <- s * M + c  (mod 2^128);   output = rotr64(hi(s) xor lo(s), hi(s) >> 58)

and NumPy's float32 from one 32-bit half of an output: (half >> 8) * 2^-24. One 64-bit output
serves two float32 draws (low half first; the high half is kept in the state as "uinteger" with
"has_uint32" set until the next draw uses it). The 128-bit state is held as two uint64 halves.
Shapes: ``x, out: (n,)`` (flattened).
"""
import numpy as np

M_HI = np.uint64(2549297995355413924)  # the PCG64 multiplier M, high and low 64 bits
M_LO = np.uint64(4865540595714422341)
_LOW32 = np.uint64(0xFFFFFFFF)
_ZERO, _ONE, _U8, _U32, _U58, _U63, _U64 = (np.uint64(k) for k in (0, 1, 8, 32, 58, 63, 64))
_SCALE = np.float32(2.0**-24)
_MASK64 = (1 << 64) - 1


def mul_hi(a, b):
    """The high 64 bits of the 128-bit product of two uint64 numbers (exact Python integers
    here; compiled, one 64 x 64 -> 128-bit multiplication: ``_compile_helpers``)."""
    return np.uint64((int(a) * int(b)) >> 64)


def affine(s_hi, s_lo, a_hi, a_lo, b_hi, b_lo):
    """a * s + b (mod 2^128) on (hi, lo) halves: one PCG64 step when (a, b) = (M, c)."""
    lo = s_lo * a_lo
    hi = mul_hi(s_lo, a_lo) + s_lo * a_hi + s_hi * a_lo
    new_lo = lo + b_lo
    return hi + b_hi + (_ONE if new_lo < lo else _ZERO), new_lo  # carry of the low half


def output(s_hi, s_lo):
    """PCG64's 64-bit output of a state: rotr64(hi xor lo, hi >> 58)."""
    xored, rot = s_hi ^ s_lo, s_hi >> _U58
    return (xored >> rot) | (xored << ((_U64 - rot) & _U63))


def keep(half, x):
    """1.0 where NumPy's float32 draw from these 32 random bits, (bits >> 8) 2^-24, is < x."""
    return 1.0 if np.float32(half >> _U8) * _SCALE < x else 0.0


def binarize_pcg64_numba(x, out, s_hi, s_lo, c_hi, c_lo, has_half, half):
    """out[i] = 1 if u_i < x[i] else 0 with u_i NumPy's i-th float32 draw. Returns the state
    after the draws: (s_hi, s_lo, has_half, half)."""
    n = x.size
    i = 0
    if has_half and n > 0:  # the high half left over by the previous draw comes first
        out[0] = keep(half, x[0])
        i, has_half = 1, False
    while i < n:
        s_hi, s_lo = affine(s_hi, s_lo, M_HI, M_LO, c_hi, c_lo)  # s <- M s + c
        r = output(s_hi, s_lo)
        out[i] = keep(r & _LOW32, x[i])  # the low half, then the high half
        half = r >> _U32
        if i + 1 < n:
            out[i + 1] = keep(half, x[i + 1])
        else:
            has_half = True  # an odd count: the high half waits for the next draw
        i += 2
    return s_hi, s_lo, has_half, half


def split_state(state):
    """The arguments of the kernel from ``rng.bit_generator.state`` (a PCG64 state dict)."""
    s, c = state["state"]["state"], state["state"]["inc"]
    return (np.uint64(s >> 64), np.uint64(s & _MASK64), np.uint64(c >> 64),
            np.uint64(c & _MASK64), bool(state["has_uint32"]), np.uint64(state["uinteger"]))


def join_state(state, s_hi, s_lo, has_half, half):
    """``state`` (a PCG64 state dict) advanced to the kernel's returned state."""
    return {**state, "state": {**state["state"], "state": (int(s_hi) << 64) | int(s_lo)},
            "has_uint32": int(has_half), "uinteger": int(half)}


def compiled_kernel():
    """The compiled twin (its helpers compiled into it)."""
    from ._jit import jit

    _compile_helpers()
    return jit(binarize_pcg64_numba)


_helpers_compiled = False


def _compile_helpers():
    """Let Numba compile calls to the helpers above; ``mul_hi`` becomes one LLVM 128-bit
    multiplication (numba is imported only here, when the numba backend first binarizes)."""
    global _helpers_compiled
    if _helpers_compiled:
        return
    from llvmlite import ir
    from numba import types
    from numba.extending import intrinsic, overload, register_jitable

    @intrinsic
    def mul_hi_128(typingctx, a, b):
        def codegen(context, builder, signature, args):
            wide = ir.IntType(128)
            product = builder.mul(builder.zext(args[0], wide), builder.zext(args[1], wide))
            return builder.trunc(builder.lshr(product, ir.Constant(wide, 64)), ir.IntType(64))
        return types.uint64(types.uint64, types.uint64), codegen

    overload(mul_hi)(lambda a, b: lambda a, b: mul_hi_128(a, b))
    for helper in (affine, output, keep):
        register_jitable(helper)
    _helpers_compiled = True
