"""The popularity recommender's slates and radio: the sampler now against the Gumbel-top-k before.

    .venv/bin/python benchmarks/popularity_slates.py [--users 10000] [--tracks 20000]

Both samplers draw k tracks per listener without replacement with probability proportional to
popularity^(1/T) (T = 0.5) from the same heavy-tailed popularity, with each listener's recent
plays excluded (60 a listener); then radio: 20 neighbours for every track (what the popularity
model's `similar_items` is asked for). The reference is the Gumbel-top-k kernel that served
until issue 12, kept here verbatim: a hash and two logarithms for every (listener, track) pair.
Both run in this process, on 2 numba threads (or what NUMBA_NUM_THREADS allows), after a warm-up
call; the ratio is the figure to read on a shared machine. Also checks that both follow the same
law (share of first draws going to the 10 most popular tracks).
"""

from __future__ import annotations

import argparse
import time

import numba as nb
import numpy as np

from streamsim.recommender import serving
from streamsim.recommender.serving import _finish, _push, _worse, hash_uniform


@nb.njit(parallel=True, cache=True)
def _gumbel_reference(logw, inv_t, users, key, rows, k, ex_ptr, ex_idx, mask, out_i, out_s):
    n = min(len(logw), len(mask))
    for r in nb.prange(len(users)):
        hs = out_s[r]
        hi = out_i[r]
        size = 0
        e = rows[r]
        p = ex_ptr[e]
        end = ex_ptr[e + 1]
        u = users[r]
        for j in range(n):
            if not mask[j]:
                continue
            while p < end and ex_idx[p] < j:
                p += 1
            if p < end and ex_idx[p] == j:
                continue
            g = -np.log(-np.log(hash_uniform(key, u, j)))
            s = np.float32(logw[j] * inv_t + g)
            if size == k and not _worse(hs[0], hi[0], s, j):
                continue
            size = _push(hs, hi, size, k, s, j)
        _finish(hs, hi, size)


def gumbel_reference(w, temperature, users, key, rows, k, ex_ptr, ex_idx, mask):
    pos = w > 0
    floor = (np.log(w[pos].min()) - 30.0) if pos.any() else 0.0
    logw = np.where(pos, np.log(np.where(pos, w, 1.0)), floor)
    out_i = np.empty((len(users), k), np.int32)
    out_s = np.empty((len(users), k), np.float32)
    _gumbel_reference(logw, 1.0 / temperature, np.asarray(users, np.int64), np.uint64(key),
                      np.asarray(rows, np.int64), k, ex_ptr, ex_idx, mask, out_i, out_s)
    return out_i


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--tracks", type=int, default=20_000)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    T, n = args.tracks, args.users
    w = rng.pareto(1.2, T) * (rng.random(T) < 0.8)
    mask = np.ones(T, np.bool_)
    users = np.arange(n)
    ex = [np.sort(rng.choice(T, 60, replace=False)).astype(np.int32) for _ in range(n)]
    ex_ptr = np.arange(0, 60 * n + 1, 60, dtype=np.int64)
    ex_idx = np.concatenate(ex)
    items = np.arange(T)
    own_ptr = np.arange(T + 1, dtype=np.int64)
    own_idx = items.astype(np.int32)
    top10 = np.argsort(-w)[:10]
    for name, fn in (("Gumbel-top-k (before)", gumbel_reference), ("successive draws (now)", serving.topk_sampled)):
        fn(w, 0.5, users[:10], 1, users[:10], 50, ex_ptr, ex_idx, mask)       # compile / warm up
        t0 = time.perf_counter()
        slates = fn(w, 0.5, users, 1, users, 50, ex_ptr, ex_idx, mask)
        t1 = time.perf_counter()
        fn(w, 0.5, items, 2, items, 20, own_ptr, own_idx, mask)
        t2 = time.perf_counter()
        slates = slates[0] if isinstance(slates, tuple) else slates
        share = np.isin(slates[:, 0], top10).mean()
        print(f"{name:<24} slates {n:,} x 50: {t1 - t0:7.2f} s   radio {T:,} x 20: {t2 - t1:7.2f} s   "
              f"first draw in the top 10: {share:.3f}")


if __name__ == "__main__":
    main()
