"""Serving kernels: filtered top-K, sampled slates, cluster candidates; and the bandit slots."""

from __future__ import annotations

import numba
import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from streamsim.agents.catalog import Catalog
from streamsim.core.threads import in_threads
from streamsim.recommender import serving
from streamsim.recommender.base import FitContext, Recommender
from streamsim.recommender.exploration import Exploring, slots
from streamsim.core.config import ExplorationConfig


def brute_topk(scores, k, excluded, mask):
    """Reference: sort by (-score, id) over allowed, non-excluded items."""
    cand = [j for j in range(len(scores)) if mask[j] and j not in excluded]
    cand.sort(key=lambda j: (-scores[j], j))
    top = cand[:k]
    return top + [-1] * (k - len(top))


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 6), st.integers(1, 40), st.integers(1, 12), st.integers(0, 2**31 - 1))
def test_topk_rows_matches_sorting(n, T, k, seed):
    rng = np.random.default_rng(seed)
    scores = rng.integers(0, 5, (n, T)).astype(np.float32)        # many ties
    ex = sp.random(n, T, density=0.3, format="csr", random_state=rng)
    mask = rng.random(T) < 0.8
    ptr, idx = serving.exclusion_rows(ex, np.arange(n, dtype=np.int32))
    items, vals = serving.topk_rows(scores, np.arange(n), k, ptr, idx, mask)
    for r in range(n):
        ref = brute_topk(scores[r], k, set(ex[r].indices), mask)
        assert items[r].tolist() == ref
        ok = items[r] >= 0
        np.testing.assert_array_equal(vals[r][ok], scores[r][items[r][ok]])
        assert np.isneginf(vals[r][~ok]).all()


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 30), st.integers(1, 40), st.integers(1, 8), st.integers(0, 2**31 - 1))
def test_topk_dot_in_threaded_blocks_matches_sorting(n, T, k, seed):
    """Queries scored in blocks of 4 over threads: each row is the sorted top k of its dot
    products (ties to the lower id), with its exclusions, the mask and its own item left out."""
    rng = np.random.default_rng(seed)
    Q = rng.integers(-2, 3, (n, 3)).astype(np.float32)          # small integers: exact dots, ties
    V = rng.integers(-2, 3, (T, 3)).astype(np.float32)
    ex = sp.random(n, T, density=0.2, format="csr", random_state=rng)
    mask = rng.random(T) < 0.8
    own = rng.integers(-1, T, n).astype(np.int32)
    ptr, idx = serving.exclusion_rows(ex, np.arange(n, dtype=np.int32))
    old = serving.BLOCK
    serving.BLOCK = 4
    try:
        items, vals = serving.topk_dot(Q, V, k, ptr, idx, mask, self_items=own)
    finally:
        serving.BLOCK = old
    scores = Q @ V.T
    for r in range(n):
        assert items[r].tolist() == brute_topk(scores[r], k, set(ex[r].indices) | {own[r]}, mask)
        ok = items[r] >= 0
        np.testing.assert_array_equal(vals[r][ok], scores[r][items[r][ok]])
    serial, _ = serving.topk_rows(scores.copy(), np.arange(n), k, ptr, idx, mask, own, parallel=False)
    np.testing.assert_array_equal(serial, serving.topk_rows(scores.copy(), np.arange(n), k, ptr, idx, mask, own)[0])


def test_threaded_serving_is_the_same_on_one_and_two_threads():
    """Exact and cluster top-k spread their products over threads; one thread gives the same slates."""
    rng = np.random.default_rng(3)
    Y = rng.standard_normal((3000, 8)).astype(np.float32)
    X = rng.standard_normal((700, 8)).astype(np.float32)
    ex = sp.random(700, 3000, density=0.01, format="csr", random_state=rng)
    ptr, idx = serving.exclusion_rows(ex, np.arange(700, dtype=np.int32))
    mask = rng.random(3000) < 0.9
    index = serving.ClusterIndex(Y, 32, seed=1)
    before = numba.get_num_threads()
    out = []
    for n in (1, numba.config.NUMBA_NUM_THREADS):
        numba.set_num_threads(n)
        try:
            out.append((serving.topk_dot(X, Y, 10, ptr, idx, mask), index.topk(X, 10, 8, ptr, idx, mask)))
        finally:
            numba.set_num_threads(before)
    for one, two in zip(out[0], out[1]):
        np.testing.assert_array_equal(one[0], two[0])
        np.testing.assert_array_equal(one[1], two[1])


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(0, 50), max_size=60), st.integers(1, 120), st.integers(1, 10))
def test_score_blocks_cover_the_rows_within_the_budget(cost, budget, max_rows):
    """Cluster scoring's query blocks: consecutive, covering every query once, each within the
    score buffer (unless one query alone exceeds it) and as long as the budget allows."""
    cost = np.array(cost, np.int64)
    blocks = serving.score_blocks(cost, budget, max_rows)
    starts = [b[0] for b in blocks]
    assert starts == ([0] + [b[1] for b in blocks[:-1]] if blocks else [])
    assert (blocks[-1][1] if blocks else 0) == len(cost)
    for start, stop in blocks:
        assert 1 <= stop - start <= max_rows
        assert cost[start:stop].sum() <= budget or stop - start == 1
        if stop < len(cost) and stop - start < max_rows:
            assert cost[start:stop + 1].sum() > budget


def _sum_in_threads(n: int) -> float:
    out = np.zeros(n)

    def task(i):
        out[i] = i

    in_threads(task, range(n))
    return float(out.sum())


@pytest.mark.filterwarnings("ignore:This process .* is multi-threaded:DeprecationWarning")
def test_in_threads_works_in_a_forked_child_after_the_parent_used_it():
    """A forked child inherits the parent's pool but not its threads; it must not wait forever."""
    import multiprocessing

    assert _sum_in_threads(8) == 28.0
    with multiprocessing.get_context("fork").Pool(1) as pool:
        assert pool.apply_async(_sum_in_threads, (8,)).get(timeout=60) == 28.0


def test_in_threads_runs_every_task_once_and_raises_their_errors():
    seen = np.zeros(50, np.int64)

    def task(i):
        seen[i] += 1

    in_threads(task, range(50))
    assert (seen == 1).all()

    def fails(i):
        if i == 7:
            raise ValueError("task 7")

    with pytest.raises(ValueError, match="task 7"):
        in_threads(fails, range(20))


def test_exclusion_rows_for_users_beyond_the_matrix():
    ex = sp.csr_matrix(np.array([[0, 1, 0, 1], [1, 0, 0, 0]], np.float32))
    ptr, idx = serving.exclusion_rows(ex, np.array([1, 5, 0], np.int32))
    assert ptr.tolist() == [0, 1, 1, 3]
    assert idx.tolist() == [0, 1, 3]


def test_sampled_slates_follow_weight_power():
    w = np.array([8.0, 4.0, 2.0, 1.0, 0.0])
    users = np.arange(20000)
    ptr = np.zeros(len(users) + 1, np.int64)
    first, _ = serving.topk_sampled(w, 1.0, users, 12345, users, 1, ptr, np.zeros(0, np.int32),
                                    np.ones(5, np.bool_))
    freq = np.bincount(first[:, 0], minlength=5) / len(users)
    np.testing.assert_allclose(freq[:4], w[:4] / w[:4].sum(), atol=0.015)
    assert freq[4] == 0
    again, _ = serving.topk_sampled(w, 1.0, users, 12345, users, 1, ptr, np.zeros(0, np.int32),
                                    np.ones(5, np.bool_))
    np.testing.assert_array_equal(first, again)


def test_sampled_slates_follow_plackett_luce_and_skip_exclusions():
    """The second draw follows the law of sampling without replacement; excluded and disallowed
    items never come; weightless allowed items come only after every weighted one, uniformly."""
    w = np.array([8.0, 4.0, 2.0, 1.0, 0.0, 0.0, 5.0])
    mask = np.array([True, True, True, True, True, True, False])
    users = np.arange(40000)
    ex_ptr = np.arange(0, 2 * len(users) + 1, 2, dtype=np.int64)
    ex_idx = np.tile(np.array([2, 5], np.int32), len(users))       # item 2 and weightless item 5
    items, scores = serving.topk_sampled(w, 1.0, users, 99, users, 5, ex_ptr, ex_idx, mask)
    assert items[:, 4].tolist() == [-1] * len(users)                # only 0, 1, 3, 4 may come
    assert (np.sort(items[:, :4], axis=1) == [0, 1, 3, 4]).all()
    assert (items[:, 3] == 4).all()                                 # weightless comes last
    p = w[[0, 1, 3]] / w[[0, 1, 3]].sum()
    second = [sum(p[a] * p[b] / (1 - p[a]) for a in range(3) if a != b) for b in range(3)]
    freq = np.bincount(np.searchsorted([0, 1, 3], items[:, 1]), minlength=3) / len(users)
    np.testing.assert_allclose(freq, second, atol=0.01)
    assert (np.diff(scores[:, :4], axis=1) < 0).all()               # non-increasing scores


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 6), st.integers(1, 40), st.integers(1, 12), st.integers(0, 2**31 - 1))
def test_topk_shared_matches_sorting(n, T, k, seed):
    rng = np.random.default_rng(seed)
    scores = rng.integers(0, 5, T).astype(np.float32)
    scores[rng.random(T) < 0.1] = np.nan
    ex = sp.random(n, T, density=0.3, format="csr", random_state=rng)
    mask = rng.random(T) < 0.8
    ptr, idx = serving.exclusion_rows(ex, np.arange(n, dtype=np.int32))
    items, _ = serving.topk_shared(scores, np.arange(n), k, ptr, idx, mask)
    for r in range(n):
        excluded = set(ex.indices[ex.indptr[r]:ex.indptr[r + 1]]) | set(np.flatnonzero(np.isnan(scores)))
        assert items[r].tolist() == brute_topk(scores, k, excluded, mask)


def test_cluster_candidates_recall_against_exact():
    """Clustered item factors: probing a quarter of the clusters finds nearly all of the exact
    top-10; probing all of them is exact."""
    rng = np.random.default_rng(0)
    centres = rng.standard_normal((40, 16)).astype(np.float32)
    Y = (centres[rng.integers(0, 40, 4000)] + 0.3 * rng.standard_normal((4000, 16))).astype(np.float32)
    X = (centres[rng.integers(0, 40, 300)] + 0.3 * rng.standard_normal((300, 16))).astype(np.float32)
    ex = sp.random(300, 4000, density=0.01, format="csr", random_state=rng)
    users = np.arange(300, dtype=np.int32)
    ptr, idx = serving.exclusion_rows(ex, users)
    mask = rng.random(4000) < 0.9
    exact, _ = serving.topk_dot(X, Y, 10, ptr, idx, mask)
    index = serving.ClusterIndex(Y, 64, seed=1)
    approx, _ = index.topk(X, 10, 16, ptr, idx, mask)
    found = np.mean([len(np.intersect1d(a, e)) / 10 for a, e in zip(approx, exact)])
    assert found > 0.95
    full, _ = index.topk(X, 10, 64, ptr, idx, mask)
    np.testing.assert_array_equal(full, exact)
    own = np.arange(300, dtype=np.int32)          # an item never returned for its own query
    mine, _ = index.topk(X, 10, 64, ptr, idx, mask, self_items=own)
    np.testing.assert_array_equal(mine, serving.topk_dot(X, Y, 10, ptr, idx, mask, self_items=own)[0])


# -- exploration ----------------------------------------------------------------------------
class Fixed(Recommender):
    """A stand-in model: everyone's scores are the item ids reversed (item 0 best)."""

    name = "fixed"

    def fit(self, interactions, ctx):
        self._remember(interactions, ctx)

    def _scores(self, users):
        return np.tile(-np.arange(self.n_items, dtype=np.float32), (len(users), 1))


def exploring(share, policy="thompson", epsilon=0.1, T=100, epoch=10):
    cat = Catalog(2, 2, 1)
    z = np.zeros(T)
    cat.append(artist=z.astype(np.int32), genre=z.astype(np.int16), style=np.ones((T, 2), np.float32),
               quality=z.astype(np.float32), length_s=z.astype(np.float32) + 100,
               intro_s=z.astype(np.float32), release_epoch=np.where(np.arange(T) >= 95, epoch, 0).astype(np.int32),
               audio=np.ones((T, 2), np.float32), tags=np.zeros((T, 1), np.int16), explicit=z.astype(bool),
               regions=np.ones(T, np.uint32), fraud=z.astype(bool))
    m = sp.csr_matrix((np.arange(1, T + 1, dtype=np.float32)[::-1], (np.arange(T) % 50, np.arange(T))),
                      shape=(50, T))                    # popularity falls with the item id
    rec = Exploring(Fixed(), ExplorationConfig(share=share, policy=policy, epsilon=epsilon,
                                               longtail_share=0.5, candidates=30), seed=3)
    rec.fit(m, FitContext(epoch, cat, np.zeros((50, 2), np.float32), 1.0, 1.0))
    return rec


def test_exploration_slots_hold_pool_tracks():
    rec = exploring(0.2)
    users = np.arange(50, dtype=np.int32)
    ex = sp.csr_matrix((np.ones(50), (users, users + 50)), shape=(50, 100))
    items, scores = rec.recommend(users, 10, exclude=ex)
    pos = slots(10, 2)
    assert pos.tolist() == [2, 7]
    pool = set(rec.pool.tolist())
    assert pool == set(range(50, 100))              # least-played half, and the new tracks 95-99
    assert all(i in pool for i in items[:, pos].ravel())
    rest = np.delete(items, pos, axis=1)
    np.testing.assert_array_equal(rest, np.tile(np.arange(8), (50, 1)))
    for u in users:
        assert len(set(items[u])) == 10 and u + 50 not in items[u]
    assert (np.diff(scores, axis=1) <= 0).all()


def test_thompson_learns_completion_rates():
    rec = exploring(0.1)
    good, bad = 60, 61
    rec.observe(np.r_[np.full(200, good), np.full(200, bad)], np.r_[np.ones(200, bool), np.zeros(200, bool)])
    items, _ = rec.recommend(np.arange(2000, dtype=np.int32) % 50 + 0, 10)
    picked = items[:, slots(10, 1)].ravel()
    assert (picked == good).sum() > 3 * max(1, (picked == bad).sum())


def test_epsilon_zero_is_greedy_on_posterior_mean():
    rec = exploring(0.1, policy="epsilon_greedy", epsilon=0.0)
    rec.observe(np.full(50, 70), np.ones(50, bool))
    items, _ = rec.recommend(np.arange(50, dtype=np.int32), 10)
    picked = items[:, slots(10, 1)].ravel()
    assert set(picked.tolist()) <= set(rec.pool.tolist())
    # exactly the users whose 30 candidate draws (hashes of key, user, draw) contain track 70 get it
    key, pool = np.uint64(rec.key), rec.pool
    drawn = [{int(pool[min(int(serving.hash_uniform(key, np.int64(u), np.uint64(t)) * len(pool)), len(pool) - 1)])
              for t in range(rec.xcfg.candidates)} for u in range(50)]
    expected = np.array([70 in d for d in drawn])
    assert 10 < expected.sum() < 40
    np.testing.assert_array_equal(picked == 70, expected)


def test_radio_neighbours_from_clusters_match_exact_ones():
    from streamsim.recommender.als import ALS
    from streamsim.core.config import RecommenderConfig

    rng = np.random.default_rng(5)
    groups = rng.integers(0, 8, 400)
    item_groups = rng.integers(0, 8, 300)
    dense = (groups[:, None] == item_groups[None, :]) & (rng.random((400, 300)) < 0.3)
    m = sp.csr_matrix(dense.astype(np.float32))
    ctx = FitContext(0, None, np.zeros((400, 2), np.float32), 1.0, 1.0)
    exact, approx = (ALS(RecommenderConfig(factors=8, candidates=c, n_clusters=16, n_probe=8),
                         np.random.SeedSequence(1)) for c in ("exact", "clusters"))
    exact.fit(m, ctx)
    approx.fit(m, ctx)
    items = np.arange(300, dtype=np.int32)
    _, want = exact.similar_items(items, 10)
    got, got_scores = approx.similar_items(items, 10)
    assert not (got == items[:, None]).any()
    assert all(len(set(row[row >= 0])) == (row >= 0).sum() for row in got)
    # planted groups make many neighbours equally similar: compare similarity, not identity
    assert got_scores.mean() > 0.95 * want.mean()
