"""Artists: who makes the music, how famous they are, what they release and how they adapt.

The population is a struct of arrays (one row per artist; rows are only ever appended) with a
thin Mesa agent per artist that reads its row. Every per-epoch operation is vectorised over
artists. The equations are in docs/MODEL.md (section 2).
"""

from __future__ import annotations

import math

import mesa
import numpy as np

from streamsim.agents.catalog import Catalog
from streamsim.agents.columns import Columns
from streamsim.agents.tracks import MAX_LENGTH_S, make_tracks
from streamsim.agents.world import World, normalize
from streamsim.core.codes import Tier
from streamsim.core.config import ArtistsConfig, Scenario
from streamsim.core.units import EPOCHS_PER_YEAR


# name -> (dtype, width key): None for a scalar per artist, "d" for a style-space row.
_COLUMNS: dict[str, tuple[type, str | None]] = {
    "genre": (np.int16, None),
    "home_style": (np.float32, "d"),
    "style": (np.float32, "d"),
    "talent": (np.float32, None),
    "fame": (np.float64, None),
    "tier": (np.int8, None),
    "major": (np.bool_, None),
    "release_rate": (np.float32, None),
    "adaptive": (np.bool_, None),
    "entry_epoch": (np.int32, None),
    "target_length_s": (np.float32, None),
    "target_intro_s": (np.float32, None),
    "is_fraud": (np.bool_, None),
    "tag_offset": (np.float32, "d"),
    # hill-climbing state: last exploratory step (length, intro, style...) and the payout per
    # release it is judged against
    "hc_step": (np.float32, "d+2"),
    "hc_ref": (np.float64, None),
    "hc_has_ref": (np.bool_, None),
}

class Artist(mesa.Agent):
    """One artist: a thin Mesa view of row ``index`` of an :class:`ArtistPopulation`."""

    def __init__(self, model: mesa.Model, population: ArtistPopulation, index: int):
        super().__init__(model)
        self.population = population
        self.index = index

    def _get(self, name: str):
        return getattr(self.population, name)[self.index]

    genre = property(lambda self: int(self._get("genre")))
    style = property(lambda self: self._get("style"))
    home_style = property(lambda self: self._get("home_style"))
    talent = property(lambda self: float(self._get("talent")))
    fame = property(lambda self: float(self._get("fame")))
    tier = property(lambda self: int(self._get("tier")))
    major = property(lambda self: bool(self._get("major")))
    release_rate = property(lambda self: float(self._get("release_rate")))
    adaptive = property(lambda self: bool(self._get("adaptive")))
    entry_epoch = property(lambda self: int(self._get("entry_epoch")))
    target_length_s = property(lambda self: float(self._get("target_length_s")))
    target_intro_s = property(lambda self: float(self._get("target_intro_s")))
    is_fraud = property(lambda self: bool(self._get("is_fraud")))


def major_probability(fame: np.ndarray, cfg: ArtistsConfig) -> np.ndarray:
    """P(major label): linear in the fame percentile ``F(f) = 1 - f^-shape`` (Pareto CDF)."""
    pct = 1.0 - np.asarray(fame, dtype=np.float64) ** -cfg.fame_pareto_shape
    return cfg.major_prob_min + (cfg.major_prob_max - cfg.major_prob_min) * pct


def release_rates(fame: np.ndarray, cfg: ArtistsConfig) -> np.ndarray:
    """Tracks per epoch: ``release_rate * (1 + fame_release_boost * ln fame)`` (fame >= 1)."""
    return (cfg.release_rate * (1.0 + cfg.fame_release_boost * np.log(np.maximum(fame, 1.0)))).astype(np.float32)


def tiers_from_fame(fame: np.ndarray, superstar_share: float, established_share: float) -> np.ndarray:
    """Tier codes by fame rank: the top share superstar, the next established, the rest emerging."""
    n = len(fame)
    n_super = int(round(superstar_share * n))
    n_est = int(round((superstar_share + established_share) * n)) - n_super
    order = np.argsort(-fame, kind="stable")
    tier = np.full(n, Tier.EMERGING, dtype=np.int8)
    tier[order[:n_super]] = Tier.SUPERSTAR
    tier[order[n_super:n_super + n_est]] = Tier.ESTABLISHED
    return tier


def expected_streams_per_listener(scenario: Scenario) -> float:
    """Streams a listener makes per epoch if the mean budget went to fully played average tracks."""
    ls = scenario.listeners
    budget_s = ls.budget_median_min * 60.0 * math.exp(ls.budget_sigma ** 2 / 2.0)
    return budget_s / scenario.catalog.length_mean_s


class ArtistPopulation:
    """Every artist as rows of arrays, plus one thin Mesa agent each.

    Args:
        model: the Mesa model the artist agents belong to.
        scenario: the validated scenario.
        world: the world (genres, audio map, tags).
        catalog: the catalog; the back catalog is appended to it here.
        rng: the generator of the initial population and back catalog.

    Attributes (each sliced to ``n`` rows): genre, home_style (n, d), style (n, d) current release
    style, talent, fame, tier, major, release_rate (tracks per epoch), adaptive, entry_epoch,
    target_length_s, target_intro_s, is_fraud, tag_offset (n, d); hc_step, hc_ref and hc_has_ref
    hold the hill-climbing state.
    """

    def __init__(self, model: mesa.Model, scenario: Scenario, world: World, catalog: Catalog,
                 rng: np.random.Generator):
        self.model = model
        self.scenario = scenario
        self.cfg = scenario.artists
        self.world = world
        self.catalog = catalog
        self.d = world.d_style
        self._store = Columns({name: (dtype, self._tail(width)) for name, (dtype, width) in _COLUMNS.items()})
        self.agents: list[Artist] = []

        a = self.cfg
        fame = 1.0 + rng.pareto(a.fame_pareto_shape, a.count)
        tier = tiers_from_fame(fame, a.superstar_share, a.established_share)
        emerging = fame[tier == Tier.EMERGING]
        # entrants are emerging: their fame is drawn below the best emerging artist at start
        self.emerging_fame_max = float(emerging.max()) if len(emerging) else float(fame.min())
        ids = self._add(self._draw(a.count, fame, tier, self._initial_entry(a.count, rng), rng))
        self._back_catalog(ids, rng)

    # storage -----------------------------------------------------------------------------
    def _tail(self, width: str | None) -> tuple[int, ...]:
        if width is None:
            return ()
        return (self.d + 2,) if width == "d+2" else (self.d,)

    def __getattr__(self, name: str) -> np.ndarray:
        store = self.__dict__.get("_store")
        if store is not None and name in store:
            return store[name]
        raise AttributeError(name)

    @property
    def n(self) -> int:
        """Number of artists (fraudulent ones included)."""
        return self._store.n

    def __len__(self) -> int:
        return self._store.n

    def _add(self, columns: dict[str, np.ndarray]) -> np.ndarray:
        """Append artists (missing columns are zero); create their Mesa agents; return ids."""
        ids = self._store.append(columns)
        self.agents.extend(Artist(self.model, self, int(i)) for i in ids)
        return ids

    # generators --------------------------------------------------------------------------
    def _initial_entry(self, m: int, rng: np.random.Generator) -> np.ndarray:
        """Entry epochs of the initial artists: ages exponential at the entry rate.

        A population growing at rate g per epoch has exponentially distributed ages with mean
        1/g, so the back catalog thickens toward epoch 0 as the real catalog does.
        """
        if self.cfg.entry_rate > 0:
            age = rng.exponential(1.0 / self.cfg.entry_rate, m)
            return -np.minimum(np.floor(age), 2**30).astype(np.int32)
        return np.full(m, -int(round(self.scenario.catalog.back_catalog_years * EPOCHS_PER_YEAR)), np.int32)

    def _draw(self, m: int, fame: np.ndarray, tier: np.ndarray, entry_epoch: np.ndarray,
              rng: np.random.Generator) -> dict[str, np.ndarray]:
        """Columns of m new organic artists with the given fame, tier and entry epochs."""
        a, c, w = self.cfg, self.scenario.catalog, self.world
        genre = rng.choice(w.n_genres, size=m, p=w.genre_pop).astype(np.int16)
        home = normalize(w.genre_centres[genre] + a.home_style_noise * rng.standard_normal((m, self.d)))
        between = math.sqrt(c.artist_feature_share)
        length = np.clip(c.length_mean_s + between * c.length_sd_s * rng.standard_normal(m),
                         a.adaptation.min_length_s, MAX_LENGTH_S)
        intro = np.clip(c.intro_mean_s + between * c.intro_sd_s * rng.standard_normal(m),
                        a.adaptation.min_intro_s, length)
        return {
            "genre": genre,
            "home_style": home,
            "style": home.copy(),
            "talent": rng.standard_normal(m).astype(np.float32),
            "fame": fame,
            "tier": tier,
            "major": rng.random(m) < major_probability(fame, a),
            "release_rate": release_rates(fame, a),
            "adaptive": rng.random(m) < a.adaptation.adaptive_share,
            "entry_epoch": entry_epoch,
            "target_length_s": length,
            "target_intro_s": intro,
            "tag_offset": c.tag_artist_noise * rng.standard_normal((m, self.d)),
        }

    def _back_catalog(self, ids: np.ndarray, rng: np.random.Generator) -> None:
        """Releases before epoch 0: Poisson at each artist's rate over its active years of the window."""
        window = int(round(self.scenario.catalog.back_catalog_years * EPOCHS_PER_YEAR))
        active = np.minimum(-self.entry_epoch[ids].astype(np.int64), window)
        counts = rng.poisson(self.release_rate[ids] * active)
        artist = np.repeat(ids, counts)
        span = np.repeat(active, counts)
        epoch = -1 - np.floor(rng.random(len(artist)) * span).astype(np.int64)
        order = np.lexsort((artist, epoch))
        self._append_tracks(artist[order], epoch[order], rng)

    def track_columns(self, artist: np.ndarray, epoch: np.ndarray, rng: np.random.Generator) -> dict[str, np.ndarray]:
        """Catalog columns of new tracks by the given artists, from their current state."""
        return make_tracks(artist, epoch, genre=self.genre, style=self.style, talent=self.talent,
                           target_length_s=self.target_length_s, target_intro_s=self.target_intro_s,
                           tag_offset=self.tag_offset, scenario=self.scenario, world=self.world, rng=rng)

    def _append_tracks(self, artist: np.ndarray, epoch: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        return self.catalog.append(**self.track_columns(artist, epoch, rng))

    # the epoch ---------------------------------------------------------------------------
    def enter(self, epoch: int, rng: np.random.Generator) -> np.ndarray:
        """New artists this epoch: Poisson(entry_rate * organic artists), emerging, no back catalog.

        Their fame is Pareto truncated below the best emerging artist at start (inverse CDF).
        Returns the new artist ids.
        """
        organic = int(np.count_nonzero(~self.is_fraud))
        m = int(rng.poisson(self.cfg.entry_rate * organic))
        if m == 0:
            return np.zeros(0, np.int32)
        shape = self.cfg.fame_pareto_shape
        cdf_max = 1.0 - self.emerging_fame_max ** -shape
        fame = (1.0 - rng.random(m) * cdf_max) ** (-1.0 / shape)
        tier = np.full(m, Tier.EMERGING, np.int8)
        return self._add(self._draw(m, fame, tier, np.full(m, epoch, np.int32), rng))

    def release(self, epoch: int, rng: np.random.Generator) -> np.ndarray:
        """Each artist releases Poisson(release_rate) tracks this epoch; returns the new track ids.

        With ``releases_per_epoch = n >= 0`` exactly n tracks are released, by artists drawn in
        proportion to their release rates.
        """
        rate = np.where(self.is_fraud, 0.0, self.release_rate.astype(np.float64))
        fixed = self.cfg.releases_per_epoch
        if fixed >= 0:
            counts = rng.multinomial(fixed, rate / rate.sum()) if fixed and rate.sum() > 0 else np.zeros(self.n, int)
        else:
            counts = rng.poisson(rate)
        artist = np.repeat(np.arange(self.n, dtype=np.int32), counts)
        if len(artist) == 0:
            return np.zeros(0, np.int32)
        return self._append_tracks(artist, np.full(len(artist), epoch, np.int32), rng)

    def add_fraud_artist(self, rng: np.random.Generator, epoch: int = 0) -> int:
        """One fraudulent artist: least famous, independent, releasing nothing by itself."""
        fame = np.ones(1)
        cols = self._draw(1, fame, np.full(1, Tier.EMERGING, np.int8), np.full(1, epoch, np.int32), rng)
        cols.update(major=np.zeros(1, bool), release_rate=np.zeros(1, np.float32),
                    adaptive=np.zeros(1, bool), is_fraud=np.ones(1, bool),
                    talent=np.full(1, -1.0, np.float32))
        return int(self._add(cols)[0])

    def prior_track_popularity(self) -> np.ndarray:
        """Expected streams per epoch of every track before the run: the back catalog's history.

        ``w_j = fame_a^gamma * exp(kappa * q_j)`` (zero for fraud tracks), scaled so the total is
        the platform's expected weekly streams (listeners times
        :func:`expected_streams_per_listener`). Fame makes some artists popular before any
        stream exists; the ledger can seed its tallies from this.
        """
        cat = self.catalog
        fame = self.fame[cat.artist]
        w = fame ** self.cfg.popularity_fame_exponent * np.exp(
            self.cfg.popularity_quality_weight * cat.quality.astype(np.float64))
        w[cat.fraud] = 0.0
        total = w.sum()
        if total <= 0:
            return np.zeros(len(cat))
        volume = self.scenario.listeners.count * expected_streams_per_listener(self.scenario)
        return w * (volume / total)

    def adapt(self, epoch: int, track_payout: np.ndarray, track_streams: np.ndarray,
              track_plays: np.ndarray, track_early_skips: np.ndarray, rng: np.random.Generator) -> None:
        """Goodhart dynamics: adaptive artists who released this epoch set their next release.

        Imitation of the top-earning recent tracks of their genre at rate eta, hill climbing on
        their own first-week payout per release, a creative cost pulling style home, and an
        intro cut when their early-skip rate exceeds their genre's. See docs/MODEL.md (section 2).

        Args:
            epoch: the epoch just settled.
            track_payout: (T,) payout of each track this epoch under the active rule.
            track_streams: (T,) streams this epoch (unused by the rule; kept for the contract).
            track_plays: (T,) plays this epoch.
            track_early_skips: (T,) plays skipped before 30 s.
            rng: random generator.
        """
        ad = self.cfg.adaptation
        if ad.adaptive_share <= 0 or not self.adaptive.any():
            return
        cat = self.catalog
        n_tracks = len(cat)
        payout = _fit(track_payout, n_tracks)
        new = np.flatnonzero((cat.release_epoch == epoch) & ~cat.fraud)
        n_new = np.bincount(cat.artist[new], minlength=self.n)
        act = np.flatnonzero(self.adaptive & (n_new > 0))
        if len(act) == 0:
            return
        perf = np.bincount(cat.artist[new], weights=payout[new], minlength=self.n)[act] / n_new[act]

        recent = np.flatnonzero((cat.release_epoch > epoch - ad.recent_epochs) & ~cat.fraud)
        top_len, top_intro, top_style, has_top = top_features(
            cat.genre[recent], payout[recent], cat.length_s[recent], cat.intro_s[recent],
            cat.style[recent], self.world.n_genres, ad.top_share)
        excess = excess_skip_rate(cat.artist[recent], cat.genre[recent], _fit(track_plays, n_tracks)[recent],
                                  _fit(track_early_skips, n_tracks)[recent], self.n, self.world.n_genres)

        c = self.scenario.catalog
        g = self.genre[act]
        eta = np.where(has_top[g], ad.imitation_rate, 0.0)
        scale = np.concatenate([[c.length_mean_s, c.intro_mean_s], np.ones(self.d)]).astype(np.float32)
        noise = ad.hill_climb_sd * scale * rng.standard_normal((len(act), self.d + 2)).astype(np.float32)
        # keep a step that raised payout per release, take back one that lowered it, explore anew
        worse = self.hc_has_ref[act] & (perf < self.hc_ref[act])
        step = np.where(worse[:, None], -self.hc_step[act], 0.0) + noise

        length = self.target_length_s[act].astype(np.float64)
        intro = self.target_intro_s[act].astype(np.float64)
        length = length + eta * (np.nan_to_num(top_len[g]) - length) + step[:, 0]
        length = np.clip(length, ad.min_length_s, MAX_LENGTH_S)
        intro = intro + eta * (np.nan_to_num(top_intro[g]) - intro) + step[:, 1] \
            - ad.imitation_rate * excess[act] * intro
        intro = np.clip(intro, ad.min_intro_s, np.maximum(length, ad.min_intro_s))

        pull, cost = eta, ad.imitation_rate * ad.creative_cost
        total = pull + cost
        shrink = np.where(total > 1.0, 1.0 / np.maximum(total, 1e-12), 1.0)
        style = self.style[act]
        moved = (style + (pull * shrink)[:, None] * (top_style[g] - style)
                 + (cost * shrink)[:, None] * (self.home_style[act] - style) + step[:, 2:])
        new_style = normalize(moved)

        self._store["target_length_s"][act] = length
        self._store["target_intro_s"][act] = intro
        self._store["style"][act] = new_style
        self._store["hc_step"][act] = noise
        self._store["hc_ref"][act] = perf
        self._store["hc_has_ref"][act] = True


def _fit(values: np.ndarray, n: int) -> np.ndarray:
    """A per-track array as float64 of length n (zero-padded if the catalog grew since)."""
    values = np.asarray(values, dtype=np.float64)
    if len(values) >= n:
        return values[:n]
    return np.concatenate([values, np.zeros(n - len(values))])


def top_features(genre: np.ndarray, payout: np.ndarray, length: np.ndarray, intro: np.ndarray,
                 style: np.ndarray, n_genres: int, top_share: float):
    """Mean length, intro and style of the top-earning share of recent tracks, per genre.

    The top ``ceil(top_share * n_g)`` tracks of each genre by payout (at least one). A genre
    whose recent tracks earned nothing borrows the whole catalog's top tracks; if nothing earned
    anything, ``has_top`` is False and artists have nothing to imitate.

    Returns:
        (length (G,), intro (G,), style (G, d) unit vectors, has_top bool (G,)).
    """
    d = style.shape[1]
    nan = (np.full(n_genres, np.nan), np.full(n_genres, np.nan),
           np.zeros((n_genres, d), np.float32), np.zeros(n_genres, bool))
    if len(genre) == 0:
        return nan
    gl = _top_means(np.zeros(len(genre), np.int64), payout, length, intro, style, 1, top_share)
    if not gl[3][0]:
        return nan
    per = _top_means(genre.astype(np.int64), payout, length, intro, style, n_genres, top_share)
    use = per[3]
    return (np.where(use, per[0], gl[0][0]), np.where(use, per[1], gl[1][0]),
            np.where(use[:, None], per[2], gl[2][0]), np.ones(n_genres, bool))


def _top_means(group, payout, length, intro, style, n_groups, top_share):
    order = np.lexsort((-payout, group))
    g = group[order]
    counts = np.bincount(g, minlength=n_groups)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    rank = np.arange(len(g)) - starts[g]
    k = np.maximum(1, np.ceil(top_share * counts)).astype(np.int64)
    keep = order[rank < k[g]]
    gk = group[keep]
    nk = np.bincount(gk, minlength=n_groups).astype(np.float64)
    earned = np.bincount(gk, weights=payout[keep], minlength=n_groups) > 0
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_len = np.bincount(gk, weights=length[keep], minlength=n_groups) / nk
        mean_intro = np.bincount(gk, weights=intro[keep], minlength=n_groups) / nk
    mean_style = np.stack([np.bincount(gk, weights=style[keep, j], minlength=n_groups)
                           for j in range(style.shape[1])], axis=1)
    return mean_len, mean_intro, normalize(mean_style), earned


def excess_skip_rate(artist: np.ndarray, genre: np.ndarray, plays: np.ndarray, skips: np.ndarray,
                     n_artists: int, n_genres: int) -> np.ndarray:
    """How far each artist's early-skip rate on recent tracks exceeds its genre's (0 if below)."""
    a_plays = np.bincount(artist, weights=plays, minlength=n_artists)
    a_skips = np.bincount(artist, weights=skips, minlength=n_artists)
    g_plays = np.bincount(genre, weights=plays, minlength=n_genres)
    g_skips = np.bincount(genre, weights=skips, minlength=n_genres)
    a_rate = np.divide(a_skips, a_plays, out=np.zeros(n_artists), where=a_plays > 0)
    g_rate = np.divide(g_skips, g_plays, out=np.zeros(n_genres), where=g_plays > 0)
    # an artist's genre is the genre of its recent tracks; artists without recent plays get 0
    a_genre = np.zeros(n_artists, np.int64)
    a_genre[artist] = genre
    return np.where(a_plays > 0, np.clip(a_rate - g_rate[a_genre], 0.0, 1.0), 0.0)
