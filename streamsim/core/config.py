"""The scenario schema: one validated, frozen description of a whole run.

A scenario is a TOML file whose tables mirror the sections below. Every field has a default,
a unit and a valid range, so an empty file is the baseline. Files and command-line overrides
(``--set section.key=value``) go through the same validation before any work starts; a bad
scenario raises :class:`ScenarioError`, which lists every problem with its dotted key, the
offending value and what was expected.

Types are strict: a number field takes a number and nothing else (``true`` is not 1, ``"5"``
is not 5), an integer field takes an integer (``1.5`` and ``5.0`` are refused), while a float
field also takes an integer (TOML writes ``5`` for 5.0).
"""

from __future__ import annotations

import math
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal

import tomli_w
from pydantic import (BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator,
                      model_validator)
from pydantic.fields import FieldInfo

from streamsim.core.codes import CHANNELS
from streamsim.core.registry import PAYOUT_RULES, RECOMMENDERS, Registry

Probability = Annotated[float, Field(ge=0.0, le=1.0)]


def _registered(registry: Registry, value: str) -> str:
    """``value`` if it names an entry of the registry, else a ValueError listing the names."""
    if value not in registry:
        raise ValueError(f"one of {', '.join(registry.names())}")
    return value


class Section(BaseModel):
    """Base of every section: unknown keys are errors, types are strict, values are frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True, strict=True)


class RunConfig(Section):
    """What to run: a name, a seed and a length."""

    name: str = Field("baseline", min_length=1, max_length=80, pattern=r"^[A-Za-z0-9_.-]+$",
                      description="scenario name; names the output folder (letters, digits, _ . -)")
    description: str = Field("", description="free text: the question the scenario answers")
    seed: int = Field(20261125, ge=0, le=2**63 - 1, description="the one seed of the run (integer)")
    epochs: int = Field(52, ge=1, le=10_000,
                        description="epochs recorded after the burn-in (one epoch = one week)")
    burn_in_epochs: int = Field(104, ge=0, le=10_000,
                                description="epochs simulated first (recommender, artists and money all running) "
                                            "and flagged burn_in in the outputs; plots, summaries, sweep "
                                            "summaries and calibration leave them out")

    @property
    def total_epochs(self) -> int:
        """Epochs simulated: the burn-in, then the recorded ones."""
        return self.burn_in_epochs + self.epochs


class WorldConfig(Section):
    """The hidden style space and its genres."""

    d_style: int = Field(8, ge=2, le=64, description="dimension of the hidden style space")
    n_genres: int = Field(12, ge=1, le=200, description="number of genres (centres on the sphere)")
    genre_zipf: float = Field(1.0, ge=0.0, le=4.0, description="Zipf exponent of genre popularity")
    genre_drift: float = Field(0.02, ge=0.0, le=1.0,
                               description="per-epoch sd of the log-popularity random walk of genres")
    n_regions: int = Field(1, ge=1, le=32, description="number of market regions")
    n_tags: int = Field(64, ge=2, le=10_000, description="size of the culture-tag vocabulary")
    audio_dim: int = Field(16, ge=2, le=512, description="dimension of the audio embedding")
    audio_noise: float = Field(0.3, ge=0.0, le=10.0,
                               description="sd of the noise added to the audio embedding (style units)")
    preference_model: Literal["style", "dirichlet"] = Field(
        "style", description="style: unit tastes and track styles around genre centres; dirichlet: "
                             "Chaney et al. 2018's topic model, taste ~ Dir(mu_user) and track style "
                             "~ Dir(mu_item) on d_style topics, so taste.style lies in [0, 1]")
    dirichlet_user_scale: float = Field(
        10.0, gt=0.0, le=1e4, description="dirichlet: mu_user = scale * Dir(prior * 1), drawn once per run "
                                          "(concentration, dimensionless)")
    dirichlet_user_prior: float = Field(1.0, gt=0.0, le=1e4,
                                        description="dirichlet: prior of mu_user (concentration, dimensionless)")
    dirichlet_item_scale: float = Field(
        0.1, gt=0.0, le=1e4, description="dirichlet: mu_item = scale * Dir(prior * 1), drawn once per run "
                                         "(concentration, dimensionless)")
    dirichlet_item_prior: float = Field(100.0, gt=0.0, le=1e4,
                                        description="dirichlet: prior of mu_item (concentration, dimensionless)")


class CatalogConfig(Section):
    """Tracks: the back catalog at epoch 0 and the distributions of new releases."""

    back_catalog_years: float = Field(8.0, ge=0.0, le=50.0,
                                      description="years of releases that exist before epoch 0")
    length_mean_s: float = Field(215.0, gt=30.0, le=1800.0, description="mean track length (s)")
    length_sd_s: float = Field(45.0, ge=0.0, le=600.0, description="sd of track length (s)")
    intro_mean_s: float = Field(15.0, ge=0.0, le=120.0, description="mean time to the hook (s)")
    intro_sd_s: float = Field(8.0, ge=0.0, le=120.0, description="sd of time to the hook (s)")
    style_noise: float = Field(0.2, ge=0.0, le=5.0,
                               description="sd of a track's style around its artist's style")
    quality_sd: float = Field(0.3, ge=0.0, le=5.0,
                              description="sd of track quality around the artist's talent")
    tags_per_track: int = Field(5, ge=1, le=100, description="culture tags drawn per track")
    explicit_share: Probability = Field(0.1, description="share of tracks flagged explicit")
    region_availability: Probability = Field(
        1.0, description="probability that a track is available in each region")
    artist_feature_share: Probability = Field(
        0.25, description="share of the variance of length and intro that lies between artists")
    tag_noise: float = Field(0.1, ge=0.0, le=10.0,
                             description="Gumbel scale of the noise in tag choice (cosine units)")
    tag_artist_noise: float = Field(0.3, ge=0.0, le=5.0,
                                    description="sd of an artist's own tag offset (style units)")


class AdaptationConfig(Section):
    """Goodhart dynamics: how artists and labels chase what the active payout rule rewards."""

    adaptive_share: Probability = Field(
        0.0, description="share of artists who adapt their releases on their own (0 = off); "
                         "artists on a label that acts follow their label instead")
    evaluation_epochs: int = Field(
        8, ge=1, le=520, description="a release is judged by its net income over its first this many "
                                     "epochs (weeks)")
    memory_epochs: int = Field(
        52, ge=1, le=10_000, description="releases judged within this many epochs are remembered as "
                                         "evidence (epochs)")
    step_size: float = Field(
        0.05, ge=0.0, le=1.0, description="largest step of length and intro per decision, relative to "
                                          "the catalog means (dimensionless)")
    evidence_t: float = Field(
        2.0, gt=0.0, le=100.0, description="t-statistic of the income slope at which a full step is "
                                           "taken; weaker evidence takes a proportionally smaller step")
    imitation_rate: Probability = Field(
        0.2, description="eta: step toward the features of the top-earning recent releases per decision")
    creative_cost: float = Field(1.0, ge=0.0, le=100.0,
                                 description="pull back toward the home style per unit distance")
    top_share: Probability = Field(0.05, description="share of judged releases counted as successful")
    min_length_s: float = Field(60.0, ge=10.0, le=600.0, description="shortest length artists make (s)")
    min_intro_s: float = Field(0.0, ge=0.0, le=60.0, description="shortest intro artists make (s)")


class LabelsConfig(Section):
    """Contracts and labels: who takes a cut, and who decides an artist's releases."""

    self_released_share: Probability = Field(
        0.5, description="share of the artists not signed to a major who release themselves through a "
                         "distributor; the rest are on independent labels (assumption)")
    majors: int = Field(3, ge=1, le=1000, description="major labels sharing the major-signed artists")
    independent_roster: float = Field(
        5.0, ge=1.0, le=100_000.0, description="mean artists per independent label (artists)")
    act: bool = Field(False, description="labels adapt their rosters' releases, pooling the evidence "
                                         "of every roster artist (else every artist acts alone)")
    decision_epochs: int = Field(4, ge=1, le=520,
                                 description="a label revises its roster's releases every this many epochs")


class DynamicsConfig(Section):
    """Careers: fame, release rates, exit and entry that respond to income (each 0/false = off)."""

    fame_rate: Probability = Field(
        0.0, description="per-epoch step of log fame toward the fame of the artist's rank in trailing "
                         "streams (0 = fame fixed)")
    release_response: bool = Field(
        False, description="release rates follow income per second of music released, and splitting "
                           "keeps the seconds released when tracks get shorter")
    release_elasticity: float = Field(
        0.5, ge=0.0, le=10.0, description="elasticity of an artist's output (seconds of music per epoch) "
                                          "in its income per second released relative to the market's")
    release_adjust_rate: Probability = Field(
        0.1, description="per-epoch step of the output multiplier toward its target")
    release_multiplier_max: float = Field(
        4.0, ge=1.0, le=100.0, description="output stays within [1/max, max] times the fame-given rate")
    exit: bool = Field(False, description="professional artists stop releasing when their trailing "
                                          "net income stays below the reservation value")
    entry_response: bool = Field(
        False, description="professional entrants arrive in proportion to the income a newcomer can expect")
    professional_share: Probability = Field(
        0.1, description="share of artists who need an income from streaming (the rest never exit for "
                         "lack of it)")
    reservation_usd_month: float = Field(
        250.0, ge=0.0, le=1e7, description="net streaming income a month below which a professional "
                                          "gives up (real USD, scaled to the platform like the living bar)")
    exit_hazard: Probability = Field(0.02, description="chance per epoch that a professional under the "
                                                       "reservation value stops releasing")
    grace_epochs: int = Field(52, ge=1, le=10_000,
                              description="epochs of observed income before an artist can exit")
    entry_elasticity: float = Field(
        1.0, ge=0.0, le=10.0, description="elasticity of professional entry in expected newcomer income "
                                          "over the reservation value")
    entry_multiplier_max: float = Field(4.0, ge=1.0, le=100.0,
                                        description="professional entry stays within [0, max] times its base rate")


class ArtistsConfig(Section):
    """Artists: population, fame, tiers, labels and release process."""

    count: int = Field(1000, ge=1, le=2_000_000, description="artists at epoch 0")
    home_style_noise: float = Field(0.35, ge=0.0, le=5.0,
                                    description="sd of an artist's home style around its genre centre")
    fame_pareto_shape: float = Field(1.2, gt=0.1, le=10.0,
                                     description="shape of the Pareto law of initial fame")
    superstar_share: Probability = Field(0.01, description="share of artists in the superstar tier")
    established_share: Probability = Field(0.09, description="share in the established tier")
    major_prob_min: Probability = Field(0.1, description="P(major label) for the least famous")
    major_prob_max: Probability = Field(0.9, description="P(major label) for the most famous")
    release_rate: float = Field(0.05, ge=0.0, le=50.0,
                                description="mean tracks released per artist per epoch (Poisson)")
    fame_release_boost: float = Field(0.5, ge=0.0, le=10.0,
                                      description="relative extra release rate per unit of log fame")
    popularity_fame_exponent: float = Field(
        1.7, ge=0.0, le=10.0, description="prior plays of a track rise as fame to this power")
    popularity_quality_weight: float = Field(
        2.5, ge=0.0, le=10.0, description="prior plays of a track rise as exp(weight * quality)")
    releases_per_epoch: int = Field(
        -1, ge=-1, le=10_000_000,
        description="-1: each artist releases Poisson(rate) tracks; n >= 0: exactly n tracks per epoch, "
                    "by artists drawn in proportion to their release rates (Chaney et al.'s fixed arrivals)")
    entry_rate: float = Field(0.002, ge=0.0, le=1.0,
                              description="new artists per epoch, as a share of current artists")
    tier_window_epochs: int = Field(
        52, ge=1, le=10_000, description="tiers are ranks of streams over this many trailing epochs (epochs)")
    adaptation: AdaptationConfig = AdaptationConfig()
    labels: LabelsConfig = LabelsConfig()
    dynamics: DynamicsConfig = DynamicsConfig()

    @field_validator("established_share")
    @classmethod
    def _tiers_fit(cls, value: float, info: ValidationInfo) -> float:
        superstar = info.data.get("superstar_share")
        if superstar is not None and superstar + value > 1.0:
            raise ValueError(f"at most 1 - superstar_share ({superstar}): the tiers' shares must sum to at most 1")
        return value


class BehaviourConfig(Section):
    """The listening kernel: utility, skips and the stream rule (DESIGN.md section 3)."""

    w_taste: float = Field(2.0, ge=0.0, le=100.0, description="weight of taste match in utility")
    w_quality: float = Field(0.5, ge=0.0, le=100.0, description="weight of quality in utility")
    utility_noise: float = Field(0.5, ge=0.0, le=100.0, description="sd of per-exposure utility noise")
    a0: float = Field(0.85, ge=-50, le=50, description="early-skip intercept (logit)")
    a1: float = Field(1.0, ge=-50, le=50, description="early-skip slope on utility")
    a2: float = Field(0.5, ge=-50, le=50, description="early-skip slope on intro length / attention")
    b0: float = Field(0.4, ge=-50, le=50, description="later-abandonment intercept (logit)")
    b1: float = Field(1.0, ge=-50, le=50, description="later-abandonment slope on utility")
    b2: float = Field(0.3, ge=-50, le=50, description="later-abandonment slope on track length")
    stream_threshold_s: float = Field(30.0, ge=0.0, le=600.0,
                                      description="seconds played that make a royalty-bearing stream")
    save_utility: float = Field(2.3, ge=-100, le=100,
                                description="utility above which a completed track is saved")
    skip_signal: float = Field(0.0, ge=-1.0, le=0.0,
                               description="interaction value recorded for an early skip (<= 0); an entry "
                                           "that ends negative is a dislike (ALS: preference 0, as implicit)")
    skip_time_scale_s: float = Field(4.0, gt=0.0, le=600.0,
                                     description="mean (s) of the exponential early-skip moment, "
                                                 "truncated at 30 s")


class EngagementConfig(Section):
    """How much people listen, which channels they use, whether they pay and whether they bring
    friends: each follows satisfaction (docs/MODEL.md section 3, "Engagement"). With every slope
    at 0 and both tier rates at 0, budgets, mixes and tiers stay as drawn and arrivals are a
    constant share of the active listeners."""

    reference_satisfaction: float = Field(
        1.6, ge=-100.0, le=100.0,
        description="satisfaction at which budgets, tier moves and referrals take their base values "
                    "(utility units; about the baseline's steady state)")
    budget_slope: float = Field(0.3, ge=0.0, le=10.0,
                                description="change of log listening budget per unit of satisfaction "
                                            "above the reference")
    mix_slope: float = Field(0.5, ge=0.0, le=10.0,
                             description="change of a channel's log mix weight per unit of the value it "
                                         "delivered to the listener (EMA of utility minus skip frustration)")
    referral_slope: float = Field(2.0, ge=0.0, le=50.0,
                                  description="word of mouth: change of the log-odds that an active listener "
                                              "brings a new one in an epoch, per unit of satisfaction")
    upgrade_rate: Probability = Field(0.006, description="weekly chance that an ad-supported listener at the "
                                                         "reference satisfaction starts paying")
    upgrade_slope: float = Field(2.0, ge=0.0, le=50.0,
                                 description="change of the log-odds of upgrading per unit of satisfaction")
    downgrade_rate: Probability = Field(0.009, description="weekly chance that a paying listener at the "
                                                           "reference satisfaction returns to the free tier")
    downgrade_slope: float = Field(2.0, ge=0.0, le=50.0,
                                   description="fall of the log-odds of downgrading per unit of satisfaction")


class ContinuityConfig(Section):
    """After a stream, the probability that the session stays with the same artist, by the
    session's context (its channel). Not a mix: the values need not sum to 1."""

    library: Probability = Field(0.4, description="user-collection sessions: saved albums played through")
    personalised: Probability = Field(0.0, description="personalised-playlist sessions (the slate moves on)")
    radio: Probability = Field(0.0, description="radio / autoplay sessions (continuity comes from the anchor)")
    editorial: Probability = Field(0.0, description="editorial-playlist sessions (the playlist moves on)")
    search: Probability = Field(0.7, description="catalog sessions: an artist or album looked up and played through")
    context: Probability = Field(0.0, description="context-playlist sessions (the playlist moves on)")


class SessionsConfig(Section):
    """Listening comes in sessions: one context (channel) each, a length in minutes, and
    artist / album continuity after a stream (docs/MODEL.md section 3)."""

    minutes_mean: float = Field(
        30.0, ge=0.0, le=10_080.0,
        description="mean session length (minutes, exponential); 0 = every exposure is its own session, "
                    "i.e. independent channel draws")
    continuity: ContinuityConfig = ContinuityConfig()
    repeat_share: Probability = Field(
        0.1, description="share of continuations that replay the same track (on-repeat) instead of the "
                         "album's next track")
    radio_drift: Probability = Field(
        0.0, description="chance that a radio session's seed moves to the track just streamed in it; 0 = a "
                         "station plays neighbours of the track it started from, 1 = a walk from stream to stream")
    album_tracks: int = Field(10, ge=1, le=10_000,
                              description="tracks per album: an artist's releases in release order, cut into "
                                          "albums of this many consecutive tracks (count)")


class FormConfig(Section):
    """Listeners value form: an ideal length and an ideal time to the hook, each listener its own."""

    length_weight: float = Field(0.15, ge=0.0, le=100.0,
                                 description="utility of a track at the listener's ideal length, relative "
                                             "to one tolerance away (utility units)")
    length_ideal_mean_s: float = Field(210.0, ge=30.0, le=1800.0, description="mean ideal length (s)")
    length_ideal_sd_s: float = Field(45.0, ge=0.0, le=600.0, description="sd of the ideal length across listeners (s)")
    length_tolerance_s: float = Field(65.0, ge=1.0, le=1800.0,
                                      description="distance from the ideal length at which the form term is 0 (s)")
    intro_weight: float = Field(0.15, ge=0.0, le=100.0,
                                description="utility of a track at the listener's ideal intro, relative to "
                                            "one tolerance away (utility units)")
    intro_ideal_mean_s: float = Field(10.0, ge=0.0, le=120.0, description="mean ideal time to the hook (s)")
    intro_ideal_sd_s: float = Field(5.0, ge=0.0, le=120.0,
                                    description="sd of the ideal time to the hook across listeners (s)")
    intro_tolerance_s: float = Field(10.0, ge=1.0, le=300.0,
                                     description="distance from the ideal intro at which the form term is 0 (s)")


class MainstreamConfig(Section):
    """Mainstreamness: a listener trait m ~ N(0, 1), a preference for globally popular (m > 0)
    over obscure (m < 0) artists, where listeners find music and in what they hear."""

    utility: float = Field(1.0, ge=0.0, le=100.0,
                           description="utility per unit trait per unit of the artist's popularity percentile "
                                       "above the average stream's, pi - pi_bar (utility units)")
    search_tilt: float = Field(2.0, ge=0.0, le=10.0,
                               description="word of mouth: the odds of the draw's quantile are divided by "
                                           "exp(tilt*m) (pools ordered most talked-about first; dimensionless)")
    radio_tilt: float = Field(2.0, ge=0.0, le=10.0,
                              description="radio: the odds of the neighbour's quantile are divided by "
                                          "exp(tilt*m) (neighbours ordered most popular first; dimensionless)")
    library_tilt: float = Field(2.0, ge=0.0, le=10.0,
                                description="initial library: the odds of each candidate's quantile among its "
                                            "genre's tracks (most played first) are divided by exp(tilt*m) "
                                            "(dimensionless)")


class ListenersConfig(Section):
    """Listeners: population, taste, activity, tiers, satisfaction, churn and arrivals."""

    count: int = Field(10_000, ge=1, le=20_000_000, description="listeners at epoch 0")
    choice: Literal["budget", "slate_argmax"] = Field(
        "budget", description="budget: listen until the weekly time budget is spent; "
                              "slate_argmax: one item per epoch, the best of the slate (Chaney et al.)")
    rank_attention: float = Field(0.0, ge=0.0, le=10.0,
                                  description="slate_argmax: utility weighted by rank^-rank_attention")
    argmax_score: Literal["exp_utility", "utility"] = Field(
        "exp_utility", description="slate_argmax: the item maximising exp(U)*rank^-r (exp_utility: any sign "
                                   "of U) or U*rank^-r (utility: Chaney et al.'s rule, for U >= 0)")
    budget_median_min: float = Field(400.0, gt=0.0, le=10_080.0,
                                     description="median listening budget (minutes per epoch)")
    budget_sigma: float = Field(0.8, ge=0.0, le=5.0, description="sd of log budget")
    activity_mainstream_corr: float = Field(
        0.0, ge=-1.0, le=1.0, description="correlation of log budget with the mainstreamness trait "
                                          "(listeners.mainstream)")
    two_genre_share: Probability = Field(0.5, description="share of listeners with two home genres")
    taste_noise: float = Field(0.5, ge=0.0, le=5.0, description="sd of taste around genre centres")
    openness_mean: Probability = Field(0.3, description="mean appetite for the unknown")
    attention_mean: float = Field(1.0, gt=0.0, le=10.0,
                                  description="mean tolerance for long intros (1 = average)")
    premium_share: Probability = Field(0.40, description="share of listeners on a paid plan (Spotify Q4 2023: "
                                                         "236 M subscribers of 602 M monthly users)")
    explicit_filter_share: Probability = Field(0.05, description="share who filter explicit tracks")
    taste_drift: float = Field(0.01, ge=0.0, le=1.0, description="per-epoch sd of taste drift")
    satisfaction_rate: Probability = Field(0.3, description="EMA weight of the latest epoch")
    churn_k0: float = Field(-3.0, ge=-50, le=50, description="weekly churn hazard intercept (logit)")
    churn_k1: float = Field(2.0, ge=-50, le=50, description="churn hazard slope on satisfaction")
    arrival_rate: float = Field(0.004, ge=0.0, le=1.0,
                                description="new listeners per epoch, as a share of active ones at the "
                                            "reference satisfaction (engagement.referral_slope moves it)")
    cf_min_interactions: int = Field(10, ge=0, le=10_000,
                                     description="plays before a listener gets collaborative recs")
    skip_frustration: float = Field(1.0, ge=0.0, le=100.0,
                                    description="satisfaction lost per unit share of early skips")
    initial_satisfaction: float = Field(
        1.6, ge=-100.0, le=100.0, description="satisfaction of the epoch-0 population before it listens "
                                             "(utility units; about the default steady state)")
    initial_library: int = Field(30, ge=0, le=10_000,
                                 description="tracks saved before epoch 0 (the collection listeners bring)")
    arrival_library: int = Field(30, ge=0, le=10_000,
                                 description="tracks a listener who joins later brings (0 = arrivals start "
                                             "with an empty library)")
    initial_library_popularity_exponent: float = Field(
        2.5, ge=0.0, le=5.0,
        description="library candidates (at epoch 0 and for arrivals) are drawn within the home genres "
                    "with weight (plays of the track before the listener joins + 1)^exponent; 0 = uniform "
                    "(dimensionless)")
    library_decay: Probability = Field(0.95, description="per-epoch decay of library affinity weights")
    openness_tilt: float = Field(1.0, ge=0.0, le=10.0,
                                 description="log-mix shift per unit openness above the mean: "
                                             "away from the library, toward discovery channels")
    behaviour: BehaviourConfig = BehaviourConfig()
    engagement: EngagementConfig = EngagementConfig()
    sessions: SessionsConfig = SessionsConfig()
    form: FormConfig = FormConfig()
    mainstream: MainstreamConfig = MainstreamConfig()


class MixConfig(Section):
    """Default share of exposures by channel; must sum to 1."""

    library: Probability = Field(0.32, description="share of exposures from the listener's library")
    personalised: Probability = Field(0.12, description="share from the recommender's personalised slate")
    radio: Probability = Field(0.10, description="share from radio / autoplay after a played track")
    editorial: Probability = Field(0.15, description="share from editorial playlists of the listener's genres")
    search: Probability = Field(0.31, description="share from search / word of mouth")
    context: Probability = Field(0.0, description="share from context playlists (culture-tag match)")

    @model_validator(mode="after")
    def _sums_to_one(self) -> MixConfig:
        total = sum(getattr(self, c) for c in CHANNELS)
        if not math.isclose(total, 1.0, abs_tol=1e-6):
            raise ValueError(f"channel shares must sum to 1, got {total:.6g}")
        return self


class EditorsConfig(Section):
    """How an editor scores a genre's tracks: weights of the standardised signals (docs/MODEL.md
    section 2, "Editors"). Only their ratios matter; all 0 makes the order random by id."""

    popularity: float = Field(1.0, ge=0.0, le=100.0, description="weight of the track's log streams last epoch")
    artist: float = Field(1.0, ge=0.0, le=100.0,
                          description="weight of its artist's standing (lists are built around the names "
                                      "listeners know; artist_signal says how editors read it)")
    artist_signal: Literal["fame", "streams"] = Field(
        "fame", description="fame: the artist's log fame, known off the platform; streams: the log of its "
                            "mean streams per track last epoch, which the lists themselves raise")
    growth: float = Field(0.5, ge=0.0, le=100.0, description="weight of the track's log growth over the epoch before")
    quality: float = Field(0.5, ge=0.0, le=100.0, description="weight of the editor's noisy reading of quality")
    quality_noise_sd: float = Field(0.5, ge=0.0, le=100.0,
                                    description="sd of an editor's reading of quality (talent units): editors "
                                                "hear the music but not the truth")


class ChannelsConfig(Section):
    """Where exposures come from."""

    mix: MixConfig = MixConfig()
    mix_sd: float = Field(0.3, ge=0.0, le=5.0,
                          description="per-listener spread of the mix (sd of log-weights)")
    slate_size: int = Field(50, ge=1, le=10_000, description="tracks in the personalised slate (K)")
    radio_neighbours: int = Field(20, ge=1, le=1_000, description="similar tracks per radio seed")
    editorial_playlists_per_genre: int = Field(2, ge=0, le=100, description="playlists per genre")
    editorial_capacity: int = Field(50, ge=1, le=10_000, description="tracks per editorial playlist")
    editorial_window_epochs: int = Field(
        52, ge=0, le=10_000, description="editors pick from the tracks released within this many epochs "
                                         "(0 = the whole catalog)")
    editorial_major_bias: float = Field(0.0, ge=0.0, le=100.0,
                                        description="score bonus for major-label tracks on playlists")
    editors: EditorsConfig = EditorsConfig()
    editorial_position_exponent: float = Field(
        1.0, ge=0.0, le=5.0, description="editorial slot r (0 = top) is played with weight "
                                         "(r+1)^-exponent; 0 = every slot alike (dimensionless)")
    search_pool: int = Field(100, ge=1, le=100_000,
                             description="tracks per genre reachable by search / word of mouth (count)")
    context_pool: int = Field(100, ge=1, le=100_000, description="tracks per context playlist")
    n_contexts: int = Field(4, ge=1, le=1000,
                            description="context playlists (occasions), each the tracks of one culture tag")
    search_popularity_exponent: float = Field(
        2.0, ge=0.0, le=5.0, description="word of mouth: an artist is heard of with weight (artist streams "
                                         "last epoch + 1)^exponent, then one of its tracks in proportion "
                                         "to its streams + 1 (dimensionless)")
    cold_candidates: int = Field(1000, ge=1, le=1_000_000,
                                 description="most popular tracks a cold listener's home page samples from")


class ExplorationConfig(Section):
    """Discovery boost: slate slots given to long-tail and new tracks by a bandit."""

    share: Probability = Field(0.0, description="share of slate slots for exploration (0 = off)")
    policy: Literal["epsilon_greedy", "thompson"] = Field("thompson", description="bandit policy")
    epsilon: Probability = Field(0.1, description="epsilon-greedy: chance of a random pick")
    new_epochs: int = Field(4, ge=0, le=1000, description="a track counts as new for this many epochs")
    longtail_share: Probability = Field(0.8, description="least-streamed share of tracks = long tail")
    candidates: int = Field(200, ge=1, le=1_000_000,
                            description="pool tracks drawn per user for the bandit to choose from (count)")


class RecommenderConfig(Section):
    """The recommender retrained every epoch (DESIGN.md section 4)."""

    kind: str = Field("als", description="a registered recommender: als | bpr | popularity | random | "
                                         "content | oracle | none (streamsim.core.registry.RECOMMENDERS)")
    factors: int = Field(64, ge=1, le=1024, description="latent factors")
    iterations: int = Field(15, ge=1, le=1000, description="ALS sweeps from cold")
    warm_iterations: int = Field(3, ge=0, le=1000, description="ALS sweeps per epoch when warm")
    warm_refresh_epochs: int = Field(
        4, ge=0, le=1000,
        description="0: a warm sweep re-solves every row; n >= 1: only the rows (listeners, tracks) "
                    "whose interactions changed in the last epoch, plus every other row once "
                    "every n epochs (epochs)")
    regularization: float = Field(1.0, ge=0.0, le=1e4,
                                  description="L2 penalty (unscaled lambda, confidence units); "
                                              "chosen on Last.fm and the simulator, docs/MODEL.md section 4")
    alpha: float = Field(5.0, ge=1e-3, le=1e6,
                         description="confidence weight of the play signal: c = 1 + alpha*w(r)")
    weighting: Literal["linear", "log"] = Field("log", description="w(r): r (linear) or log1p(r) (log)")
    solver: Literal["cg", "cholesky"] = Field("cg", description="per-row solve")
    cg_steps: int = Field(3, ge=1, le=100, description="conjugate-gradient steps per row")
    learning_rate: float = Field(0.05, gt=0.0, le=10.0, description="BPR: SGD learning rate")
    bpr_epochs: int = Field(20, ge=1, le=1000, description="BPR: passes over the positives from cold")
    decay: Probability = Field(0.9, description="weight of last epoch's interaction matrix")
    prune_below: float = Field(
        0.1, ge=0.0, le=100.0,
        description="entries of the decayed interaction matrix below this value are dropped "
                    "(play units: 1 = one complete play); 0 keeps every entry")
    exclude_heard_epochs: int = Field(4, ge=0, le=1000,
                                      description="do not recommend tracks heard within this many epochs")
    popularity_temperature: float = Field(0.5, ge=0.0, le=100.0,
                                          description="popular-with-variance sampling temperature")
    candidates: Literal["exact", "clusters", "auto"] = Field(
        "auto", description="exact scoring of the whole catalog, cluster candidates first, or auto: "
                            "clusters when the catalog has at least clusters_above tracks")
    clusters_above: int = Field(
        50_000, ge=1, le=1_000_000_000,
        description="candidates = auto: catalog size (tracks) from which cluster candidates are used "
                    "(measured crossover, docs/MODEL.md section 4)")
    n_clusters: int = Field(256, ge=2, le=1_000_000, description="clusters for candidate generation")
    n_probe: int = Field(16, ge=1, le=1_000_000,
                         description="clusters whose items are scored exactly per user (count)")
    audio_ridge: float = Field(1.0, ge=0.0, le=1e6,
                               description="ridge penalty of the audio->factor map for cold tracks")
    bpr_warm_epochs: int = Field(4, ge=0, le=1000, description="BPR: passes per epoch when warm")
    bpr_regularization: float = Field(0.01, ge=0.0, le=10.0,
                                      description="BPR: L2 penalty per SGD step (per unit of factor)")
    startup_epochs: int = Field(0, ge=0, le=10_000,
                                description="start-up epochs whose slates hold only the interleave_new newest "
                                            "tracks in random order; the model is first fitted after them "
                                            "(Chaney et al.'s start-up as T-RECS encodes it; count)")
    interleave_new: int = Field(0, ge=0, le=10_000,
                                description="the k newest tracks a listener may be served are put at random "
                                            "positions of the personalised slate (count; 0 = off)")
    exploration: ExplorationConfig = ExplorationConfig()

    @field_validator("kind")
    @classmethod
    def _known_kind(cls, value: str) -> str:
        return _registered(RECOMMENDERS, value)

    @model_validator(mode="after")
    def _bpr_decay_shrinks(self) -> RecommenderConfig:
        # Each BPR step multiplies a factor by (1 - learning_rate * bpr_regularization) before the
        # gradient: at 1 or more it flips sign and grows every step, and the factors overflow.
        if self.learning_rate * self.bpr_regularization >= 1.0:
            raise ValueError(f"learning_rate * bpr_regularization must be below 1 (got "
                             f"{self.learning_rate:g} * {self.bpr_regularization:g}); BPR's weight decay "
                             f"would flip the factors' sign and make them grow without bound")
        return self


class ArtistCentricConfig(Section):
    """Deezer/UMG 2023 artist-centric rule, in real-world units (scaled; see docs/MODEL.md)."""

    min_monthly_streams: float = Field(1000.0, ge=0.0, description="artist streams a month to boost")
    min_monthly_listeners: float = Field(500.0, ge=0.0, description="unique listeners a month to boost")
    window_epochs: int = Field(4, ge=1, le=520,
                               description="rolling window of the monthly bars; bars pro-rated to "
                                           "window / (52/12) epochs (epochs)")
    artist_boost: float = Field(2.0, ge=1.0, le=100.0, description="weight of boosted artists' streams")
    sought_boost: float = Field(2.0, ge=1.0, le=100.0, description="weight of sought streams")
    listener_cap: float = Field(1000.0, gt=0.0, description="streams a month above which a listener is capped")


class ThresholdConfig(Section):
    """Spotify 2024 rule: tracks under a trailing stream count earn nothing."""

    min_streams: float = Field(1000.0, ge=0.0, description="streams over the window to earn (real units)")
    window_epochs: int = Field(52, ge=1, le=10_000, description="trailing window (epochs)")
    min_length_s: float = Field(0.0, ge=0.0, le=1800.0,
                                description="tracks shorter than this earn nothing (s; 0 = off; "
                                            "Spotify 2024 noise rule: 120)")


class DurationConfig(Section):
    """Duration-weighted rule: the pool split by seconds streamed, each play counted up to a cap."""

    play_cap_s: float = Field(420.0, gt=0.0, le=1e5, description="most seconds one stream can count (s)")


class SplitsConfig(Section):
    """How an artist's payout becomes the artist's net income, by contract (CMA 2022; assumptions)."""

    publishing_share: Probability = Field(
        0.15, description="share of a payout that goes to publishing (songwriters and publishers; CMA 2022)")
    writer_share: Probability = Field(
        0.5, description="share of the publishing income the artist keeps as its songwriter (assumption)")
    major_royalty: Probability = Field(
        0.233, description="artist's share of a major label's recording receipts (CMA 2022, 2021 deals)")
    independent_royalty: Probability = Field(
        0.5, description="artist's share of an independent label's recording receipts (assumption)")
    self_released_royalty: Probability = Field(
        0.9, description="share of the recording income a self-released artist keeps after the "
                         "distributor's fee (assumption)")


class PayoutsConfig(Section):
    """Revenue, the rights-holder pool and the payout rules (DESIGN.md section 5)."""

    active: str = Field("pro_rata", description="the rule artists see when they adapt: a registered payout "
                                                "rule (streamsim.core.registry.PAYOUT_RULES)")
    premium_fee_month: float = Field(10.99, ge=0.0, le=1000.0, description="premium fee (USD per month)")
    ad_revenue_month: float = Field(0.6, ge=0.0, le=1000.0,
                                    description="ad revenue per ad-supported listener (USD per month)")
    rights_share: Probability = Field(0.66, description="share of revenue paid to rights holders")
    living_usd_month: float = Field(
        1000.0, ge=0.0, description="monthly net income counted as a living (real USD, scaled to the platform)")
    scale: float | Literal["auto"] = Field(
        "auto", description="multiplier of real-world stream thresholds; auto = by streams per track")
    artist_centric: ArtistCentricConfig = ArtistCentricConfig()
    threshold: ThresholdConfig = ThresholdConfig()
    duration: DurationConfig = DurationConfig()
    splits: SplitsConfig = SplitsConfig()

    @field_validator("active")
    @classmethod
    def _known_rule(cls, value: str) -> str:
        return _registered(PAYOUT_RULES, value)

    @field_validator("scale")
    @classmethod
    def _scale_positive(cls, value: float | str) -> float | str:
        if value != "auto" and not (0.0 < value <= 1e6):
            raise ValueError("'auto' or a number in (0, 1e6]")
        return value


class FraudConfig(Section):
    """Stream farms: bot accounts streaming fraudulent tracks."""

    bots: int = Field(0, ge=0, le=10_000_000, description="bot accounts (0 = off)")
    tracks: int = Field(20, ge=1, le=100_000, description="fraudulent tracks they stream")
    streams_per_bot: int = Field(500, ge=1, le=100_000, description="streams per bot per epoch")
    track_length_s: float = Field(35.0, ge=1.0, le=1800.0, description="length of a fraudulent track (s)")
    premium: bool = Field(True, description="bots pay the premium fee (else ad-supported)")


class MetricsConfig(Section):
    """Sampling sizes of the costlier metrics."""

    jaccard_pairs: int = Field(2000, ge=1, le=10_000_000, description="listener pairs sampled for Jaccard")
    diversity_listeners: int = Field(1000, ge=1, le=10_000_000,
                                     description="listeners sampled for individual diversity")
    eval_listeners: int = Field(500, ge=1, le=10_000_000,
                                description="listeners sampled for precision/nDCG and regret")
    k: int = Field(10, ge=1, le=1000, description="cut-off of precision@k and nDCG@k")
    chaney: bool = Field(False, description="also step a shadow run with the oracle recommender (same seed) "
                                            "and write Chaney et al. 2018's measures against it "
                                            "(slate_argmax only)")


class OutputsConfig(Section):
    """What a run writes."""

    root: str = Field("outputs", description="folder under which runs are written")
    save_streams: bool = Field(False, description="also write streams, listeners, tracks and settlement .parquet "
                                                 "(the inputs of every payout rule, to audit them)")
    artists_table: bool = Field(True, description="write artists.parquet")
    keep_events: bool = Field(True, description="keep each epoch's exposures whole on its record (record.events) for "
                                               "observers and custom metrics; false streams the epoch in blocks "
                                               "and keeps only their sums (the built-in metrics read those either "
                                               "way), which a run of millions of listeners needs to fit in memory")


class Scenario(Section):
    """A whole scenario: every section, each with its defaults."""

    run: RunConfig = RunConfig()
    world: WorldConfig = WorldConfig()
    catalog: CatalogConfig = CatalogConfig()
    artists: ArtistsConfig = ArtistsConfig()
    listeners: ListenersConfig = ListenersConfig()
    channels: ChannelsConfig = ChannelsConfig()
    recommender: RecommenderConfig = RecommenderConfig()
    payouts: PayoutsConfig = PayoutsConfig()
    fraud: FraudConfig = FraudConfig()
    metrics: MetricsConfig = MetricsConfig()
    outputs: OutputsConfig = OutputsConfig()

    @model_validator(mode="after")
    def _replication_mode(self) -> Scenario:
        lis = self.listeners
        if self.metrics.chaney and lis.choice != "slate_argmax":
            raise ValueError("metrics.chaney = true needs listeners.choice = 'slate_argmax' "
                             "(the measures compare cumulative one-item-per-epoch consumption)")
        if lis.argmax_score == "utility" and (self.world.preference_model != "dirichlet"
                                              or lis.behaviour.w_quality != 0.0):
            raise ValueError("listeners.argmax_score = 'utility' needs utilities >= 0: "
                             "world.preference_model = 'dirichlet' and listeners.behaviour.w_quality = 0")
        if self.recommender.startup_epochs > 0 and self.recommender.interleave_new == 0:
            raise ValueError("recommender.startup_epochs > 0 needs recommender.interleave_new > 0 "
                             "(start-up slates hold only the interleaved newest tracks)")
        if self.world.preference_model == "dirichlet" and lis.taste_drift != 0.0:
            raise ValueError("world.preference_model = 'dirichlet' needs listeners.taste_drift = 0 "
                             "(taste drift is a random walk on the unit sphere, not on the simplex)")
        return self

    def to_toml(self) -> str:
        """The fully resolved scenario as TOML, loadable as is."""
        return tomli_w.dumps(self.model_dump(mode="json"))

    def replace(self, **overrides: Any) -> Scenario:
        """A copy with dotted-key overrides applied and validated, e.g. ``{"run.seed": 3}``."""
        data = self.model_dump(mode="json")
        for key, value in overrides.items():
            _set_dotted(data, key, value)
        return validate(data)


class ScenarioError(Exception):
    """A scenario that cannot be run; ``problems`` holds one readable line per problem."""

    def __init__(self, problems: list[str], source: str = "scenario"):
        self.problems = problems
        self.source = source
        super().__init__("\n".join(f"{source}: {p}" for p in problems))


TYPE_NAMES = {"int_type": "an integer", "float_type": "a number", "bool_type": "true or false",
              "string_type": "a string", "literal_error": None}
"""What a value of each pydantic type error should have been (None: the message says it)."""


def field_range(field: FieldInfo) -> str:
    """A field's bounds as an interval, e.g. ``[1, 20000000]`` or ``(30.0, 1800.0]``; "" if none."""
    lo = hi = None
    lo_open = hi_open = False
    for m in field.metadata:
        for attr, is_open, is_lo in (("ge", False, True), ("gt", True, True), ("le", False, False),
                                     ("lt", True, False)):
            v = getattr(m, attr, None)
            if v is not None:
                if is_lo:
                    lo, lo_open = v, is_open
                else:
                    hi, hi_open = v, is_open
    if lo is None and hi is None:
        return ""
    left = "(" if lo_open else "["
    right = ")" if hi_open else "]"
    return f"{left}{'' if lo is None else lo}, {'' if hi is None else hi}{right}"


def _leaf(loc: tuple[Any, ...], model: type[BaseModel]) -> tuple[tuple[str, ...], FieldInfo | None]:
    """The field of ``model`` an error location points at: (its dotted path, its FieldInfo).

    Parts of ``loc`` after a leaf field are union branch tags (``float``, ``literal['auto']``)
    and are dropped. (loc, None) when the location is a section or unknown.
    """
    for i, part in enumerate(loc):
        field = model.model_fields.get(part) if isinstance(part, str) else None
        if field is None:
            return tuple(map(str, loc)), None
        ann = field.annotation
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            model = ann
            continue
        return tuple(map(str, loc[: i + 1])), field
    return tuple(map(str, loc)), None


def _expected(field: FieldInfo, errors: list[dict[str, Any]]) -> str:
    """What a field takes, in words: its type (every union branch) and its range."""
    words = []
    for err in errors:
        word = TYPE_NAMES.get(err["type"], "")
        if word is None or (not word and err["type"] not in ("greater_than", "greater_than_equal",
                                                             "less_than", "less_than_equal")):
            word = err["msg"].removeprefix("Value error, ").removeprefix("Input should be ")
        if not word:
            word = "a number" if field.annotation is float else "an integer"
        if word not in words:
            words.append(word)
    bounds = field_range(field)
    text = " or ".join(words) + (f" in {bounds}" if bounds else "")
    value = errors[0]["input"]
    if isinstance(value, bool) and field.annotation is not bool:
        text += " (true/false is not a number)"
    elif isinstance(value, float) and "an integer" in words:
        text += " (write a whole number without a decimal point)"
    elif isinstance(value, str) and words[0] in ("an integer", "a number"):
        text += " (a quoted string is not a number)"
    return text


def describe_errors(errors: list[dict[str, Any]], model: type[BaseModel] | None = None) -> list[str]:
    """One readable line per pydantic error: the dotted key, the value given and what was expected.

    Errors on the branches of one union field (``payouts.scale``: a number or "auto") are
    merged into one line. ``model`` is the validated model (default: :class:`Scenario`).
    """
    model = model or Scenario
    by_field: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    lines: list[str | tuple[str, ...]] = []
    for err in errors:
        path, field = _leaf(err["loc"], model)
        key = ".".join(path) or "(top level)"
        if isinstance(err.get("input"), dict) and err["type"] != "extra_forbidden":
            err = {**err, "input": "{...}"}
        if err["type"] == "extra_forbidden":
            lines.append(f"{key}: unknown key (value {err['input']!r}); check the spelling against docs/MODEL.md")
        elif err["type"] == "missing":
            lines.append(f"{key}: missing")
        elif field is None or err["type"] == "value_error":
            lines.append(f"{key}: got {err['input']!r}, expected: {err['msg'].removeprefix('Value error, ')}")
        else:
            if path not in by_field:
                by_field[path] = []
                lines.append(path)
            by_field[path].append(err)
    out = []
    for line in lines:
        if isinstance(line, tuple):
            errs = by_field[line]
            field = _leaf(errs[0]["loc"], model)[1]
            line = f"{'.'.join(line)}: got {errs[0]['input']!r}, expected: {_expected(field, errs)}"
        out.append(line)
    return out


def validate(data: dict[str, Any], source: str = "scenario") -> Scenario:
    """Validate a scenario given as nested dicts; raise ScenarioError listing every problem."""
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        raise ScenarioError(describe_errors(exc.errors(include_url=False)), source) from None


def parse_override(text: str) -> tuple[str, Any]:
    """Split ``key.path=value`` and read the value as TOML (bare words become strings)."""
    if "=" not in text:
        raise ScenarioError([f"{text!r}: expected KEY=VALUE, e.g. listeners.count=5000"], "--set")
    key, raw = text.split("=", 1)
    key = key.strip()
    if not key or any(not part for part in key.split(".")):
        raise ScenarioError([f"{text!r}: the key must be a dotted path such as recommender.factors"],
                            "--set")
    try:
        value = tomllib.loads(f"v = {raw.strip()}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw.strip()
    return key, value


def _set_dotted(data: dict[str, Any], key: str, value: Any) -> None:
    node = data
    parts = key.split(".")
    for i, part in enumerate(parts[:-1]):
        child = node.get(part)
        if child is None:
            child = node[part] = {}
        elif not isinstance(child, dict):
            path = ".".join(parts[: i + 1])
            raise ScenarioError([f"{key}: {path} is a value, not a section"], "--set")
        node = child
    node[parts[-1]] = value


def read_toml(path: str | Path) -> dict[str, Any]:
    """Read a scenario file as nested dicts; ScenarioError if missing or not valid TOML."""
    path = Path(path)
    if not path.is_file():
        raise ScenarioError([f"no such file: {path}"], str(path))
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError([f"not valid TOML: {exc}"], str(path)) from None
    except UnicodeDecodeError:
        raise ScenarioError(["not a UTF-8 text file"], str(path)) from None


def load(path: str | Path | None = None, overrides: list[str] | dict[str, Any] | None = None) -> Scenario:
    """Load a scenario file (or the defaults) and apply overrides, validating everything.

    Args:
        path: a TOML scenario file; None means the built-in defaults.
        overrides: ``["section.key=value", ...]`` strings or a ``{dotted key: value}`` mapping.
    """
    source = str(path) if path is not None else "defaults"
    data = read_toml(path) if path is not None else {}
    items = overrides.items() if isinstance(overrides, dict) else map(parse_override, overrides or [])
    for key, value in items:
        _set_dotted(data, key, value)
    return validate(data, source)
