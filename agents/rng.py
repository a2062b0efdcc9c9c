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
_INV53 = 1.0 / 9007199254740992.0  # 2**-53


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
