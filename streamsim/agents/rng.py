"""Counter-based random numbers for numba kernels.

A parallel kernel must not draw from a shared sequential generator: the draws a listener gets
would depend on which thread reached the generator first. Instead every random number is a pure
function of ``(key, counter)``, where the key is hashed from ``(seed, epoch, listener id)`` and
the counter counts the draws of that listener. The hash is the splitmix64 finaliser (Steele,
Lea and Flood 2014), which passes BigCrush when fed a Weyl sequence, as it is here.
Results are therefore identical whatever the number of threads and whatever the order in
which listeners are simulated.
"""

from __future__ import annotations

import math

import numba as nb
import numpy as np

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_S30 = np.uint64(30)
_S27 = np.uint64(27)
_S31 = np.uint64(31)
_S11 = np.uint64(11)
_S32 = np.uint64(32)
_LOW32 = np.uint64(0xFFFFFFFF)
_INV53 = 1.0 / 9007199254740992.0  # 2**-53
_INV32 = 1.0 / 4294967296.0        # 2**-32

# Acklam's rational approximation of the normal quantile (relative error < 1.2e-9)
_A = (-3.969683028665376e+01, 2.209460984245205e+02, -2.759285104469687e+02,
      1.383577518672690e+02, -3.066479806614716e+01, 2.506628277459239e+00)
_B = (-5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02,
      6.680131188771972e+01, -1.328068155288572e+01)
_C = (-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00,
      -2.549732539343734e+00, 4.374664141464968e+00, 2.938163982698783e+00)
_D = (7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00, 3.754408661907416e+00)
_P_LOW = 0.02425


@nb.njit(inline="always", cache=True)
def mix64(z: np.uint64) -> np.uint64:
    """The splitmix64 finaliser: a bijective avalanche hash of 64 bits."""
    z = (z ^ (z >> _S30)) * _M1
    z = (z ^ (z >> _S27)) * _M2
    return z ^ (z >> _S31)


@nb.njit(inline="always", cache=True)
def stream_key(seed: int, epoch: int, index: int) -> np.uint64:
    """The key of one random stream, e.g. one listener in one epoch."""
    k = mix64(np.uint64(seed) ^ _GOLDEN)
    k = mix64(k + np.uint64(epoch) * _GOLDEN)
    return mix64(k + np.uint64(index) * _GOLDEN)


@nb.njit(inline="always", cache=True)
def uniform(key: np.uint64, counter: int) -> float:
    """The counter-th draw of a stream, uniform on the open interval (0, 1)."""
    x = mix64(key + (np.uint64(counter) + np.uint64(1)) * _GOLDEN)
    return (float(x >> _S11) + 0.5) * _INV53


@nb.njit(inline="always", cache=True)
def uniform_pair(key: np.uint64, counter: int) -> tuple[float, float]:
    """Two uniforms on (0, 1) with 32 bits each, from one hash (the kernel's cheap draws)."""
    x = mix64(key + (np.uint64(counter) + np.uint64(1)) * _GOLDEN)
    return (float(x >> _S32) + 0.5) * _INV32, (float(x & _LOW32) + 0.5) * _INV32


@nb.njit(inline="always", cache=True)
def normal_quantile(p: float) -> float:
    """The standard normal quantile of p in (0, 1) (Acklam's approximation).

    The central 95 % needs no transcendental function, which makes a normal draw from one
    uniform about as cheap as the uniform itself.
    """
    if p < _P_LOW:
        q = math.sqrt(-2.0 * math.log(p))
        return ((((((_C[0] * q + _C[1]) * q + _C[2]) * q + _C[3]) * q + _C[4]) * q + _C[5])
                / ((((_D[0] * q + _D[1]) * q + _D[2]) * q + _D[3]) * q + 1.0))
    if p > 1.0 - _P_LOW:
        q = math.sqrt(-2.0 * math.log(1.0 - p))
        return -((((((_C[0] * q + _C[1]) * q + _C[2]) * q + _C[3]) * q + _C[4]) * q + _C[5])
                 / ((((_D[0] * q + _D[1]) * q + _D[2]) * q + _D[3]) * q + 1.0))
    q = p - 0.5
    r = q * q
    return ((((((_A[0] * r + _A[1]) * r + _A[2]) * r + _A[3]) * r + _A[4]) * r + _A[5]) * q
            / (((((_B[0] * r + _B[1]) * r + _B[2]) * r + _B[3]) * r + _B[4]) * r + 1.0))


@nb.njit(inline="always", cache=True)
def normal(key: np.uint64, counter: int) -> float:
    """A standard normal draw (Box-Muller) from draws ``counter`` and ``counter + 1``."""
    u1 = uniform(key, counter)
    u2 = uniform(key, counter + 1)
    return math.sqrt(-2.0 * math.log(u1)) * math.cos(2.0 * math.pi * u2)


@nb.njit(cache=True)
def uniforms(seed: int, epoch: int, index: int, n: int) -> np.ndarray:
    """The first n uniforms of one stream (for tests and small vectorised uses)."""
    key = stream_key(seed, epoch, index)
    out = np.empty(n, np.float64)
    for i in range(n):
        out[i] = uniform(key, i)
    return out
