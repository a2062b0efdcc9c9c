"""Artists: who makes the music, how famous they are, what they release and how they adapt.

The population is a struct of arrays (one row per artist; rows are only ever appended) with a
thin Mesa agent per artist that reads its row. Every per-epoch operation is vectorised over
artists. Each epoch the model books the active rule's payouts (:meth:`ArtistPopulation.observe`:
income, trailing streams, tiers, fame), then artists and labels decide
(:meth:`~ArtistPopulation.adapt`, :meth:`~ArtistPopulation.respond`, :meth:`~ArtistPopulation.exit`).
The equations are in docs/MODEL.md (section 2).
"""

from __future__ import annotations

import math

import mesa
import numpy as np

from streamsim.agents.catalog import Catalog
from streamsim.agents.columns import Columns
from streamsim.agents.tracks import MAX_LENGTH_S, make_tracks
from streamsim.agents.trailing import TrailingSum
from streamsim.agents.world import World, normalize
from streamsim.core.codes import Contract, Tier
from streamsim.core.config import ArtistsConfig, Scenario
from streamsim.core.units import EPOCHS_PER_MONTH, EPOCHS_PER_YEAR


# name -> (dtype, width key): None for a scalar per artist, "d" for a style-space row.
_COLUMNS: dict[str, tuple[type, str | None]] = {
    "genre": (np.int16, None),
    "home_style": (np.float32, "d"),
    "style": (np.float32, "d"),
    "talent": (np.float32, None),
    "fame": (np.float64, None),
    "tier": (np.int8, None),          # from trailing streams, every epoch
    "fame_tier": (np.int8, None),     # from fame at entry, fixed
    "major": (np.bool_, None),
    "contract": (np.int8, None),      # streamsim.core.codes.Contract
    "label": (np.int32, None),        # label id (majors first), -1 for the self-released
    "professional": (np.bool_, None),  # needs an income from streaming (may exit)
    "active": (np.bool_, None),       # still releasing (False after an exit)
    "exit_epoch": (np.int32, None),   # epoch of the exit, -1 while active
    "release_rate": (np.float32, None),
    "output_multiplier": (np.float32, None),  # release response to income (1 = the fame-given rate)
    "adaptive": (np.bool_, None),
    "entry_epoch": (np.int32, None),
    "target_length_s": (np.float32, None),
    "base_length_s": (np.float32, None),  # target length at entry (splitting keeps seconds released)
    "target_intro_s": (np.float32, None),
    "is_fraud": (np.bool_, None),
    "tag_offset": (np.float32, "d"),
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
    fame_tier = property(lambda self: int(self._get("fame_tier")))
    major = property(lambda self: bool(self._get("major")))
    contract = property(lambda self: Contract(int(self._get("contract"))))
    label = property(lambda self: int(self._get("label")))
    active = property(lambda self: bool(self._get("active")))
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


def contracts(u: np.ndarray, p_major: np.ndarray, self_released_share: float) -> np.ndarray:
    """Contract codes from one uniform draw per artist: major if ``u < p_major``; of the rest, the
    top ``self_released_share`` of the interval self-released, the others independent."""
    cut = p_major + (1.0 - p_major) * (1.0 - self_released_share)
    return np.where(u < p_major, Contract.MAJOR,
                    np.where(u >= cut, Contract.SELF_RELEASED, Contract.INDEPENDENT)).astype(np.int8)


def tiers_by_rank(value: np.ndarray, superstar_share: float, established_share: float) -> np.ndarray:
    """Tier codes by rank of ``value`` (fame, trailing streams): the top share superstar, the next
    established, the rest emerging; ties keep the lower id higher."""
    n = len(value)
    n_super = int(round(superstar_share * n))
    n_est = int(round((superstar_share + established_share) * n)) - n_super
    order = np.argsort(-np.asarray(value, np.float64), kind="stable")
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
    style, talent, fame, tier (from trailing streams), fame_tier (from fame at entry), major,
    contract, label, professional, active, exit_epoch, release_rate (tracks per epoch),
    output_multiplier, adaptive, entry_epoch, target_length_s, base_length_s, target_intro_s,
    is_fraud, tag_offset (n, d). ``money_scale`` is the last epoch's scale of money bars.
    """

    def __init__(self, model: mesa.Model, scenario: Scenario, world: World, catalog: Catalog,
                 rng: np.random.Generator):
        self.model = model
        self.scenario = scenario
        self.cfg = scenario.artists
        self.world = world
        self.catalog = catalog
        self.d = world.d_style
        self._store = Columns({name: (dtype, (self.d,) if width else ()) for name, (dtype, width) in _COLUMNS.items()})
        self.agents: list[Artist] = []

        a = self.cfg
        fame = 1.0 + rng.pareto(a.fame_pareto_shape, a.count)
        tier = tiers_by_rank(fame, a.superstar_share, a.established_share)
        emerging = fame[tier == Tier.EMERGING]
        # entrants are emerging: their fame is drawn below the best emerging artist at start
        self.emerging_fame_max = float(emerging.max()) if len(emerging) else float(fame.min())
        ids = self._add(self._draw(a.count, fame, tier, self._initial_entry(a.count, rng), rng))
        self._aim = np.zeros((0, 2), np.float32)  # per track: target length and intro at release
        self._back_catalog(ids, rng)
        # drawn after the back catalog, so that the draws above are those of a run without labels
        independents = np.count_nonzero(self.contract == Contract.INDEPENDENT)
        self.n_labels = a.labels.majors + max(1, int(round(independents / a.labels.independent_roster)))
        self._sign(ids, a.dynamics.professional_share, rng)

        self._prior_streams = np.bincount(catalog.artist, weights=self.prior_track_popularity(),
                                          minlength=self.n).astype(np.float64)
        self._streams = TrailingSum(a.tier_window_epochs)
        self._net = TrailingSum(a.dynamics.grace_epochs)
        self._track_income = np.zeros(len(catalog))  # active-rule payout over a track's first weeks
        self.money_scale = 0.0

    # storage -----------------------------------------------------------------------------
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
        talent = rng.standard_normal(m).astype(np.float32)
        contract = contracts(rng.random(m), major_probability(fame, a), a.labels.self_released_share)
        return {
            "genre": genre,
            "home_style": home,
            "style": home.copy(),
            "talent": talent,
            "fame": fame,
            "tier": tier,
            "fame_tier": tier,
            "major": contract == Contract.MAJOR,
            "contract": contract,
            "label": np.full(m, -1, np.int32),
            "active": np.ones(m, bool),
            "exit_epoch": np.full(m, -1, np.int32),
            "release_rate": release_rates(fame, a),
            "output_multiplier": np.ones(m, np.float32),
            "adaptive": rng.random(m) < a.adaptation.adaptive_share,
            "entry_epoch": entry_epoch,
            "target_length_s": length,
            "base_length_s": length,
            "target_intro_s": intro,
            "tag_offset": c.tag_artist_noise * rng.standard_normal((m, self.d)),
        }

    def _sign(self, ids: np.ndarray, professional_prob: float, rng: np.random.Generator) -> None:
        """Labels and careers of new artists: a major's artists are spread uniformly over the
        majors, an independent's over the independent labels; professionals are a Bernoulli draw."""
        contract = self.contract[ids]
        majors = self.cfg.labels.majors
        major_label = rng.integers(0, majors, len(ids))
        independent_label = majors + rng.integers(0, self.n_labels - majors, len(ids))
        self._store["label"][ids] = np.where(contract == Contract.MAJOR, major_label,
                                             np.where(contract == Contract.INDEPENDENT, independent_label, -1))
        self._store["professional"][ids] = rng.random(len(ids)) < professional_prob

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
        ids = self.catalog.append(**self.track_columns(artist, epoch, rng))
        if len(self._aim) < len(self.catalog):  # tracks appended by others (stream farms) aim at nothing
            self._aim = np.concatenate([self._aim, np.zeros((len(self.catalog) - len(self._aim), 2), np.float32)])
        self._aim[ids, 0] = self.target_length_s[artist]
        self._aim[ids, 1] = self.target_intro_s[artist]
        return ids

    # the epoch ---------------------------------------------------------------------------
    def enter(self, epoch: int, rng: np.random.Generator) -> np.ndarray:
        """New artists this epoch: Poisson(entry_rate * active organic artists * attraction),
        emerging, no back catalog.

        Their fame is Pareto truncated below the best emerging artist at start (inverse CDF).
        With ``dynamics.entry_response`` the professionals among them come in proportion to the
        income a newcomer can expect (:meth:`entry_attraction`). Returns the new artist ids.
        """
        dyn = self.cfg.dynamics
        p, attraction = dyn.professional_share, self.entry_attraction(epoch)
        pool = (1.0 - p) + p * attraction
        organic = int(np.count_nonzero(~self.is_fraud & self.active))
        m = int(rng.poisson(self.cfg.entry_rate * organic * pool))
        if m == 0:
            return np.zeros(0, np.int32)
        shape = self.cfg.fame_pareto_shape
        cdf_max = 1.0 - self.emerging_fame_max ** -shape
        fame = (1.0 - rng.random(m) * cdf_max) ** (-1.0 / shape)
        tier = np.full(m, Tier.EMERGING, np.int8)
        ids = self._add(self._draw(m, fame, tier, np.full(m, epoch, np.int32), rng))
        self._sign(ids, p * attraction / pool if pool > 0 else 0.0, rng)
        return ids

    def entry_attraction(self, epoch: int) -> float:
        """How attractive entry is to a professional: ``clip((ȳ_new / R)^ε, 0, max)``, 1 when off.

        ȳ_new is the mean net income per epoch of the artists who entered within the last
        ``grace_epochs`` epochs (what a newcomer can expect), R the scaled reservation value.
        With nothing observed yet it is 1 (the base entry rate).
        """
        dyn = self.cfg.dynamics
        if not dyn.entry_response or self._net.epochs == 0:
            return 1.0
        new = np.flatnonzero(~self.is_fraud & (self.entry_epoch > epoch - dyn.grace_epochs))
        reservation = self.reservation_epoch()
        if len(new) == 0 or reservation <= 0:
            return 1.0
        seen = np.minimum(epoch - np.maximum(self.entry_epoch[new], 0), self._net.epochs)
        income = self._net.total(self.n)[new] / np.maximum(seen, 1)
        return float(np.clip((income.mean() / reservation) ** dyn.entry_elasticity, 0.0, dyn.entry_multiplier_max))

    def reservation_epoch(self) -> float:
        """The reservation value in simulated USD per epoch (scaled like the living bar)."""
        return self.cfg.dynamics.reservation_usd_month / EPOCHS_PER_MONTH * self.money_scale

    def release(self, epoch: int, rng: np.random.Generator) -> np.ndarray:
        """Each active artist releases Poisson(release_rate) tracks this epoch; returns the new track ids.

        With ``releases_per_epoch = n >= 0`` exactly n tracks are released, by artists drawn in
        proportion to their release rates.
        """
        rate = np.where(self.is_fraud | ~self.active, 0.0, self.release_rate.astype(np.float64))
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
        """One fraudulent artist: least famous, self-released, releasing nothing by itself."""
        fame = np.ones(1)
        cols = self._draw(1, fame, np.full(1, Tier.EMERGING, np.int8), np.full(1, epoch, np.int32), rng)
        cols.update(major=np.zeros(1, bool), contract=np.full(1, Contract.SELF_RELEASED, np.int8),
                    release_rate=np.zeros(1, np.float32), adaptive=np.zeros(1, bool), is_fraud=np.ones(1, bool),
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

    # what the epoch paid ---------------------------------------------------------------------
    def observe(self, epoch: int, track_payout: np.ndarray, artist_streams: np.ndarray,
                money_scale: float, net_share: np.ndarray) -> None:
        """Book the epoch: the active rule's payouts and the streams, then tiers and fame.

        Args:
            epoch: the epoch just settled.
            track_payout: (T,) payout of each track this epoch under the active rule (USD).
            artist_streams: (A,) streams of each artist this epoch.
            money_scale: this epoch's scale of real money bars (``economics.revenue.money_scale``).
            net_share: (A,) the share of each artist's payout that is its net income under its
                contract (``economics.splits.net_shares``).
        """
        cat = self.catalog
        n_tracks = len(cat)
        payout = _fit(track_payout, n_tracks)
        self._track_income = _fit(self._track_income, n_tracks)
        age = epoch - cat.release_epoch
        young = (age >= 0) & (age < self.cfg.adaptation.evaluation_epochs)
        self._track_income[young] += payout[young]
        gross = np.bincount(cat.artist, weights=payout, minlength=self.n)[: self.n]
        self._net.add(gross * _fit(net_share, self.n))
        self._streams.add(_fit(artist_streams, self.n))
        self.money_scale = float(money_scale)
        trailing = self.trailing_streams()
        organic = np.flatnonzero(~self.is_fraud)
        self._store["tier"][organic] = tiers_by_rank(trailing[organic], self.cfg.superstar_share,
                                                     self.cfg.established_share)
        if self.cfg.dynamics.fame_rate > 0:
            self._store["fame"][organic] = evolve_fame(self.fame[organic], trailing[organic],
                                                       self.cfg.dynamics.fame_rate)
            self._update_release_rates()

    def trailing_streams(self) -> np.ndarray:
        """Streams of each artist over the last ``tier_window_epochs`` epochs.

        Epochs before the run are filled with the artist's prior expected weekly streams (the
        stream history of :meth:`prior_track_popularity`), so the window is always full.
        """
        before = max(self.cfg.tier_window_epochs - self._streams.epochs, 0)
        return self._streams.total(self.n) + before * _fit(self._prior_streams, self.n)

    def aims(self) -> np.ndarray:
        """(T, 2): the length and intro each track's artist aimed at when releasing it (s)."""
        if len(self._aim) < len(self.catalog):
            return np.concatenate([self._aim, np.zeros((len(self.catalog) - len(self._aim), 2), np.float32)])
        return self._aim.copy()

    def track_income(self) -> np.ndarray:
        """Each track's active-rule payout over its first ``evaluation_epochs`` epochs (so far)."""
        return _fit(self._track_income, len(self.catalog))

    # decisions -------------------------------------------------------------------------------
    def evidence(self, epoch: int) -> tuple[np.ndarray, np.ndarray]:
        """The judged releases remembered at ``epoch`` and those judged this very epoch (track ids).

        A release is judged once its first ``evaluation_epochs`` epochs have been paid; it is
        remembered for ``memory_epochs`` epochs after that. Fraud tracks are never evidence.
        """
        ad = self.cfg.adaptation
        cat = self.catalog
        judged_at = cat.release_epoch + ad.evaluation_epochs - 1
        remembered = np.flatnonzero((judged_at <= epoch) & (judged_at > epoch - ad.memory_epochs) & ~cat.fraud)
        return remembered, remembered[judged_at[remembered] == epoch]

    def adapt(self, epoch: int) -> np.ndarray:
        """Goodhart dynamics: artists and labels set the length, intro and style of coming releases.

        Deciders are units: a label that acts (``labels.act``) decides for its whole roster every
        ``decision_epochs`` epochs, pooling the evidence of every roster artist; an adaptive
        artist on no acting label decides alone, when one of its releases has just been judged.
        A decision combines imitation of the top-earning judged releases of the genre, a step
        along the income slope the unit estimated from its own judged releases (scaled by the
        slope's t-statistic), and a creative cost pulling style home. Income under the active
        rule is the only evidence. See docs/MODEL.md (section 2).

        Args:
            epoch: the epoch just settled (after :meth:`observe`).
        Returns:
            ids of the artists whose targets changed.
        """
        ad, lab = self.cfg.adaptation, self.cfg.labels
        managed = lab.act & (self.label >= 0)
        alone = self.adaptive & ~managed
        if not (alone.any() or managed.any()):
            return np.zeros(0, np.int32)
        cat = self.catalog
        remembered, judged_now = self.evidence(epoch)
        deciding = np.zeros(self.n, bool)
        deciding[cat.artist[judged_now]] = True
        deciding &= alone
        if (epoch + 1) % lab.decision_epochs == 0:
            deciding |= managed
        act = np.flatnonzero(deciding & self.active & ~self.is_fraud)
        if len(act) == 0:
            return act.astype(np.int32)

        income = self.track_income()
        unit = np.where(managed, self.n + self.label, np.arange(self.n))  # the decider of each artist
        c = self.scenario.catalog
        aim, artist = self.aims()[remembered], cat.artist[remembered]
        y, units = relative_income(artist, income[remembered]), self.n + self.n_labels
        t_len = slope_t(unit[artist], artist, y, cat.length_s[remembered] - aim[:, 0], units)
        t_intro = slope_t(unit[artist], artist, y, cat.intro_s[remembered] - aim[:, 1], units)
        u = unit[act]
        step_len = ad.step_size * c.length_mean_s * np.clip(t_len[u] / ad.evidence_t, -1.0, 1.0)
        step_intro = ad.step_size * c.intro_mean_s * np.clip(t_intro[u] / ad.evidence_t, -1.0, 1.0)

        top_len, top_intro, top_style, has_top = top_features(
            cat.genre[remembered], income[remembered], cat.length_s[remembered], cat.intro_s[remembered],
            cat.style[remembered], self.world.n_genres, ad.top_share)

        g = self.genre[act]
        eta = np.where(has_top[g], ad.imitation_rate, 0.0)
        length = self.target_length_s[act].astype(np.float64)
        intro = self.target_intro_s[act].astype(np.float64)
        length = length + eta * (np.nan_to_num(top_len[g]) - length) + step_len
        length = np.clip(length, ad.min_length_s, MAX_LENGTH_S)
        intro = intro + eta * (np.nan_to_num(top_intro[g]) - intro) + step_intro
        intro = np.clip(intro, ad.min_intro_s, np.maximum(length, ad.min_intro_s))

        pull, cost = eta, ad.imitation_rate * ad.creative_cost
        total = pull + cost
        shrink = np.where(total > 1.0, 1.0 / np.maximum(total, 1e-12), 1.0)
        style = self.style[act]
        moved = (style + (pull * shrink)[:, None] * (top_style[g] - style)
                 + (cost * shrink)[:, None] * (self.home_style[act] - style))

        self._store["target_length_s"][act] = length
        self._store["target_intro_s"][act] = intro
        self._store["style"][act] = normalize(moved)
        if self.cfg.dynamics.release_response:
            self._update_release_rates()
        return act.astype(np.int32)

    def respond(self, epoch: int) -> None:
        """Release rates follow income (``dynamics.release_response``; nothing when off).

        An artist's output (seconds of music per epoch) targets ``(y_a / y_m)^ε`` times the
        fame-given output, within [1/max, max]: y_a is its judged releases' income per second
        released, y_m the market's. The multiplier moves toward the target at
        ``release_adjust_rate`` per epoch; tracks per epoch are output over target length, so
        shorter tracks mean more of them (splitting).
        """
        dyn = self.cfg.dynamics
        if not dyn.release_response:
            return
        cat = self.catalog
        remembered, _ = self.evidence(epoch)
        income = self.track_income()[remembered]
        seconds = cat.length_s[remembered].astype(np.float64)
        artist = cat.artist[remembered]
        paid = np.bincount(artist, weights=income, minlength=self.n)[: self.n]
        made = np.bincount(artist, weights=seconds, minlength=self.n)[: self.n]
        market = income.sum() / seconds.sum() if seconds.sum() > 0 else 0.0
        target = np.ones(self.n)
        known = made > 0
        if market > 0:
            ratio = paid[known] / made[known] / market
            target[known] = np.clip(ratio ** dyn.release_elasticity, 1.0 / dyn.release_multiplier_max,
                                    dyn.release_multiplier_max)
        m = self.output_multiplier.astype(np.float64)
        self._store["output_multiplier"][:] = m + dyn.release_adjust_rate * (target - m)
        self._update_release_rates()

    def _update_release_rates(self) -> None:
        """Tracks per epoch from fame, the output multiplier and splitting (when the response is on)."""
        rate = release_rates(self.fame, self.cfg).astype(np.float64)
        if self.cfg.dynamics.release_response:
            rate = rate * self.output_multiplier * self.base_length_s / np.maximum(self.target_length_s, 1.0)
        rate[self.is_fraud] = 0.0
        self._store["release_rate"][:] = rate

    def exit(self, epoch: int, rng: np.random.Generator) -> np.ndarray:
        """Professionals whose net income stays under the reservation value stop releasing.

        An active professional observed for at least ``grace_epochs`` epochs whose mean net income
        over them is below the scaled reservation value exits with probability ``exit_hazard``
        this epoch. Its tracks stay in the catalog. Returns the ids of the artists who exited.
        """
        dyn = self.cfg.dynamics
        if not dyn.exit:
            return np.zeros(0, np.int32)
        seen = epoch - np.maximum(self.entry_epoch, 0) + 1
        mean_net = self._net.total(self.n) / dyn.grace_epochs
        below = (self.professional & self.active & ~self.is_fraud & (seen >= dyn.grace_epochs)
                 & (mean_net < self.reservation_epoch()))
        leave = np.flatnonzero(below & (rng.random(self.n) < dyn.exit_hazard))
        self._store["active"][leave] = False
        self._store["exit_epoch"][leave] = epoch
        return leave.astype(np.int32)


def _fit(values: np.ndarray, n: int) -> np.ndarray:
    """A per-track array as float64 of length n (zero-padded if the catalog grew since)."""
    values = np.asarray(values, dtype=np.float64)
    if len(values) >= n:
        return values[:n]
    return np.concatenate([values, np.zeros(n - len(values))])


def top_features(genre: np.ndarray, payout: np.ndarray, length: np.ndarray, intro: np.ndarray,
                 style: np.ndarray, n_genres: int, top_share: float):
    """Mean length, intro and style of the top-earning share of judged releases, per genre.

    The top ``ceil(top_share * n_g)`` tracks of each genre by income (at least one). A genre
    whose releases earned nothing borrows the whole catalog's top tracks; if nothing earned
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


def evolve_fame(fame: np.ndarray, trailing_streams: np.ndarray, rate: float) -> np.ndarray:
    """Fame moves toward the fame of the artist's rank in trailing streams.

    ``ln f ← ln f + rate · (ln f̂ − ln f)``, where f̂ gives the k-th most streamed artist the k-th
    largest fame of the population (a quantile mapping), so the fame distribution keeps its
    shape while artists rise and fall with their streams. Ties keep the lower id higher.
    """
    order = np.argsort(-np.asarray(trailing_streams, np.float64), kind="stable")
    target = np.empty_like(fame)
    target[order] = np.sort(fame)[::-1]
    return np.exp(np.log(fame) + rate * (np.log(target) - np.log(fame)))


def relative_income(artist: np.ndarray, income: np.ndarray) -> np.ndarray:
    """``y_j = income_j / ī_a − 1``: each release's income over its artist's mean (0 when the
    artist earned nothing), so artists of every size weigh alike and fame and talent drop out."""
    _, a_idx = np.unique(np.asarray(artist), return_inverse=True)
    income = np.asarray(income, np.float64)
    mean = (np.bincount(a_idx, weights=income) / np.bincount(a_idx))[a_idx]
    return np.divide(income, mean, out=np.ones(len(income)), where=mean > 0) - 1.0


def slope_t(unit: np.ndarray, artist: np.ndarray, y: np.ndarray, x: np.ndarray, n_units: int) -> np.ndarray:
    """t-statistic of the slope of y on x within artists, per deciding unit.

    Both are centred on their artist's mean (artist fixed effects). Per unit u (an artist alone,
    or a label pooling its roster): ``β = Σ x y / Σ x²``, ``s² = (Σ y² − β Σ x y) / (n − k − 1)``
    with n releases and k artists, ``t = β / √(s² / Σ x²)``; 0 where ``Σ x² = 0`` or without
    degrees of freedom, ±inf for an exact fit with a non-zero slope.

    Args:
        unit: (J,) deciding unit of each judged release.
        artist: (J,) its artist.
        y: (J,) the outcome (relative income, :func:`relative_income`).
        x: (J,) the feature, or its deviation from what the artist aimed at (t does not depend
            on its scale).
        n_units: number of units.
    """
    unit = np.asarray(unit, np.int64)
    t = np.zeros(n_units)
    if len(unit) == 0:
        return t
    _, a_idx = np.unique(np.asarray(artist), return_inverse=True)
    n_a = np.bincount(a_idx).astype(np.float64)

    def within(v: np.ndarray) -> np.ndarray:
        v = np.asarray(v, np.float64)
        return v - (np.bincount(a_idx, weights=v) / n_a)[a_idx]

    x, y = within(x), within(y)
    n = np.bincount(unit, minlength=n_units).astype(np.float64)
    k = np.bincount(unit[np.unique(a_idx, return_index=True)[1]], minlength=n_units).astype(np.float64)
    dof = n - k - 1.0
    sxx = np.bincount(unit, weights=x * x, minlength=n_units)
    sxy = np.bincount(unit, weights=x * y, minlength=n_units)
    syy = np.bincount(unit, weights=y * y, minlength=n_units)
    ok = (sxx > 0) & (dof > 0)
    beta = np.divide(sxy, sxx, out=np.zeros(n_units), where=ok)
    s2 = np.divide(np.maximum(syy - beta * sxy, 0.0), dof, out=np.zeros(n_units), where=ok)
    se = np.sqrt(np.divide(s2, sxx, out=np.zeros(n_units), where=ok))
    fit = ok & (se > 0)
    t[fit] = beta[fit] / se[fit]
    perfect = ok & (se == 0) & (beta != 0)  # an exact fit is as strong as evidence gets
    t[perfect] = np.copysign(np.inf, beta[perfect])
    return t
