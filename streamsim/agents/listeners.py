"""The listener population: one Mesa agent holding every listener as columns (struct of arrays).

Rows are listener ids and never change: arrivals append rows, churned listeners keep theirs with
``active`` False, stream-farm bots are rows flagged ``is_bot``. Everything per epoch is
vectorised; see DESIGN.md sections 2-3 and docs/MODEL.md (section 3) for the equations.
"""

from __future__ import annotations

import mesa
import numba as nb
import numpy as np
import scipy.sparse as sp

from streamsim.agents.catalog import Catalog
from streamsim.agents.world import World, normalize
from streamsim.core.codes import CHANNELS, Channel
from streamsim.core.config import Scenario
from streamsim.core.events import Events
from streamsim.core.units import SECONDS_PER_EPOCH
from streamsim.core.utility import centred_popularity, form_utility, mainstream_utility, tilt_quantile

ATTENTION_LOG_SD = 0.3       # spread of attention (sd of log), around attention_mean
OPENNESS_CONCENTRATION = 4.0  # Beta(k*mean, k*(1-mean)): openness varies widely between people
DISCOVERY = np.isin(np.arange(len(Channel)), [Channel.PERSONALISED, Channel.RADIO, Channel.SEARCH, Channel.EDITORIAL])
LIBRARY_CANDIDATES = 8        # initial library: candidates drawn per saved slot
PARTS = 64                    # stretches of a block that the per-listener tallies split over threads


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * x))


def shifted_rate(rate: float, z: np.ndarray) -> np.ndarray:
    """The probability whose log-odds are those of ``rate`` plus ``z``: ``σ(logit(rate) + z)``.

    Written as ``1 / (1 + (1 − rate) / (rate·e^z))``: each step is monotone in z, so the result
    never falls as z rises, even by a rounding step near 1, and rates of exactly 0 and 1 stay 0
    and 1; ``z`` is clipped to ±60 (e^60 is already certainty in float64).
    """
    e = np.exp(np.clip(np.asarray(z, np.float64), -60.0, 60.0))
    odds = rate * e
    with np.errstate(over="ignore"):          # a denormal rate: inverse odds beyond float64 are inf
        inverse = np.divide(1.0 - rate, odds, out=np.full(odds.shape, np.inf), where=odds > 0)
    return 1.0 / (1.0 + inverse)


def pad_csr(m: sp.csr_matrix, shape: tuple[int, int]) -> sp.csr_matrix:
    """The matrix grown to ``shape`` with empty rows and columns (never shrunk)."""
    rows, cols = shape
    if m.shape == shape:
        return m
    indptr = np.concatenate([m.indptr, np.full(rows - m.shape[0], m.indptr[-1], m.indptr.dtype)])
    return sp.csr_matrix((m.data, m.indices, indptr), shape=(rows, max(cols, m.shape[1])))


@nb.njit(cache=True)
def _stretches(listener, parts):
    """Bounds of up to ``parts`` consecutive stretches of events that split no listener's run."""
    n = len(listener)
    bounds = np.empty(parts + 1, np.int64)
    bounds[0] = 0
    for p in range(1, parts):
        k = max(n * p // parts, bounds[p - 1])
        while 0 < k < n and listener[k] == listener[k - 1]:
            k += 1
        bounds[p] = k
    bounds[parts] = n
    return bounds


def parts_for(listener: np.ndarray) -> int:
    """Stretches the per-listener kernels may run in parallel: several if each listener's
    events are consecutive (a block sorted by listener, as the kernel makes them), else one,
    so that a listener's sums always run in event order on one thread."""
    return PARTS if len(listener) > 1 and bool(np.all(listener[1:] >= listener[:-1])) else 1


@nb.njit(parallel=True, cache=True)
def _tally(listener, track, channel, seconds, utility, length, is_bot, threshold_s, plays, util_sum, early_n, last,
           parts):
    """Add, per human listener and channel, plays, summed utility and early skips (in place), and
    set each listener's last track played past the early-skip window, in event order. An early
    skip ends before the stream threshold and before the end of the track."""
    bounds = _stretches(listener, parts)
    for p in nb.prange(parts):
        for i in range(bounds[p], bounds[p + 1]):
            lid = listener[i]
            if is_bot[lid]:
                continue
            c = channel[i]
            plays[lid, c] += 1
            util_sum[lid, c] += utility[i]
            if seconds[i] < threshold_s and seconds[i] < length[track[i]]:
                early_n[lid, c] += 1
            else:
                last[lid] = track[i]


@nb.njit(parallel=True, cache=True)
def _add_played(indptr, indices, data, listener, track, seconds, length, is_bot, parts):
    """Add each human play's played fraction to the affinity of the track if it is saved
    (in place; rows of the library hold sorted track ids)."""
    n_rows = len(indptr) - 1
    bounds = _stretches(listener, parts)
    for p in nb.prange(parts):
        for i in range(bounds[p], bounds[p + 1]):
            lid = listener[i]
            if lid >= n_rows or is_bot[lid]:
                continue
            t = track[i]
            lo = indptr[lid]
            hi = indptr[lid + 1]
            end = hi
            while lo < hi:
                mid = (lo + hi) >> 1
                if indices[mid] < t:
                    lo = mid + 1
                else:
                    hi = mid
            if lo < end and indices[lo] == t:
                data[lo] += min(seconds[i] / max(length[t], 1.0), 1.0)


class ListenerPopulation(mesa.Agent):
    """Every listener, as arrays; ``update`` is one epoch of satisfaction, churn, drift and arrivals.

    Attributes:
        n: rows ever created.
        taste: (n, d) unit taste vectors in the hidden style space.
        genres: (n, 2) home genres, -1 when the listener has only one.
        region, explicit_ok: serving filters (explicit_ok False = filters explicit tracks).
        budget_s: listening seconds per epoch (log-normal).
        openness: appetite for the unknown (0-1); attention: tolerance of long intros (1 = average).
        mainstream: preference for globally popular (> 0) over obscure (< 0) artists, N(0, 1).
        length_ideal, intro_ideal: the length and time to the hook the listener values most (s).
        premium: paid tier; mix: (n, 6) channel shares over ``streamsim.core.codes.Channel``.
        budget_base_s, mix_base: the budget and mix drawn at arrival; ``budget_s`` and ``mix`` are
            these moved by satisfaction and channel value (``listeners.engagement``).
        satisfaction: EMA of realised utility minus skip frustration (epoch-0 listeners start at
            ``initial_satisfaction``, arrivals at their first week's value); active: not churned.
        channel_value: (n, 6) the same EMA per channel, NaN until the listener plays from it.
        join_epoch: epoch of arrival; is_bot: stream-farm account; plays_total: plays so far.
        last_track: last track played in full or abandoned late (radio seed), -1 if none.
    """

    def __init__(self, model: mesa.Model, scenario: Scenario, world: World, rng: np.random.Generator):
        super().__init__(model)
        self.sc = scenario
        self.cfg = scenario.listeners
        self.world = world
        d = world.d_style
        self.n = 0
        self.taste = np.zeros((0, d), np.float32)
        self.genres = np.zeros((0, 2), np.int16)
        self.region = np.zeros(0, np.int16)
        self.explicit_ok = np.zeros(0, bool)
        self.budget_s = np.zeros(0, np.float32)
        self.openness = np.zeros(0, np.float32)
        self.attention = np.zeros(0, np.float32)
        self.mainstream = np.zeros(0, np.float32)
        self.length_ideal = np.zeros(0, np.float32)
        self.intro_ideal = np.zeros(0, np.float32)
        self.premium = np.zeros(0, bool)
        self.mix = np.zeros((0, len(CHANNELS)), np.float32)
        self.budget_base_s = np.zeros(0, np.float32)
        self.mix_base = np.zeros((0, len(CHANNELS)), np.float32)
        self.channel_value = np.zeros((0, len(CHANNELS)), np.float32)
        self.satisfaction = np.zeros(0, np.float32)
        self.active = np.zeros(0, bool)
        self.join_epoch = np.zeros(0, np.int32)
        self.is_bot = np.zeros(0, bool)
        self.plays_total = np.zeros(0, np.int64)
        self.last_track = np.zeros(0, np.int32)
        self._library = sp.csr_matrix((0, 0), dtype=np.float32)
        self._consumed = sp.csr_matrix((0, 0), dtype=bool)
        self.libraries_seeded = False
        self.awaiting_library = np.zeros(0, np.int64)
        self._append(self._draw(self.cfg.count, rng), join_epoch=0, is_bot=False)
        self.satisfaction[:] = self.cfg.initial_satisfaction
        self.channel_value[:] = self.cfg.initial_satisfaction

    # -- creation -------------------------------------------------------------------------------
    def _draw(self, count: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
        """Columns of ``count`` new human listeners (cold: no plays, empty library)."""
        cfg, world = self.cfg, self.world
        G = world.n_genres
        first = rng.choice(G, size=count, p=world.genre_pop)
        second = np.full(count, -1, np.int64)
        two = (rng.random(count) < cfg.two_genre_share) & (G > 1)
        if two.any():
            # a second genre, drawn by popularity among the other genres
            p = np.broadcast_to(world.genre_pop, (int(two.sum()), G)).copy()
            p[np.arange(len(p)), first[two]] = 0.0
            cum = np.cumsum(p / p.sum(axis=1, keepdims=True), axis=1)
            second[two] = np.minimum((cum < rng.random((len(p), 1))).sum(axis=1), G - 1)
        genres = np.stack([first, second], axis=1).astype(np.int16)
        centre = world.genre_centres[first] + np.where(two[:, None], world.genre_centres[np.maximum(second, 0)], 0)
        taste = world.tastes(count, centre, cfg.taste_noise, rng)

        # mainstreamness: an artist-level trait (Bauer & Schedl 2019), which activity may follow
        mainstream = rng.standard_normal(count)
        rho = cfg.activity_mainstream_corr
        z = rho * mainstream + np.sqrt(1 - rho ** 2) * rng.standard_normal(count)
        budget = cfg.budget_median_min * 60.0 * np.exp(cfg.budget_sigma * z)

        m = min(max(cfg.openness_mean, 1e-3), 1 - 1e-3)
        openness = rng.beta(OPENNESS_CONCENTRATION * m, OPENNESS_CONCENTRATION * (1 - m), count)
        attention = cfg.attention_mean * np.exp(ATTENTION_LOG_SD * rng.standard_normal(count)
                                                - 0.5 * ATTENTION_LOG_SD ** 2)
        form = cfg.form
        # normal ideals, truncated at a stream's length and at an immediate hook
        length_ideal = np.maximum(rng.normal(form.length_ideal_mean_s, form.length_ideal_sd_s, count),
                                  cfg.behaviour.stream_threshold_s)
        intro_ideal = np.maximum(rng.normal(form.intro_ideal_mean_s, form.intro_ideal_sd_s, count), 0.0)
        return {
            "taste": taste, "genres": genres,
            "region": rng.integers(0, self.sc.world.n_regions, count).astype(np.int16),
            "explicit_ok": rng.random(count) >= cfg.explicit_filter_share,
            "budget_s": budget, "openness": openness, "attention": attention, "mainstream": mainstream,
            "length_ideal": length_ideal, "intro_ideal": intro_ideal,
            "premium": rng.random(count) < cfg.premium_share,
            "mix": self._draw_mix(openness, rng),
        }

    def _draw_mix(self, openness: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """The scenario mix perturbed per listener: log-weights + N(0, mix_sd) + openness tilt."""
        ch = self.sc.channels
        base = np.array([getattr(ch.mix, c) for c in CHANNELS])
        logw = np.where(base > 0, np.log(np.maximum(base, 1e-300)), -np.inf)
        tilt = self.cfg.openness_tilt * (openness - self.cfg.openness_mean)[:, None] * np.where(DISCOVERY, 1.0, -1.0)
        noise = ch.mix_sd * rng.standard_normal((len(openness), len(CHANNELS)))
        w = np.exp(np.where(np.isfinite(logw), logw + tilt + noise, -np.inf))
        return w / w.sum(axis=1, keepdims=True)

    def _append(self, cols: dict[str, np.ndarray], join_epoch: int, is_bot: bool) -> np.ndarray:
        count = len(cols["budget_s"])
        ids = np.arange(self.n, self.n + count, dtype=np.int32)
        dtypes = {"taste": np.float32, "genres": np.int16, "region": np.int16, "explicit_ok": bool,
                  "budget_s": np.float32, "openness": np.float32, "attention": np.float32,
                  "mainstream": np.float32, "length_ideal": np.float32, "intro_ideal": np.float32,
                  "premium": bool, "mix": np.float32}
        for name, dtype in dtypes.items():
            setattr(self, name, np.concatenate([getattr(self, name), np.asarray(cols[name], dtype)]))
        self.satisfaction = np.concatenate([self.satisfaction, np.zeros(count, np.float32)])
        self.active = np.concatenate([self.active, np.ones(count, bool)])
        self.join_epoch = np.concatenate([self.join_epoch, np.full(count, join_epoch, np.int32)])
        self.is_bot = np.concatenate([self.is_bot, np.full(count, is_bot)])
        self.plays_total = np.concatenate([self.plays_total, np.zeros(count, np.int64)])
        self.last_track = np.concatenate([self.last_track, np.full(count, -1, np.int32)])
        self.budget_base_s = np.concatenate([self.budget_base_s, np.asarray(cols["budget_s"], np.float32)])
        self.mix_base = np.concatenate([self.mix_base, np.asarray(cols["mix"], np.float32)])
        self.channel_value = np.concatenate([self.channel_value, np.full((count, len(CHANNELS)), np.nan, np.float32)])
        self.n += count
        return ids

    def add_bots(self, count: int, premium: bool, epoch: int) -> np.ndarray:
        """Stream-farm accounts: active, never churn, no budget or mix (they skip the kernel)."""
        d = self.world.d_style
        cols = {"taste": np.zeros((count, d)), "genres": np.full((count, 2), -1),
                "region": np.zeros(count), "explicit_ok": np.ones(count, bool),
                "budget_s": np.zeros(count), "openness": np.zeros(count), "attention": np.ones(count),
                "mainstream": np.zeros(count), "length_ideal": np.zeros(count), "intro_ideal": np.zeros(count),
                "premium": np.full(count, premium), "mix": np.zeros((count, len(CHANNELS)))}
        return self._append(cols, join_epoch=epoch, is_bot=True)

    # -- libraries ------------------------------------------------------------------------------
    def library_csr(self, n_tracks: int) -> sp.csr_matrix:
        """Saved tracks per listener (n x n_tracks, float32 affinity weights, sorted indices)."""
        return pad_csr(self._library, (self.n, max(n_tracks, self._library.shape[1])))

    def consumed_csr(self, n_tracks: int) -> sp.csr_matrix:
        """Every (listener, track) pair ever played (kept in slate_argmax mode only)."""
        return pad_csr(self._consumed, (self.n, max(n_tracks, self._consumed.shape[1])))

    @property
    def awaiting_collections(self) -> bool:
        """True when some listeners have joined without the collection they bring (seed_libraries)."""
        return not self.libraries_seeded or len(self.awaiting_library) > 0

    def seed_libraries(self, catalog: Catalog, rng: np.random.Generator,
                       popularity: np.ndarray | None = None) -> None:
        """Give the listeners who have just joined the collection they bring: ``initial_library``
        tracks each for the epoch-0 population, ``arrival_library`` for later arrivals.

        Candidates are drawn from the listener's genres with probability proportional to
        ``(popularity + 1)^initial_library_popularity_exponent`` (plays before the listener joins:
        people collect what they heard on the radio, from friends, on other services; uniform
        within the genre when ``popularity`` is None or the exponent is 0); the best by
        expected utility plus Gumbel noise are kept, so the collection matches taste without
        being an oracle's pick. Expected utility is the kernel's without noise: taste, quality,
        form, and mainstreamness against the artist's percentile of plays; mainstreamness
        also tilts the candidates' draw toward the genre's hits or its tail (a mainstream listener
        collects the stars, a niche one the obscure). The model calls it before each epoch's
        slates with the plays of the epoch before (at epoch 0, the seeded history of the back
        catalog): the catalog does not exist when the population is made.
        """
        if not self.libraries_seeded:
            self.libraries_seeded = True
            ids, L = np.flatnonzero(~self.is_bot & self.active), self.cfg.initial_library
        else:
            ids, L = self.awaiting_library, self.cfg.arrival_library
        self.awaiting_library = np.zeros(0, np.int64)
        T = len(catalog)
        if L == 0 or T == 0 or len(ids) == 0:
            return
        rows, cols = self._collections(ids, L, catalog, rng, popularity)
        shape = (self.n, max(T, self._library.shape[1]))
        lib = sp.csr_matrix((np.ones(len(rows), np.float32), (rows, cols)), shape=shape)
        lib.sum_duplicates()
        lib.data[:] = 1.0
        if self._library.shape[0]:
            # the joiners' rows are empty: adding puts each of their tracks at affinity 1
            lib = (pad_csr(self._library, shape) + lib).tocsr()
            lib.sort_indices()
        self._library = lib

    def _collections(self, humans: np.ndarray, L: int, catalog: Catalog, rng: np.random.Generator,
                     popularity: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        """(listener, track) pairs of the collections ``humans`` bring, ``L`` tracks each at most."""
        T = len(catalog)
        b = self.cfg.behaviour
        # the prior plays: each genre's tracks most played first (the order the mainstreamness tilt reads)
        prior = np.zeros(T) if popularity is None else np.asarray(popularity[:T], np.float64)
        prior = np.concatenate([prior, np.zeros(T - len(prior))])
        order = np.lexsort((-prior, catalog.genre))
        starts = np.searchsorted(catalog.genre[order], np.arange(self.world.n_genres + 1))
        sizes = np.diff(starts)
        e = self.cfg.initial_library_popularity_exponent
        weighted = popularity is not None and e > 0
        if weighted:
            w = np.zeros(T)
            k = min(len(popularity), T)
            # + 1: a track without plays in the sampled history can still be in a collection
            w[:k] = (np.maximum(np.asarray(popularity[:k], np.float64), 0.0) + 1.0) ** e
            cum = np.cumsum(w[order])                      # running weight in genre order
            base = np.concatenate([[0.0], cum])[starts]     # weight before each genre's block
            mass = base[1:] - base[:-1]
            sizes = np.where(mass > 0, sizes, 0)            # a genre with no plays: uniform fallback below
        C = L * LIBRARY_CANDIDATES
        # the popularity the collection was built under: each track's artist's percentile of prior plays
        artist_plays = np.bincount(catalog.artist, weights=prior, minlength=int(catalog.artist.max()) + 1)
        centred = centred_popularity(artist_plays)[catalog.artist]
        form = self.cfg.form
        rows, cols = [], []
        for s in range(0, len(humans), 8192):
            ids = humans[s:s + 8192]
            gi = np.where(self.genres[ids, 1][:, None] >= 0,
                          self.genres[ids][np.arange(len(ids))[:, None], rng.integers(0, 2, (len(ids), C))],
                          self.genres[ids, 0][:, None]).astype(np.int64)
            size = sizes[gi]
            if weighted:
                kappa = np.exp(self.cfg.mainstream.library_tilt * self.mainstream[ids, None].astype(np.float64))
                target = base[gi] + tilt_quantile(rng.random(gi.shape), kappa) * mass[gi]
                pos = np.minimum(np.searchsorted(cum, target, side="right"), starts[gi + 1] - 1)
                uniform = order[np.minimum(starts[gi] + (rng.random(gi.shape) * np.diff(starts)[gi]).astype(np.int64),
                                           T - 1)]
                cand = np.where(size > 0, order[np.clip(pos, 0, T - 1)],
                                np.where(np.diff(starts)[gi] > 0, uniform, rng.integers(0, T, gi.shape)))
            else:
                cand = np.where(size > 0, order[np.minimum(starts[gi] + (rng.random(gi.shape) * size).astype(np.int64),
                                                            T - 1)],
                                rng.integers(0, T, gi.shape))
            util = (b.w_taste * np.einsum("nd,ncd->nc", self.taste[ids], catalog.style[cand])
                    + b.w_quality * catalog.quality[cand]
                    + mainstream_utility(self.mainstream[ids, None], centred[cand], self.cfg.mainstream.utility)
                    + form_utility(catalog.length_s[cand], catalog.intro_s[cand], self.length_ideal[ids, None],
                                   self.intro_ideal[ids, None], form.length_weight, form.length_tolerance_s,
                                   form.intro_weight, form.intro_tolerance_s)
                    + rng.gumbel(0.0, 0.5, cand.shape))
            ok = (catalog.regions[cand] & (np.uint32(1) << self.region[ids, None].astype(np.uint32))) != 0
            ok &= self.explicit_ok[ids, None] | ~catalog.explicit[cand]
            util[~ok] = -np.inf
            srt = np.argsort(cand, axis=1, kind="stable")
            dup = np.zeros(cand.shape, bool)
            dup[:, 1:] = np.diff(np.take_along_axis(cand, srt, axis=1), axis=1) == 0
            np.put_along_axis(util, srt, np.where(dup, -np.inf, np.take_along_axis(util, srt, axis=1)), axis=1)
            top = np.argpartition(-util, min(L, C) - 1, axis=1)[:, :L]
            chosen = np.take_along_axis(cand, top, axis=1)
            good = np.isfinite(np.take_along_axis(util, top, axis=1))
            rows.append(np.repeat(ids, L).reshape(len(ids), L)[good])
            cols.append(chosen[good])
        return np.concatenate(rows), np.concatenate(cols)

    # -- one epoch ------------------------------------------------------------------------------
    def begin_epoch(self, catalog: Catalog) -> None:
        """Open an epoch's listening: `absorb` then takes its exposures block by block, and
        `update` closes the epoch."""
        n, shape = self.n, (self.n, max(len(catalog), self._library.shape[1]))
        self._plays_c = np.zeros((n, len(CHANNELS)), np.int64)
        self._util_c = np.zeros((n, len(CHANNELS)), np.float64)
        self._early_c = np.zeros((n, len(CHANNELS)), np.int64)
        self._last = np.full(n, -1, np.int32)
        lib = pad_csr(self._library, shape)
        # affinity = decay * affinity, then every play of a saved track adds its played fraction
        self._next_library = sp.csr_matrix((lib.data * np.float32(self.cfg.library_decay), lib.indices,
                                            lib.indptr), shape=shape)
        self._saves: list[tuple[np.ndarray, np.ndarray]] = []
        self._absorbed = 0

    def absorb(self, ev: Events, catalog: Catalog) -> None:
        """Take one block of the open epoch's exposures (blocks of whole listeners, in any order)."""
        if not len(ev):
            return
        self._absorbed += len(ev)
        parts = parts_for(ev.listener)
        _tally(ev.listener, ev.track, ev.channel, ev.seconds, ev.utility, catalog.length_s, self.is_bot,
               self.cfg.behaviour.stream_threshold_s, self._plays_c, self._util_c, self._early_c, self._last,
               parts)
        lib = self._next_library
        _add_played(lib.indptr, lib.indices, lib.data, ev.listener, ev.track, ev.seconds,
                    catalog.length_s, self.is_bot, parts)
        keep = ev.saved & ~self.is_bot[ev.listener]
        if keep.any():
            self._saves.append((ev.listener[keep], ev.track[keep]))
        if self.cfg.choice == "slate_argmax":
            shape = (self.n, max(len(catalog), self._consumed.shape[1]))
            human = ~self.is_bot[ev.listener]
            new = sp.csr_matrix((np.ones(int(human.sum()), bool), (ev.listener[human], ev.track[human])),
                                shape=shape)
            self._consumed = (pad_csr(self._consumed, shape) + new).astype(bool).tocsr()

    def _finish_library(self) -> None:
        """A new save starts at 2 (1 for saving it, 1 for the completed play that made it)."""
        lib = self._next_library
        if not self._absorbed and self._library.shape[0] == self.n:
            return                      # nobody listened: affinities do not decay
        if self._saves:
            lis = np.concatenate([s[0] for s in self._saves])
            trk = np.concatenate([s[1] for s in self._saves])
            saves = sp.csr_matrix((np.ones(len(lis), np.float32), (lis, trk)), shape=lib.shape)
            saves.data[:] = 2.0
            lib = (lib + saves).tocsr()
        lib.sort_indices()
        self._library = lib

    def update(self, events: Events | None, catalog: Catalog, epoch: int,
               rng: np.random.Generator) -> tuple[int, int]:
        """Satisfaction, libraries, churn, tiers, taste drift, engagement and arrivals after an
        epoch of listening.

        Args:
            events: the epoch's exposures, or None when they were given block by block to
                `absorb` after `begin_epoch` (the engine's way).
            catalog: the tracks.
            epoch: the epoch that was listened to.
            rng: this phase's random stream.
        Returns:
            (new listeners, churned listeners).
        """
        if events is not None:
            self.begin_epoch(catalog)
            self.absorb(events, catalog)
        cfg = self.cfg
        n = self.n
        plays_c, util_c, early_c, last = self._plays_c, self._util_c, self._early_c, self._last
        plays = plays_c.sum(axis=1)
        heard = plays > 0
        x = (util_c.sum(axis=1)[heard] - cfg.skip_frustration * early_c.sum(axis=1)[heard]) / plays[heard]
        # an arrival's first week sets its satisfaction; the epoch-0 population starts from a prior
        first = (self.plays_total[heard] == 0) & (self.join_epoch[heard] > 0)
        r = cfg.satisfaction_rate
        self.satisfaction[heard] = np.where(first, x, (1 - r) * self.satisfaction[heard] + r * x)
        self._update_channel_value(plays_c, util_c, early_c)
        self.plays_total += plays
        has = last >= 0
        self.last_track[has] = last[has]
        self._finish_library()
        del self._plays_c, self._util_c, self._early_c, self._last, self._next_library, self._saves

        humans = self.active & ~self.is_bot
        hazard = _sigmoid(cfg.churn_k0 - cfg.churn_k1 * self.satisfaction.astype(np.float64))
        churn = humans & (rng.random(n) < hazard)
        self.active[churn] = False
        self._move_tiers(rng.random(n))

        drifting = np.flatnonzero(self.active & ~self.is_bot)
        if cfg.taste_drift > 0 and len(drifting):
            self.taste[drifting] = normalize(self.taste[drifting]
                                             + cfg.taste_drift * rng.standard_normal((len(drifting), self.world.d_style)))

        self._engage()
        arrivals = int(rng.poisson(self.referrals()))
        if arrivals:
            ids = self._append(self._draw(arrivals, rng), join_epoch=epoch + 1, is_bot=False)
            self._library = pad_csr(self._library, (self.n, self._library.shape[1]))
            self.awaiting_library = np.concatenate([self.awaiting_library, ids.astype(np.int64)])
        return arrivals, int(churn.sum())

    # -- engagement (docs/MODEL.md section 3, "Engagement") ------------------------------------------
    def _relative_satisfaction(self) -> np.ndarray:
        """Satisfaction minus ``engagement.reference_satisfaction`` (float64)."""
        return self.satisfaction.astype(np.float64) - self.cfg.engagement.reference_satisfaction

    def _update_channel_value(self, plays: np.ndarray, util_sum: np.ndarray, early: np.ndarray) -> None:
        """Per channel, the satisfaction EMA of the channel's plays: ``V ← (1−r)·V + r·x_c`` with
        ``x_c`` the mean utility of the channel's plays minus frustration times its early-skip
        share; ``V ← x_c`` on the listener's first plays from the channel; unchanged without plays."""
        played = plays > 0
        x = np.divide(util_sum - self.cfg.skip_frustration * early, plays, out=np.zeros(plays.shape), where=played)
        r = self.cfg.satisfaction_rate
        old = self.channel_value.astype(np.float64)
        new = np.where(np.isnan(old), x, (1 - r) * old + r * x)
        self.channel_value = np.where(played, new, old).astype(np.float32)

    def _move_tiers(self, u: np.ndarray) -> None:
        """Active ad-supported listeners upgrade with probability ``σ(logit(p_up) + k_up·ΔS)``,
        paying ones downgrade with ``σ(logit(p_down) − k_down·ΔS)``, ΔS = satisfaction − reference;
        ``u`` holds one uniform per row."""
        eng = self.cfg.engagement
        ds = self._relative_satisfaction()
        humans = self.active & ~self.is_bot
        up = humans & ~self.premium & (u < shifted_rate(eng.upgrade_rate, eng.upgrade_slope * ds))
        down = humans & self.premium & (u < shifted_rate(eng.downgrade_rate, -eng.downgrade_slope * ds))
        self.premium = (self.premium | up) & ~down

    def _engage(self) -> None:
        """Budgets and mixes of the listeners who have a satisfaction (the epoch-0 population and
        anyone who has played): ``B = B0·exp(β·ΔS)``, at most one week; channel weights
        ``w_c ∝ w0_c·exp(γ·V_c)``, an unplayed channel counting at the listener's satisfaction."""
        eng = self.cfg.engagement
        rated = np.flatnonzero(~self.is_bot & ((self.plays_total > 0) | (self.join_epoch == 0)))
        if len(rated) == 0:
            return
        ds = self._relative_satisfaction()[rated]
        self.budget_s[rated] = np.minimum(self.budget_base_s[rated] * np.exp(np.minimum(eng.budget_slope * ds, 60.0)),
                                          SECONDS_PER_EPOCH)
        value = self.channel_value[rated].astype(np.float64)
        value = np.where(np.isnan(value), self.satisfaction[rated, None], value)
        logw = eng.mix_slope * (value - value.max(axis=1, keepdims=True))
        w = self.mix_base[rated] * np.exp(logw)
        total = w.sum(axis=1, keepdims=True)
        self.mix[rated] = np.divide(w, total, out=np.zeros_like(w), where=total > 0)

    def referrals(self) -> float:
        """Expected arrivals (word of mouth): ``N·σ(logit(arrival_rate) + k_ref·(S̄ − S_ref))`` with N
        the active humans and S̄ their mean satisfaction, so that a platform serving its listeners
        as well as the reference grows at ``arrival_rate``."""
        humans = self.active & ~self.is_bot
        n = int(humans.sum())
        if n == 0:
            return 0.0
        ds = float(np.mean(self._relative_satisfaction()[humans]))
        return n * float(shifted_rate(self.cfg.arrival_rate, self.cfg.engagement.referral_slope * ds))

    def ad_weight(self) -> np.ndarray:
        """Each listener's listening budget over the one drawn at arrival (1 for bots and for an
        empty base): ads are served per hour listened, so ad revenue scales with it."""
        base = self.budget_base_s.astype(np.float64)
        return np.divide(self.budget_s, base, out=np.ones(self.n), where=base > 0)
