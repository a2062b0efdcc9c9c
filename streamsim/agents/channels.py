"""Channels: what each listener can be exposed to this epoch (DESIGN.md section 3, "Channels").

``build_slates`` gathers, for every active human listener, the candidates of the six channels of
``streamsim.core.codes.Channel``: library replays, the personalised mix (with the cold-start path), radio
neighbour lists, editorial playlists of the listener's genres, search / word of mouth and context
playlists. The listening kernel draws exposures from them. A channel that is empty for a listener
gives its share of the mix to the others.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from streamsim.agents.catalog import Catalog
from streamsim.agents.world import World, normalize
from streamsim.core.codes import CHANNELS, Channel
from streamsim.core.config import Scenario
from streamsim.core.utility import centred_popularity

STAGE_POPULAR, STAGE_AUDIO, STAGE_CF = 0, 1, 2
USER_BLOCK = 4096


@dataclass
class Playlists:
    """Editorial playlists, made by the editors.

    Attributes:
        items: int32 (P, capacity) track ids, -1 padded.
        genre: int16 (P,) genre of each playlist.
    """

    items: np.ndarray
    genre: np.ndarray


@dataclass
class Pool:
    """Weighted candidate lists, one per row (a listener, a genre or a context), CSR-style.

    Attributes:
        indptr: int64 (R+1,) row r holds ``items[indptr[r]:indptr[r+1]]``.
        items: int32 track ids.
        cum: float64 running sum of the item weights over the whole array (the kernel draws
            within a row by binary search).
    """

    indptr: np.ndarray
    items: np.ndarray
    cum: np.ndarray

    @classmethod
    def from_lists(cls, lists: list[np.ndarray], weights: list[np.ndarray] | None = None) -> Pool:
        sizes = np.array([len(x) for x in lists], np.int64)
        indptr = np.zeros(len(lists) + 1, np.int64)
        np.cumsum(sizes, out=indptr[1:])
        items = np.concatenate(lists).astype(np.int32) if lists else np.zeros(0, np.int32)
        w = (np.concatenate(weights).astype(np.float64) if weights
             else np.ones(len(items), np.float64))
        return cls(indptr, items, np.cumsum(w) if len(w) else np.zeros(0, np.float64))

    @classmethod
    def from_csr(cls, m: sp.csr_matrix) -> Pool:
        return cls(m.indptr.astype(np.int64), m.indices.astype(np.int32), np.cumsum(m.data, dtype=np.float64))

    def row_sizes(self) -> np.ndarray:
        return np.diff(self.indptr)


@dataclass
class Slates:
    """Everything the listening kernel draws from in one epoch.

    Attributes:
        listeners: int32 ids of the listeners the kernel simulates (active humans with a channel).
        mix: float32 (n, 6) effective channel shares per listener (empty channels removed).
        personalised_users: int32 (m,) listeners with a personalised slate, ascending.
        personalised_items: int32 (m, K) their slates, best first, -1 padded.
        personalised_stage: int8 (m,) 0 popular-with-variance (cold), 1 audio radio, 2 collaborative.
        personalised_row: int32 (n,) row of each listener in the slate arrays, -1 if none.
        library: Pool with one row per listener (saved tracks, affinity weights, sorted items).
        radio_seed: int32 (n,) the track radio starts from (last played), -1 if none.
        neighbour_row: int32 (T,) row of a track in ``neighbour_items``, -1 if it cannot seed radio.
        neighbour_items: int32 (S, k) similar tracks of each radio seed, -1 padded.
        editorial, search: Pool with one row per genre.
        context: Pool with one row per context playlist; context_of: int32 (n,) each listener's.
        exclude: what the personalised slates were kept clear of (:func:`personalised_exclusions`);
            the regret evaluation serves the oracle under the same exclusions.
        popularity: float32 (T,) each track's artist's percentile of last epoch's streams minus the
            average stream's (:func:`artist_popularity`); None = 0 for every track.
        next_track: int32 (T,) the next track of the same album (what a play-through continues
            with, :func:`next_releases`), -1 for a track alone in its album; None = no continuation.
    """

    listeners: np.ndarray
    mix: np.ndarray
    personalised_users: np.ndarray
    personalised_items: np.ndarray
    personalised_stage: np.ndarray
    personalised_row: np.ndarray
    library: Pool
    radio_seed: np.ndarray
    neighbour_row: np.ndarray
    neighbour_items: np.ndarray
    editorial: Pool
    search: Pool
    context: Pool
    context_of: np.ndarray
    exclude: sp.csr_matrix | None = None
    popularity: np.ndarray | None = None
    next_track: np.ndarray | None = None


def allowed_mask(catalog: Catalog, region: int, explicit_ok: bool) -> np.ndarray:
    """Tracks a listener of this region and explicit setting may be served."""
    ok = catalog.available(region)
    return ok if explicit_ok else ok & ~catalog.explicit


def serving_groups(listeners, users: np.ndarray):
    """Yield (region, explicit_ok, user ids) for each serving-filter group among ``users``."""
    key = listeners.region[users].astype(np.int64) * 2 + listeners.explicit_ok[users]
    for k in np.unique(key):
        yield int(k // 2), bool(k % 2), users[key == k]


def _grow(a: np.ndarray, n: int) -> np.ndarray:
    a = np.asarray(a)
    return a[:n] if len(a) >= n else np.concatenate([a, np.zeros(n - len(a), a.dtype)])


def top_by_popularity(ids: np.ndarray, pop: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """The k most popular of ``ids`` (ties in random order), most popular first."""
    if len(ids) == 0:
        return ids.astype(np.int32)
    order = np.lexsort((rng.random(len(ids)), -pop[ids]))
    return ids[order[:k]].astype(np.int32)


def popular_with_variance(n_users: int, candidates: np.ndarray, pop: np.ndarray, k: int,
                          temperature: float, rng: np.random.Generator) -> np.ndarray:
    """Cold-start home page: k of the candidates per user, drawn without replacement with
    probability proportional to ``(streams + 1)^(1/temperature)`` (Gumbel top-k).

    Temperature 0 gives everyone the plain top-k.
    """
    k_eff = min(k, len(candidates))
    out = np.full((n_users, k), -1, np.int32)
    if k_eff == 0 or n_users == 0:
        return out
    logp = np.log1p(pop[candidates].astype(np.float64))
    for s in range(0, n_users, USER_BLOCK):
        m = min(USER_BLOCK, n_users - s)
        if temperature > 0:
            # logp / T + Gumbel, scaled by T > 0 (the same order): no overflow at a tiny T
            score = logp[None, :] + temperature * rng.gumbel(size=(m, len(candidates)))
        else:
            score = np.broadcast_to(logp + 1e-9 * rng.random(len(candidates)), (m, len(candidates)))
        top = np.argpartition(-score, k_eff - 1, axis=1)[:, :k_eff]
        top = np.take_along_axis(top, np.argsort(-np.take_along_axis(score, top, axis=1), axis=1), axis=1)
        out[s:s + m, :k_eff] = candidates[top]
    return out


def audio_neighbours(seeds: np.ndarray, catalog: Catalog, k: int, allowed: np.ndarray) -> np.ndarray:
    """The k tracks nearest each seed by cosine of audio embeddings (the seed itself excluded)."""
    out = np.full((len(seeds), k), -1, np.int32)
    cand = np.flatnonzero(allowed)
    k_eff = min(k, len(cand) - 1)
    if len(seeds) == 0 or k_eff <= 0:
        return out
    emb = normalize(catalog.audio[cand])
    for s in range(0, len(seeds), 1024):
        sd = seeds[s:s + 1024]
        score = normalize(catalog.audio[sd]) @ emb.T
        score[cand[None, :] == sd[:, None]] = -np.inf
        top = np.argpartition(-score, k_eff - 1, axis=1)[:, :k_eff]
        top = np.take_along_axis(top, np.argsort(-np.take_along_axis(score, top, axis=1), axis=1), axis=1)
        out[s:s + len(sd), :k_eff] = cand[top]
    return out


def personalised_exclusions(listeners, ledger, scenario: Scenario, n_tracks: int) -> sp.csr_matrix | None:
    """Listener x track pairs a personalised slate may not hold: everything consumed in
    replication mode (``slate_argmax``), else the pairs played within the last
    ``exclude_heard_epochs`` epochs (None when that is 0)."""
    if scenario.listeners.choice == "slate_argmax":
        return listeners.consumed_csr(n_tracks)
    epochs = scenario.recommender.exclude_heard_epochs
    return ledger.recent_heard(listeners.n, n_tracks, epochs) if epochs > 0 else None


def _personalised(listeners, catalog, exclude, recommender, served, pop, scenario, rng):
    """Slates of the served listeners: cold-start path in budget mode, the recommender otherwise."""
    K = scenario.channels.slate_size
    if recommender is None or len(served) == 0:
        return np.zeros(0, np.int32), np.zeros((0, K), np.int32), np.zeros(0, np.int8)
    argmax = scenario.listeners.choice == "slate_argmax"
    if argmax:
        stage = np.full(len(served), STAGE_CF, np.int8)
    else:
        plays = listeners.plays_total[served]
        stage = np.where(plays == 0, STAGE_POPULAR,
                         np.where((plays < scenario.listeners.cf_min_interactions)
                                  & (listeners.last_track[served] >= 0), STAGE_AUDIO, STAGE_CF)).astype(np.int8)
    items = np.full((len(served), K), -1, np.int32)
    temp = scenario.recommender.popularity_temperature
    for region, explicit_ok, _ in serving_groups(listeners, served):
        allowed = allowed_mask(catalog, region, explicit_ok)
        in_group = (listeners.region[served] == region) & (listeners.explicit_ok[served] == explicit_ok)
        for st in (STAGE_POPULAR, STAGE_AUDIO, STAGE_CF):
            rows = np.flatnonzero(in_group & (stage == st))
            if len(rows) == 0:
                continue
            users = served[rows]
            if st == STAGE_POPULAR:
                cands = top_by_popularity(np.flatnonzero(allowed), pop, scenario.channels.cold_candidates, rng)
                items[rows] = popular_with_variance(len(rows), cands, pop, K, temp, rng)
            elif st == STAGE_AUDIO:
                seeds = listeners.last_track[users]
                uniq, inv = np.unique(seeds, return_inverse=True)
                items[rows] = audio_neighbours(uniq, catalog, K, allowed)[inv]
            else:
                rec, _ = recommender.recommend(users.astype(np.int32), K, exclude, allowed)
                items[rows] = np.asarray(rec, np.int32)[:, :K]
    if argmax:
        consumed = exclude
        flat_u = np.repeat(served, K)
        flat_i = items.ravel()
        hit = np.zeros(len(flat_i), bool)
        ok = flat_i >= 0
        hit[ok] = np.asarray(consumed[flat_u[ok], flat_i[ok]]).ravel()
        items.ravel()[hit] = -1
    return served.astype(np.int32), items, stage


def search_weights(catalog: Catalog, pop: np.ndarray, exponent: float) -> np.ndarray:
    """Word of mouth is about artists: a listener hears of an artist with weight
    ``(artist streams last epoch + 1)^exponent`` and plays one of its tracks in proportion to
    ``track streams + 1``. Returns the weight of every track (the product)."""
    artist = catalog.artist.astype(np.int64)
    n_art = int(artist.max()) + 1 if len(artist) else 0
    p = pop[:len(artist)].astype(np.float64)
    a_streams = np.bincount(artist, weights=p, minlength=n_art)
    a_mass = np.bincount(artist, weights=p + 1.0, minlength=n_art)
    return (a_streams[artist] + 1.0) ** exponent * (p + 1.0) / a_mass[artist]


def _genre_pools(catalog: Catalog, n_genres: int, pop: np.ndarray, size: int, exponent: float,
                 rng: np.random.Generator) -> Pool:
    """Search / word of mouth: per genre, the ``size`` tracks with the highest word-of-mouth
    weight (:func:`search_weights`), drawn in proportion to it."""
    w = search_weights(catalog, pop, exponent)
    order = np.argsort(catalog.genre, kind="stable")
    starts = np.searchsorted(catalog.genre[order], np.arange(n_genres + 1))
    lists = [top_by_popularity(order[starts[g]:starts[g + 1]], w, size, rng) for g in range(n_genres)]
    return Pool.from_lists(lists, [w[x] for x in lists])


def _editorial_pools(playlists: Playlists | None, n_genres: int, position_exponent: float = 0.0) -> Pool:
    """Editorial: per genre, the tracks of that genre's playlists (a track on two lists counts twice).

    Slot r (0 = top of the list) is drawn with weight ``(r + 1)^-position_exponent``: listeners
    start a playlist at the top and few reach its end (0 = every slot alike).
    """
    if playlists is None or len(playlists.genre) == 0:
        return Pool.from_lists([np.zeros(0, np.int32)] * n_genres)
    items = np.asarray(playlists.items)
    genre = np.asarray(playlists.genre)
    slot_w = (np.arange(items.shape[1], dtype=np.float64) + 1.0) ** -position_exponent
    lists, weights = [], []
    for g in range(n_genres):
        rows = items[genre == g]
        ok = rows >= 0
        lists.append(rows[ok])
        weights.append(np.broadcast_to(slot_w, rows.shape)[ok])
    return Pool.from_lists(lists, weights)


def _context_pools(catalog: Catalog, n_contexts: int, size: int, pop: np.ndarray,
                   rng: np.random.Generator) -> Pool:
    """Context playlists: context c is culture tag c; its tracks are the most streamed with that tag."""
    lists = []
    for c in range(n_contexts):
        ids = np.flatnonzero((catalog.tags == c).any(axis=1))
        lists.append(top_by_popularity(ids, pop, size, rng))
    return Pool.from_lists(lists)


def artist_popularity(catalog: Catalog, track_streams: np.ndarray) -> np.ndarray:
    """The popularity of each track's artist as mainstreamness reads it: the artist's percentile of
    streams minus the average stream's (:func:`streamsim.core.utility.centred_popularity`);
    float32 (T,)."""
    if len(catalog) == 0:
        return np.zeros(0, np.float32)
    artist = catalog.artist.astype(np.int64)
    streams = np.bincount(artist, weights=track_streams[:len(artist)], minlength=int(artist.max()) + 1)
    return centred_popularity(streams)[artist].astype(np.float32)


def next_releases(catalog: Catalog, album_tracks: int) -> np.ndarray:
    """The album, minimally: an artist's releases in release order (track ids are appended in
    time), cut into albums of ``album_tracks`` consecutive releases (the last may be shorter). A
    play-through continues with the next track of the album and wraps from its last to its first.
    -1 for a track alone in its album (nothing to continue with)."""
    T = len(catalog)
    order = np.lexsort((np.arange(T), catalog.artist))          # by artist, then by release
    a = catalog.artist[order]
    first = np.flatnonzero(np.concatenate([[True], a[1:] != a[:-1]]))
    size = np.diff(np.concatenate([first, [T]]))
    start = np.repeat(first, size)
    pos = np.arange(T) - start                                   # position in the artist's releases
    album_pos = pos % album_tracks
    album_start = start + pos - album_pos
    album_size = np.minimum(album_tracks, np.repeat(size, size) - (pos - album_pos))
    nxt = np.full(T, -1, np.int32)
    nxt[order] = order[album_start + (album_pos + 1) % album_size]
    nxt[order[album_size == 1]] = -1
    return nxt


def by_popularity(neighbours: np.ndarray, popularity: np.ndarray) -> np.ndarray:
    """Each row of neighbour lists reordered most popular artist first (ties by the original
    order), -1 padding last: the order radio's mainstreamness tilt reads."""
    if neighbours.size == 0:
        return neighbours
    key = np.where(neighbours >= 0, -popularity[np.maximum(neighbours, 0)], np.inf)
    return np.take_along_axis(neighbours, np.argsort(key, axis=1, kind="stable"), axis=1)


def _radio(recommender, slates_items: np.ndarray, pools: list[Pool], library: Pool,
           seeds_extra: np.ndarray, n_tracks: int, k: int):
    """Neighbour lists for every track that can seed radio: anything a channel can serve."""
    neighbour_row = np.full(n_tracks, -1, np.int32)
    if recommender is None:
        return neighbour_row, np.full((0, k), -1, np.int32)
    seeds = np.unique(np.concatenate([slates_items.ravel(), library.items, seeds_extra]
                                     + [p.items for p in pools]))
    seeds = seeds[(seeds >= 0) & (seeds < n_tracks)].astype(np.int32)
    if len(seeds) == 0:
        return neighbour_row, np.full((0, k), -1, np.int32)
    nbr, _ = recommender.similar_items(seeds, k, None)
    nbr = np.asarray(nbr, np.int32)
    neighbour_row[seeds] = np.arange(len(seeds), dtype=np.int32)
    return neighbour_row, nbr


def build_slates(listeners, catalog: Catalog, world: World, ledger, recommender,
                 playlists: Playlists | None, scenario: Scenario, epoch: int,
                 rng: np.random.Generator) -> Slates:
    """Candidates of every channel for every active human listener this epoch.

    Args:
        listeners: the ListenerPopulation.
        catalog: the tracks.
        world: the world (genre count).
        ledger: reads ``track_streams_last`` (popularity) and ``recent_heard`` (exclusions).
        recommender: has ``recommend`` and ``similar_items``; None = no recommender (personalised
            and radio are empty and their shares go to the other channels).
        playlists: editorial playlists, or None.
        scenario: channel sizes, the mix, cold-start parameters.
        epoch: the epoch number.
        rng: the epoch's generator (tie-breaks, cold-start sampling, contexts).
    """
    ch = scenario.channels
    n, T, G = listeners.n, len(catalog), world.n_genres
    pop = _grow(ledger.track_streams_last, T).astype(np.float64)
    served = np.flatnonzero(listeners.active & ~listeners.is_bot & (listeners.budget_s > 0)).astype(np.int32)

    exclude = personalised_exclusions(listeners, ledger, scenario, T) if recommender is not None else None
    users, items, stage = _personalised(listeners, catalog, exclude, recommender, served, pop, scenario, rng)
    prow = np.full(n, -1, np.int32)
    prow[users] = np.arange(len(users), dtype=np.int32)

    lib = listeners.library_csr(T)
    lib.sort_indices()
    library = Pool.from_csr(lib)
    editorial = _editorial_pools(playlists, G, ch.editorial_position_exponent)
    search = _genre_pools(catalog, G, pop, ch.search_pool, ch.search_popularity_exponent, rng)
    context = _context_pools(catalog, ch.n_contexts, ch.context_pool, pop, rng)
    context_of = rng.integers(0, ch.n_contexts, n).astype(np.int32)

    radio_seed = listeners.last_track.copy()
    no_seed = (radio_seed < 0) & (prow >= 0)
    radio_seed[no_seed] = items[prow[no_seed], 0]
    # Radio neighbours cost a catalog-wide similarity search: skip it when nobody can hear radio.
    radio_heard = scenario.listeners.choice == "budget" and listeners.mix[served, Channel.RADIO].max(initial=0.0) > 0
    neighbour_row, neighbour_items = _radio(recommender if radio_heard else None, items,
                                            [editorial, search, context], library,
                                            radio_seed[radio_seed >= 0], T, ch.radio_neighbours)

    popularity = artist_popularity(catalog, pop)
    neighbour_items = by_popularity(neighbour_items, popularity)

    avail = np.zeros((n, len(CHANNELS)), bool)
    avail[:, Channel.LIBRARY] = library.row_sizes()[:n] > 0
    avail[users, Channel.PERSONALISED] = (items >= 0).any(axis=1)
    avail[:, Channel.RADIO] = len(neighbour_items) > 0
    for c, pool in ((Channel.EDITORIAL, editorial), (Channel.SEARCH, search)):
        has = np.concatenate([pool.row_sizes() > 0, [False]])
        avail[:, c] = has[listeners.genres[:, 0]] | has[listeners.genres[:, 1]]   # genre -1 -> False
    avail[:, Channel.CONTEXT] = context.row_sizes()[context_of] > 0
    mix = np.where(avail, listeners.mix, 0.0)
    total = mix.sum(axis=1, keepdims=True)
    mix = np.divide(mix, total, out=np.zeros_like(mix), where=total > 0).astype(np.float32)
    keep = np.zeros(n, bool)
    keep[served] = True
    mix[~keep] = 0.0
    kernel_listeners = np.flatnonzero(keep & (mix.sum(axis=1) > 0)).astype(np.int32)
    return Slates(kernel_listeners, mix, users, items, stage, prow, library, radio_seed,
                  neighbour_row, neighbour_items, editorial, search, context, context_of, exclude,
                  popularity, next_releases(catalog, scenario.listeners.sessions.album_tracks))
