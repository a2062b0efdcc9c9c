"""Test and calibration harnesses, importable by outside code as well as by our tests.

- :func:`synthetic_catalog`, :class:`FakeLedger` and :class:`NoisyOracle`: a realistic catalog
  and stand-ins for the ledger and the recommender, so the listening kernel and the channels
  can be run, calibrated and benchmarked without the whole model.
- :func:`calibration_run` and :func:`calibration_figures`: C1, C2 and C4 of calibration.md from
  the listeners and channels alone.
- :func:`toy_listeners`: identical listeners served by one channel, to test the kernel's mechanisms.
- :func:`synthetic_record`: a plausible random epoch record, for metric tests and benchmarks.
- :class:`RecommenderContract`: the checks every recommender must pass (subclass it in pytest
  with a ``make`` fixture, as ``implicit``'s shared test mixin is used).
"""

from __future__ import annotations

import dataclasses
from types import SimpleNamespace

import mesa
import numpy as np
import scipy.sparse as sp

from streamsim.agents.catalog import Catalog
from streamsim.agents.channels import Playlists, Pool, Slates, build_slates, next_releases
from streamsim.agents.listeners import ListenerPopulation
from streamsim.agents.listening import listen
from streamsim.agents.world import World, normalize
from streamsim.core.codes import PROGRAMMED, SOUGHT, Channel
from streamsim.core.config import BehaviourConfig, PayoutsConfig, Scenario
from streamsim.core.events import Events
from streamsim.core.units import SKIP_WINDOWS_S
from streamsim.recommender.base import FitContext


# ----------------------------------------------------------------------------------------------
# Calibration figures (calibration.md C1, C2, C4), measured on any epoch's events.

STREAM_THRESHOLD_S = BehaviourConfig.model_fields["stream_threshold_s"].default
"""The schema's default stream threshold, for the harness's defaults (one definition)."""


def calibration_figures(events: Events, catalog: Catalog, n_active: int,
                        stream_threshold_s: float = STREAM_THRESHOLD_S) -> dict[str, float]:
    """C1 skip shares, C2 streams per active listener, C4 channel shares of streams.

    Args:
        events: one epoch of exposures (human listeners only).
        catalog: the tracks (for lengths).
        n_active: active listeners in that epoch (the denominator of C2).
        stream_threshold_s: seconds that make a stream.
    """
    secs = events.seconds
    length = catalog.length_s[events.track]
    completed = secs >= length
    n = max(len(events), 1)
    skipped = ~completed
    within5 = (secs < SKIP_WINDOWS_S[0]) & skipped
    within30 = (secs < SKIP_WINDOWS_S[1]) & skipped
    stream = secs >= stream_threshold_s
    per_listener = np.bincount(events.listener[stream], minlength=int(events.listener.max(initial=-1)) + 1)
    counts = np.concatenate([per_listener[per_listener > 0],
                             np.zeros(max(n_active - int((per_listener > 0).sum()), 0), np.int64)])
    counts = np.sort(counts)[::-1]
    top20 = counts[: max(int(round(0.2 * len(counts))), 1)].sum() / max(counts.sum(), 1)
    by_channel = np.bincount(events.channel[stream], minlength=len(Channel)) / max(stream.sum(), 1)
    mean = counts.mean() if len(counts) else 0.0
    sd = counts.std() if len(counts) else 0.0
    skew = float(((counts - mean) ** 3).mean() / sd ** 3) if sd > 0 else 0.0
    return {
        "C1_skip_5s": float(within5.sum() / n),
        "C1_skip_30s": float(within30.sum() / n),
        "C1_skip_before_end": float(skipped.sum() / n),
        "C1_skips_in_first_30s": float(within30.sum() / max(skipped.sum(), 1)),
        "C2_streams_per_active": float(mean),
        "C2_streams_median": float(np.median(counts)) if len(counts) else 0.0,
        "C2_streams_skewness": skew,
        "C2_top20_share": float(top20),
        "C4_programmed": float(by_channel[list(PROGRAMMED)].sum()),
        "C4_library": float(by_channel[Channel.LIBRARY]),
        "C4_search": float(by_channel[Channel.SEARCH]),
        "C4_context": float(by_channel[Channel.CONTEXT]),
        "exposures_per_active": float(len(events) / max(n_active, 1)),
    }


def toy_listeners(catalog: Catalog, n: int, channel: Channel = Channel.LIBRARY, items=None, weights=None,
                  budget_s: float = 3600.0, cos: float = 0.5, attention: float = 1.0, mainstream=0.0,
                  length_ideal=210.0, intro_ideal=10.0, popularity=None, album_tracks: int = 10):
    """n identical listeners (but for the arrays given per listener) whose only channel is ``channel``.

    The channel's candidates are ``items`` (default every track), drawn with ``weights`` (default
    equal): one library row per listener, or one genre pool (editorial, search) that every listener's
    home genre (0) reaches. Taste has cosine ``cos`` with style axis 0. Returns (listeners, slates) as
    the kernel reads them; the slates carry each track's next release (:func:`next_releases`) and
    the centred artist ``popularity`` (default 0); albums hold ``album_tracks`` tracks.
    """
    T = len(catalog)
    items = np.arange(T, dtype=np.int32) if items is None else np.asarray(items, np.int32)
    taste = np.zeros((n, catalog.d_style), np.float32)
    taste[:, 0] = cos
    taste[:, 1] = np.sqrt(1 - cos ** 2)
    def column(v):
        return np.broadcast_to(np.asarray(v, np.float32), (n,)).copy()

    listeners = SimpleNamespace(
        n=n, taste=taste, budget_s=column(budget_s), attention=column(attention), region=np.zeros(n, np.int16),
        explicit_ok=np.ones(n, bool), genres=np.zeros((n, 2), np.int16), mainstream=column(mainstream),
        length_ideal=column(length_ideal), intro_ideal=column(intro_ideal))
    mix = np.zeros((n, len(Channel)), np.float32)
    mix[:, channel] = 1.0
    empty = Pool.from_lists([np.zeros(0, np.int32)])
    w = None if weights is None else [np.asarray(weights, np.float64)]
    pool = Pool.from_lists([items], w)
    library = Pool.from_lists([items] * n, None if w is None else w * n) if channel == Channel.LIBRARY else \
        Pool.from_lists([np.zeros(0, np.int32)] * n)
    slates = Slates(np.arange(n, dtype=np.int32), mix, np.zeros(0, np.int32), np.zeros((0, 5), np.int32),
                    np.zeros(0, np.int8), np.full(n, -1, np.int32), library, np.full(n, -1, np.int32),
                    np.full(T, -1, np.int32), np.zeros((0, 5), np.int32),
                    pool if channel == Channel.EDITORIAL else empty, pool if channel == Channel.SEARCH else empty,
                    empty, np.zeros(n, np.int32),
                    popularity=np.zeros(T, np.float32) if popularity is None else np.asarray(popularity, np.float32),
                    next_track=next_releases(catalog, album_tracks))
    return listeners, slates


# ----------------------------------------------------------------------------------------------
# Calibration harness: a realistic synthetic catalog and stand-ins for the ledger and the
# recommender, so the kernel can be calibrated and benchmarked on its own.

def synthetic_catalog(scenario: Scenario, world, n_tracks: int, rng: np.random.Generator,
                      tracks_per_artist: int = 15):
    """A back catalog drawn as DESIGN.md section 2 describes, and each track's prior popularity.

    Artists: genre by genre popularity, home style ``normalize(centre + 0.35 noise)``, talent
    N(0, 1), fame Pareto(1.2). Tracks: style ``normalize(home + 0.2 noise)``, quality
    N(talent, 0.3), length N(215, 45) s (at least 60), intro N(15, 8) s (at least 0), tags the
    nearest tag centres. Prior popularity ~ fame^1.2 * exp(quality), scaled to ~10 plays a track.
    """
    c = scenario.catalog
    n_art = max(n_tracks // tracks_per_artist, 1)
    genre_a = rng.choice(world.n_genres, n_art, p=world.genre_pop)
    home = normalize(world.genre_centres[genre_a] + 0.35 * rng.standard_normal((n_art, world.d_style)))
    talent = rng.standard_normal(n_art)
    fame = rng.pareto(1.2, n_art) + 1.0
    artist = rng.integers(0, n_art, n_tracks).astype(np.int32)
    style = normalize(home[artist] + c.style_noise * rng.standard_normal((n_tracks, world.d_style)))
    quality = talent[artist] + c.quality_sd * rng.standard_normal(n_tracks)
    tag_score = style @ world.tag_centres.T
    tags = np.argsort(-tag_score, axis=1)[:, : c.tags_per_track].astype(np.int16)
    catalog = Catalog(world.d_style, world.audio_map.shape[1], c.tags_per_track)
    catalog.append(artist=artist, genre=genre_a[artist], style=style, quality=quality,
                   length_s=np.maximum(rng.normal(c.length_mean_s, c.length_sd_s, n_tracks), 60.0),
                   intro_s=np.maximum(rng.normal(c.intro_mean_s, c.intro_sd_s, n_tracks), 0.0),
                   release_epoch=-rng.integers(1, 260, n_tracks), audio=world.audio(style, rng),
                   tags=tags, explicit=rng.random(n_tracks) < c.explicit_share,
                   regions=np.full(n_tracks, 0xFFFFFFFF, np.uint32), fraud=np.zeros(n_tracks, bool))
    prior = fame[artist] ** 1.2 * np.exp(quality)
    prior = np.round(10.0 * prior / prior.mean()).astype(np.int64)
    return catalog, prior


class FakeLedger:
    """The ledger's read side that channels use: last epoch's streams and recently heard pairs."""

    def __init__(self, track_streams: np.ndarray, threshold_s: float = STREAM_THRESHOLD_S, keep: int = 4):
        self.track_streams_last = np.asarray(track_streams, np.int64)
        self.track_streams_total = self.track_streams_last.copy()
        self.threshold_s = threshold_s
        self._heard: list[tuple[np.ndarray, np.ndarray]] = []
        self.keep = keep

    def record(self, events: Events, n_tracks: int) -> None:
        stream = events.seconds >= self.threshold_s
        self.track_streams_last = np.bincount(events.track[stream], minlength=n_tracks).astype(np.int64)
        self.track_streams_total = _grow_to(self.track_streams_total, n_tracks) + self.track_streams_last
        self._heard = (self._heard + [(events.listener, events.track)])[-self.keep:]

    def recent_heard(self, n_listeners: int, n_tracks: int, epochs: int | None = None):
        parts = self._heard[-(epochs or self.keep):]
        if not parts:
            return sp.csr_matrix((n_listeners, n_tracks), dtype=bool)
        rows = np.concatenate([p[0] for p in parts])
        cols = np.concatenate([p[1] for p in parts])
        m = sp.csr_matrix((np.ones(len(rows), bool), (rows, cols)), shape=(n_listeners, n_tracks))
        m.sum_duplicates()
        return m


def _grow_to(a: np.ndarray, n: int) -> np.ndarray:
    return a if len(a) >= n else np.concatenate([a, np.zeros(n - len(a), a.dtype)])


class NoisyOracle:
    """A stand-in recommender: expected true utility plus Gaussian noise, so its slates are good
    but not perfect (roughly what a trained factor model serves)."""

    def __init__(self, taste: np.ndarray, catalog: Catalog, w_taste: float, w_quality: float,
                 noise: float, seed: int = 0):
        self.taste, self.catalog = taste, catalog
        self.w_taste, self.w_quality, self.noise = w_taste, w_quality, noise
        self.rng = np.random.default_rng(seed)

    def recommend(self, users, k, exclude=None, allowed=None):
        cat = self.catalog
        out = np.full((len(users), k), -1, np.int32)
        scores = np.zeros((len(users), k), np.float32)
        for s in range(0, len(users), 1024):
            u = users[s:s + 1024]
            sc = (self.w_taste * self.taste[u] @ cat.style.T + self.w_quality * cat.quality[None, :]
                  + self.noise * self.rng.standard_normal((len(u), len(cat)))).astype(np.float32)
            if allowed is not None:
                sc[:, ~allowed] = -np.inf
            if exclude is not None:
                ex = exclude[u].tocoo()
                sc[ex.row, ex.col] = -np.inf
            top = np.argpartition(-sc, k, axis=1)[:, :k]
            top = np.take_along_axis(top, np.argsort(-np.take_along_axis(sc, top, axis=1), axis=1), axis=1)
            out[s:s + len(u)] = top
            scores[s:s + len(u)] = np.take_along_axis(sc, top, axis=1)
        out[~np.isfinite(scores)] = -1
        return out, scores

    def similar_items(self, items, k, allowed=None):
        """Nearest tracks by hidden style (computed once for the whole catalog and cached)."""
        cat = self.catalog
        if getattr(self, "_nbr", None) is None or self._nbr.shape != (len(cat), k):
            emb = normalize(cat.style)
            nbr = np.empty((len(cat), k), np.int32)
            for s in range(0, len(cat), 2048):
                sc = emb[s:s + 2048] @ emb.T
                sc[np.arange(sc.shape[0]), np.arange(s, s + sc.shape[0])] = -np.inf
                nbr[s:s + 2048] = np.argpartition(-sc, k, axis=1)[:, :k]
            self._nbr = nbr
        out = self._nbr[items].copy()
        if allowed is not None:
            out[~allowed[out]] = -1
        return out, np.zeros(out.shape, np.float32)


def calibration_run(scenario: Scenario, n_listeners: int = 5000, n_tracks: int = 20000,
                    epochs: int = 6, seed: int = 1, rec_noise: float = 2.0) -> list[dict[str, float]]:
    """Run listeners and channels alone for a few epochs and measure C1, C2 and C4 each epoch.

    Editorial playlists are the most streamed tracks of each genre; the recommender is a noisy
    oracle; the ledger is a stand-in. Returns one dict of figures per epoch.
    """
    scenario = scenario.replace(**{"listeners.count": n_listeners})
    rng = np.random.default_rng(seed)
    world = World.generate(scenario, rng)
    catalog, prior = synthetic_catalog(scenario, world, n_tracks, rng)
    model = mesa.Model(rng=np.random.default_rng(seed))
    listeners = ListenerPopulation(model, scenario, world, np.random.default_rng(seed + 1))
    b = scenario.listeners.behaviour
    rec = NoisyOracle(listeners.taste, catalog, b.w_taste, b.w_quality, rec_noise, seed)
    ledger = FakeLedger(prior, b.stream_threshold_s, max(scenario.recommender.exclude_heard_epochs, 1))
    ch = scenario.channels
    rows = []
    for epoch in range(epochs):
        rec.taste = listeners.taste
        pl_items, pl_genre = [], []
        for g in range(world.n_genres):
            ids = np.flatnonzero(catalog.genre == g)
            top = ids[np.argsort(-ledger.track_streams_last[ids], kind="stable")]
            for p in range(ch.editorial_playlists_per_genre):
                chunk = top[p * ch.editorial_capacity:(p + 1) * ch.editorial_capacity]
                pl_items.append(np.pad(chunk, (0, ch.editorial_capacity - len(chunk)), constant_values=-1))
                pl_genre.append(g)
        playlists = Playlists(np.array(pl_items, np.int32).reshape(-1, ch.editorial_capacity),
                              np.array(pl_genre, np.int16))
        n_active = int((listeners.active & ~listeners.is_bot).sum())
        listeners.seed_libraries(catalog, rng, ledger.track_streams_last[: len(catalog)].astype(np.float64))
        slates = build_slates(listeners, catalog, world, ledger, rec, playlists, scenario, epoch, rng)
        events = listen(listeners, slates, catalog, scenario, epoch, seed)
        ledger.record(events, len(catalog))
        row = calibration_figures(events, catalog, n_active, b.stream_threshold_s)
        new, churned = listeners.update(events, catalog, epoch, rng)
        row.update(epoch=epoch, new_listeners=new, churned=churned,
                   library_mean=float(np.diff(listeners.library_csr(len(catalog)).indptr).mean()),
                   satisfaction_mean=float(listeners.satisfaction[listeners.active].mean()))
        rows.append(row)
        rec.taste = listeners.taste
    return rows


# ----------------------------------------------------------------------------------------------
# The recommender contract: every registered kind, and any plugin, must pass these checks.

D, A = 4, 6   # style and audio dimensions of the contract world


def add_tracks(cat: Catalog, n: int, epoch: int, rng: np.random.Generator) -> np.ndarray:
    """Append n tracks in two style groups; audio = style through a fixed map plus noise."""
    group = np.arange(len(cat), len(cat) + n) % 2
    style = normalize(np.eye(D, dtype=np.float32)[group] + 0.3 * rng.standard_normal((n, D)))
    amap = np.random.default_rng(123).standard_normal((D, A)).astype(np.float32)
    return cat.append(
        artist=np.zeros(n, np.int32), genre=group.astype(np.int16), style=style,
        quality=rng.standard_normal(n).astype(np.float32), length_s=np.full(n, 200, np.float32),
        intro_s=np.full(n, 10, np.float32), release_epoch=np.full(n, epoch, np.int32),
        audio=(style @ amap + 0.1 * rng.standard_normal((n, A))).astype(np.float32),
        tags=np.zeros((n, 1), np.int16), explicit=np.zeros(n, np.bool_),
        regions=np.ones(n, np.uint32), fraud=np.zeros(n, np.bool_))


def plays(L: int, T: int, rng: np.random.Generator, density: float = 0.08) -> sp.csr_matrix:
    """Users of group u % 2 play mostly tracks of group t % 2."""
    u, t = np.nonzero(rng.random((L, T)) < density)
    same = (u % 2) == (t % 2)
    keep = same | (rng.random(len(u)) < 0.15)
    u, t = u[keep], t[keep]
    vals = rng.gamma(1.0, 2.0, len(u)).astype(np.float32) + 0.05
    return sp.csr_matrix((vals, (u, t)), shape=(L, T))


class ContractWorld:
    """A small growing world for the contract: a catalog, tastes and a play matrix."""

    def __init__(self, L=60, T=80, seed=0):
        self.rng = np.random.default_rng(seed)
        self.cat = Catalog(D, A, 1)
        add_tracks(self.cat, T, 0, self.rng)
        self.taste = normalize(np.eye(D, dtype=np.float32)[np.arange(L) % 2]
                               + 0.2 * self.rng.standard_normal((L, D)))
        self.m = plays(L, T, self.rng)

    def ctx(self, epoch=0):
        return FitContext(epoch, self.cat, self.taste, 2.0, 0.5, n_threads=None)

    def grow(self, dL, dT, epoch):
        add_tracks(self.cat, dT, epoch, self.rng)
        L, T = self.m.shape
        extra = normalize(np.eye(D, dtype=np.float32)[np.arange(L, L + dL) % 2]
                          + 0.2 * self.rng.standard_normal((dL, D)))
        self.taste = np.vstack([self.taste, extra])
        new = plays(L + dL, T + dT, self.rng, density=0.02)
        old = sp.csr_matrix((self.m.data, self.m.indices, self.m.indptr), shape=(L, T + dT))
        self.m = sp.csr_matrix(sp.vstack([old, sp.csr_matrix((dL, T + dT), dtype=np.float32)]) * 0.9 + new)


def check_slates(items, scores, n, k, exclude=None, users=None, allowed=None):
    assert items.shape == (n, k) and scores.shape == (n, k)
    assert items.dtype == np.int32 and scores.dtype == np.float32
    for r in range(n):
        row = items[r]
        got = row[row >= 0]
        assert len(np.unique(got)) == len(got), "duplicate in a slate"
        # padding only at the end, with -inf scores
        n_valid = len(got)
        assert (row[:n_valid] >= 0).all() and (row[n_valid:] == -1).all()
        assert np.isneginf(scores[r, n_valid:]).all() and np.isfinite(scores[r, :n_valid]).all()
        if exclude is not None and users[r] < exclude.shape[0]:
            assert not np.isin(got, exclude[users[r]].indices).any(), "excluded item served"
        if allowed is not None:
            assert allowed[got].all(), "disallowed item served"



class RecommenderContract:
    """The checks every recommender must pass (shapes, exclusions, allowed masks, no duplicates,
    similar items, determinism, growing catalogs and users, empty inputs).

    Subclass it in a pytest module and give it a fixture ``new_recommender`` returning a
    callable ``seed -> fresh recommender``::

        class TestMine(RecommenderContract):
            @pytest.fixture
            def new_recommender(self):
                return lambda seed: Mine(RecommenderConfig(), np.random.SeedSequence(seed))
    """

    def test_shapes_exclusions_allowed_no_duplicates(self, new_recommender):
        w = ContractWorld()
        rec = new_recommender(3)
        info = rec.fit(w.m, w.ctx())
        assert info.seconds >= 0
        L, T = w.m.shape
        users = np.array([0, 1, 5, L - 1, L + 3], np.int32)          # the last one is cold
        allowed = np.ones(T, np.bool_)
        allowed[::3] = False
        items, scores = rec.recommend(users, 10, exclude=w.m, allowed=allowed)
        check_slates(items, scores, len(users), 10, w.m, users, allowed)
        assert (items[:, :3] >= 0).all()
        # more slots than servable items: padded
        few = np.zeros(T, np.bool_)
        few[[1, 2, 4]] = True
        items, scores = rec.recommend(users, 6, allowed=few)
        check_slates(items, scores, len(users), 6, allowed=few)
        assert ((items >= 0).sum(axis=1) == 3).all()


    def test_similar_items(self, new_recommender):
        w = ContractWorld()
        rec = new_recommender(3)
        rec.fit(w.m, w.ctx())
        T = w.m.shape[1]
        q = np.array([0, 1, T - 1], np.int32)
        items, scores = rec.similar_items(q, 5)
        check_slates(items, scores, 3, 5)
        assert not (items == q[:, None]).any(), "an item is its own neighbour"
        allowed = np.arange(T) % 2 == 0
        items, _ = rec.similar_items(q, 5, allowed=allowed)
        assert allowed[items[items >= 0]].all()
        add_tracks(w.cat, 3, 1, w.rng)                                 # newer than the fit: cold
        items, scores = rec.similar_items(np.array([T, T + 2], np.int32), 4)
        check_slates(items, scores, 2, 4)
        assert (items >= 0).all()


    def test_deterministic_for_a_seed(self, new_recommender):
        out = []
        for _ in range(2):
            w = ContractWorld(seed=5)
            rec = new_recommender(11)
            rec.fit(w.m, w.ctx())
            users = np.arange(w.m.shape[0] + 2, dtype=np.int32)
            out.append(rec.recommend(users, 7, exclude=w.m) + rec.similar_items(np.arange(10), 4))
        for a, b in zip(*out):
            np.testing.assert_array_equal(a, b)


    def test_growing_catalog_and_users(self, new_recommender):
        w = ContractWorld()
        rec = new_recommender(3)
        rec.fit(w.m, w.ctx(0))
        for epoch in (1, 2):
            w.grow(7, 9, epoch)
            info = rec.fit(w.m, w.ctx(epoch))
            assert np.isfinite(info.seconds)
            L, T = w.m.shape
            users = np.arange(L, dtype=np.int32)
            items, scores = rec.recommend(users, 12, exclude=w.m)
            check_slates(items, scores, L, 12, w.m, users)
            assert items.max() < T
            nb_items, _ = rec.similar_items(np.arange(T - 9, T, dtype=np.int32), 3)
            assert (nb_items >= 0).all()
        # feedback of the epoch's exposures, then serving again before the next fit (as radio
        # and calibration do): full, valid slates, and the caller's arrays untouched
        tracks, completed = np.array([0, T - 1, T - 1, 5]), np.array([True, False, True, True])
        rec.observe(tracks, completed)
        assert tracks.tolist() == [0, T - 1, T - 1, 5] and completed.tolist() == [True, False, True, True]
        items, scores = rec.recommend(users, 12, exclude=w.m)
        check_slates(items, scores, L, 12, w.m, users)
        assert (items >= 0).all()


    def test_empty_rows_and_columns(self, new_recommender):
        w = ContractWorld()
        m = w.m.tolil()
        m[3, :] = 0
        m[:, 5] = 0
        m = sp.csr_matrix(m)
        m.eliminate_zeros()
        rec = new_recommender(3)
        rec.fit(m, w.ctx())
        items, scores = rec.recommend(np.array([3, 4], np.int32), 5, exclude=m)
        check_slates(items, scores, 2, 5, m, np.array([3, 4]))
        assert (items >= 0).all()
        items, _ = rec.similar_items(np.array([5], np.int32), 3)
        assert (items >= 0).all()


    def test_all_zero_matrix(self, new_recommender):
        w = ContractWorld()
        m = sp.csr_matrix(w.m.shape, dtype=np.float32)
        rec = new_recommender(3)
        rec.fit(m, w.ctx())
        items, scores = rec.recommend(np.arange(5, dtype=np.int32), 4)
        check_slates(items, scores, 5, 4)
        assert (items >= 0).all()
        items, scores = rec.similar_items(np.arange(3, dtype=np.int32), 4)
        check_slates(items, scores, 3, 4)


    def test_empty_requests(self, new_recommender):
        w = ContractWorld()
        rec = new_recommender(3)
        rec.fit(w.m, w.ctx())
        items, scores = rec.recommend(np.zeros(0, np.int32), 5)
        assert items.shape == (0, 5) and scores.shape == (0, 5)
        items, scores = rec.similar_items(np.zeros(0, np.int32), 5)
        assert items.shape == (0, 5)


# ----------------------------------------------------------------------------------------------
# A synthetic epoch record, for metric tests and benchmarks.

def synthetic_record(n_listeners: int, n_tracks: int, n_artists: int, n_exposures: int, seed: int = 0,
                     d: int = 8, slate_size: int = 50, epoch: int = 10):
    """Plausible random inputs of one epoch as (EpochRecord, Scenario); not a model of anything.

    Track popularity and artist size are heavy-tailed, exposures pick tracks by popularity,
    seconds played mix early skips, abandonments and completions, and every registered payout
    rule is settled on the result.
    """
    from streamsim.economics import revenue as money
    from streamsim.economics.rules import settle_all
    from streamsim.economics.tables import StreamTable, sum_by
    from streamsim.sim.record import Artists, EpochRecord, Listeners, Served, Tracks

    rng = np.random.default_rng(seed)
    artist_weight = rng.lognormal(0.0, 1.5, n_artists)
    track_artist = np.sort(rng.choice(n_artists, n_tracks, p=artist_weight / artist_weight.sum())).astype(np.int32)
    pop = rng.lognormal(0.0, 1.5, n_tracks) * artist_weight[track_artist]
    cdf = np.cumsum(pop / pop.sum())
    ev_track = np.minimum(np.searchsorted(cdf, rng.random(n_exposures)), n_tracks - 1).astype(np.int32)
    ev_listener = np.sort(rng.integers(0, n_listeners, n_exposures, dtype=np.int32))
    length = rng.normal(215, 45, n_tracks).clip(40, 900).astype(np.float32)
    u = rng.random(n_exposures, dtype=np.float32)
    full = length[ev_track]
    seconds = np.where(u < 0.24, u / 0.24 * 5, np.where(u < 0.35, 5 + (u - 0.24) / 0.11 * 25,
                       np.where(u < 0.49, 30 + (u - 0.35) / 0.14 * (full - 30), full))).astype(np.float32)
    channel = rng.integers(0, len(Channel), n_exposures).astype(np.int8)
    stream = seconds >= 30
    events = Events(ev_listener, ev_track, channel, seconds, rng.normal(0.5, 1.0, n_exposures),
                    np.zeros(n_exposures, bool))
    table = StreamTable.from_events(ev_listener, ev_track, stream, np.isin(channel, SOUGHT), track_artist, n_tracks,
                                    seconds)

    def unit(n: int) -> np.ndarray:
        x = rng.standard_normal((n, d)).astype(np.float32)
        return x / np.linalg.norm(x, axis=1, keepdims=True)

    scenario = Scenario().replace(**{"world.d_style": d, "channels.slate_size": slate_size})
    cfg: PayoutsConfig = scenario.payouts
    premium = rng.random(n_listeners) < 0.45
    active = rng.random(n_listeners) < 0.97
    revenue = money.listener_revenue(premium, active, cfg)
    track_streams = sum_by(table.track, table.streams, n_tracks)
    scale = money.Scale.of(money.auto_scale(track_streams, n_tracks), n_tracks, n_artists)
    trailing = track_streams * 52 * rng.random(n_tracks)
    settlement = settle_all(table, revenue, n_tracks, n_artists, cfg, trailing, scale)
    fame_rank = np.argsort(np.argsort(-artist_weight))
    tier = np.where(fame_rank < 0.01 * n_artists, 0, np.where(fame_rank < 0.1 * n_artists, 1, 2)).astype(np.int8)
    users = np.arange(n_listeners, dtype=np.int32)
    oracle_users = np.sort(rng.choice(n_listeners, min(n_listeners, 2000), replace=False)).astype(np.int32)
    tracks = Tracks(track_artist, rng.integers(-200, epoch + 1, n_tracks).astype(np.int32), length,
                    rng.gamma(3.0, 5.0, n_tracks).astype(np.float32), unit(n_tracks),
                    rng.normal(0, 1, n_tracks).astype(np.float32), rng.random(n_tracks) < 0.001,
                    track_streams * (1 + 30 * rng.random(n_tracks)))
    record = EpochRecord(
        epoch=epoch, events=events, stream=stream, completed=seconds >= full, table=table, settlement=settlement,
        revenue=revenue, settled_active=active, pool=money.pool_of(revenue, cfg), scale=scale,
        trailing_streams=trailing, history_epochs=cfg.threshold.window_epochs, fit_seconds=1.5, fit_loss=0.25,
        new_tracks=np.flatnonzero(tracks.release_epoch == epoch).astype(np.int32),
        new_artists=np.zeros(0, np.int32), arrivals=int(0.01 * n_listeners), churned=int(0.005 * n_listeners),
        served=Served(users, rng.integers(-1, n_tracks, (n_listeners, slate_size)).astype(np.int32)),
        served_before=Served(users, rng.integers(-1, n_tracks, (n_listeners, slate_size)).astype(np.int32)),
        oracle_users=oracle_users, oracle_utility=rng.normal(2.0, 0.3, len(oracle_users)),
        served_utility=rng.normal(1.0, 0.3, len(oracle_users)), metric_seed=seed,
        tracks=tracks,
        artists=synthetic_artists(tier, artist_weight, epoch, rng),
        listeners=Listeners(active, np.zeros(n_listeners, bool), unit(n_listeners),
                            rng.normal(0.5, 0.2, n_listeners).astype(np.float32), premium))
    return record, scenario


def synthetic_artists(tier: np.ndarray, weight: np.ndarray, epoch: int, rng: np.random.Generator):
    """Artist state for a synthetic record: contracts, labels and trailing streams drawn around ``weight``."""
    from streamsim.sim.record import Artists

    n = len(tier)
    contract = rng.integers(0, 3, n).astype(np.int8)
    return Artists(tier, contract == 0, rng.integers(-5, epoch + 1, n).astype(np.int32), fame_tier=tier.copy(),
                   contract=contract, label=np.where(contract < 2, rng.integers(0, 10, n), -1).astype(np.int32),
                   active=rng.random(n) < 0.95, fraud=np.zeros(n, bool),
                   trailing_streams=52 * weight * rng.lognormal(0.0, 0.3, n),
                   release_rate=rng.gamma(2.0, 0.03, n).astype(np.float32))


def empty_record(d: int = 8, k: int = 10, epoch: int = 0, **fields):
    """An EpochRecord of an epoch in which nothing existed, with ``fields`` replaced (e.g. a tiny
    hand-made epoch for known-answer tests)."""
    from streamsim.economics.revenue import Scale
    from streamsim.economics.tables import StreamTable
    from streamsim.sim.record import Artists, EpochRecord, Listeners, Served, Tracks

    i32, f32, no = np.zeros(0, np.int32), np.zeros(0, np.float32), np.zeros(0, bool)
    base = EpochRecord(
        epoch=epoch, events=Events.empty(), stream=no, completed=no, table=StreamTable.empty(), settlement={},
        revenue=np.zeros(0), settled_active=no, pool=0.0, scale=Scale(1.0, 1.0),
        trailing_streams=np.zeros(0, np.int64), history_epochs=0, fit_seconds=0.0, fit_loss=float("nan"),
        new_tracks=i32, new_artists=i32, arrivals=0, churned=0, served=Served.none(k),
        served_before=Served.none(k), oracle_users=i32, oracle_utility=np.zeros(0),
        served_utility=np.zeros(0), metric_seed=0,
        tracks=Tracks(i32, i32, f32, f32, np.zeros((0, d), np.float32), f32, no, np.zeros(0)),
        artists=Artists(np.zeros(0, np.int8), no, i32),
        listeners=Listeners(no, no, np.zeros((0, d), np.float32), f32, no))
    return dataclasses.replace(base, **fields)


# -- the Goodhart loop end to end (tests/test_goodhart.py, benchmarks/goodhart_incentives.py) --------

GOODHART_WORLD = {
    "listeners.count": 300, "artists.count": 60, "artists.release_rate": 0.4, "artists.entry_rate": 0.0,
    "catalog.back_catalog_years": 1.0, "recommender.kind": "popularity",
    "artists.adaptation.adaptive_share": 1.0, "artists.adaptation.evaluation_epochs": 4,
    "artists.labels.act": True, "artists.labels.decision_epochs": 2,
    "metrics.eval_listeners": 20, "metrics.jaccard_pairs": 20, "metrics.diversity_listeners": 20}
"""A small world where artists and labels adapt: big enough to measure incentives in 20 weeks."""

GOODHART_RULES = ("pro_rata", "duration")
FEATURES = ("length", "intro")


@dataclasses.dataclass
class GoodhartRun:
    """One adaptive run: how the artists' targets drifted and what each judged release earned.

    Attributes:
        drift: feature -> mean change of the initial artists' targets over the run (s).
        income: rule -> each judged release's payout over its first evaluation_epochs epochs
            (every rule settled on the same streams).
        artist: artist of each judged release.
        deviation: feature -> each judged release's feature minus what its artist aimed at.
    """

    drift: dict[str, float]
    income: dict[str, np.ndarray]
    artist: np.ndarray
    deviation: dict[str, np.ndarray]


def goodhart_run(rule: str, seed: int, epochs: int, world: dict | None = None,
                 rules: tuple[str, ...] = GOODHART_RULES) -> GoodhartRun:
    """Run the small adaptive world with ``rule`` in force; no payoff is imposed."""
    from streamsim.sim.model import StreamingModel

    sc = Scenario().replace(**{**(world or GOODHART_WORLD), "run.seed": seed, "run.epochs": epochs,
                               "payouts.active": rule})
    model = StreamingModel(sc)
    arts = model.artists
    start = {"length": arts.target_length_s.copy(), "intro": arts.target_intro_s.copy()}
    h = sc.artists.adaptation.evaluation_epochs
    income = {r: np.zeros(0) for r in rules}
    for _ in range(epochs):
        record = model.step()
        age = record.epoch - record.tracks.release_epoch
        young = (age >= 0) & (age < h)
        for r in rules:
            paid = record.settlement[r]
            income[r] = np.concatenate([income[r], np.zeros(len(paid) - len(income[r]))])
            income[r][young] += paid[young]
    cat = model.catalog
    judged = np.flatnonzero((cat.release_epoch >= 0) & (cat.release_epoch + h <= epochs))
    aim = arts.aims()[judged]
    n = len(start["length"])
    return GoodhartRun(
        drift={"length": float(np.mean(arts.target_length_s[:n] - start["length"])),
               "intro": float(np.mean(arts.target_intro_s[:n] - start["intro"]))},
        income={r: income[r][judged] for r in rules}, artist=cat.artist[judged],
        deviation={"length": cat.length_s[judged] - aim[:, 0], "intro": cat.intro_s[judged] - aim[:, 1]})


def _pooled(runs: list[GoodhartRun], outcome) -> tuple[np.ndarray, np.ndarray]:
    """Artists (made distinct across runs) and an outcome per judged release, over several runs."""
    artist = np.concatenate([r.artist.astype(np.int64) + (k << 32) for k, r in enumerate(runs)])
    return artist, np.concatenate([outcome(r) for r in runs])


def incentive_t(runs: list[GoodhartRun], rule: str, feature: str) -> float:
    """t of the slope of relative income under ``rule`` on the feature's deviation from its aim,
    pooled over every judged release of the runs (the labels' estimator, one unit)."""
    from streamsim.agents.artists import relative_income, slope_t

    artist, y = _pooled(runs, lambda r: relative_income(r.artist, r.income[rule]))
    _, x = _pooled(runs, lambda r: r.deviation[feature])
    return float(slope_t(np.zeros(len(artist), np.int64), artist, y, x, 1)[0])


def incentive_gap_t(runs: list[GoodhartRun], feature: str, rule: str = "duration", base: str = "pro_rata") -> float:
    """t of the slope of ``rule``'s minus ``base``'s relative income on the feature's deviation:
    the same releases on the same streams, so popularity and luck cancel."""
    from streamsim.agents.artists import relative_income, slope_t

    artist, gap = _pooled(runs, lambda r: relative_income(r.artist, r.income[rule])
                          - relative_income(r.artist, r.income[base]))
    _, x = _pooled(runs, lambda r: r.deviation[feature])
    return float(slope_t(np.zeros(len(artist), np.int64), artist, gap, x, 1)[0])
