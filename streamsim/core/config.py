"""The scenario schema: one validated, frozen description of a whole run.

A scenario is a TOML file whose tables mirror the sections below. Every field has a default,
a unit and a valid range, so an empty file is the baseline. Files and command-line overrides
(``--set section.key=value``) go through the same validation before any work starts; a bad
scenario raises :class:`ScenarioError`, which lists every problem with its dotted key, the
offending value and what was expected.
"""

from __future__ import annotations

import math
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal

import tomli_w
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from streamsim.core.codes import CHANNELS
from streamsim.core.registry import PAYOUT_RULES, RECOMMENDERS, Registry

Probability = Annotated[float, Field(ge=0.0, le=1.0)]


def _registered(registry: Registry, value: str) -> str:
    """``value`` if it names an entry of the registry, else a ValueError listing the names."""
    if value not in registry:
        raise ValueError(f"one of {', '.join(registry.names())}")
    return value


class Section(BaseModel):
    """Base of every section: unknown keys are errors and values are frozen after load."""

    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)


class RunConfig(Section):
    """What to run: a name, a seed and a length."""

    name: str = Field("baseline", min_length=1, max_length=80, pattern=r"^[A-Za-z0-9_.-]+$",
                      description="scenario name; names the output folder (letters, digits, _ . -)")
    description: str = Field("", description="free text: the question the scenario answers")
    seed: int = Field(20261125, ge=0, le=2**63 - 1, description="the one seed of the run (integer)")
    epochs: int = Field(52, ge=1, le=10_000, description="epochs to simulate (one epoch = one week)")


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
    """Goodhart dynamics: how adaptive artists chase what the active payout rule rewards."""

    adaptive_share: Probability = Field(0.0, description="share of artists who adapt (0 = off)")
    imitation_rate: Probability = Field(
        0.2, description="eta: step toward the features of top-earning recent tracks per release")
    hill_climb_sd: float = Field(0.05, ge=0.0, le=1.0,
                                 description="relative sd of the exploratory step of hill climbing")
    creative_cost: float = Field(1.0, ge=0.0, le=100.0,
                                 description="pull back toward the home style per unit distance")
    top_share: Probability = Field(0.05, description="share of recent tracks counted as successful")
    min_length_s: float = Field(60.0, ge=10.0, le=600.0, description="shortest length artists make (s)")
    min_intro_s: float = Field(0.0, ge=0.0, le=60.0, description="shortest intro artists make (s)")
    recent_epochs: int = Field(26, ge=1, le=10_000,
                               description="tracks released within this many epochs count as recent")


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
    adaptation: AdaptationConfig = AdaptationConfig()

    @model_validator(mode="after")
    def _tiers_fit(self) -> ArtistsConfig:
        if self.superstar_share + self.established_share > 1.0:
            raise ValueError("superstar_share + established_share must be at most 1")
        return self


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
                               description="interaction value recorded for an early skip (<= 0)")
    skip_time_scale_s: float = Field(4.0, gt=0.0, le=600.0,
                                     description="mean (s) of the exponential early-skip moment, "
                                                 "truncated at 30 s")


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
    length_tolerance_s: float = Field(65.0, gt=0.0, le=1800.0,
                                      description="distance from the ideal length at which the form term is 0 (s)")
    intro_weight: float = Field(0.15, ge=0.0, le=100.0,
                                description="utility of a track at the listener's ideal intro, relative to "
                                            "one tolerance away (utility units)")
    intro_ideal_mean_s: float = Field(10.0, ge=0.0, le=120.0, description="mean ideal time to the hook (s)")
    intro_ideal_sd_s: float = Field(5.0, ge=0.0, le=120.0,
                                    description="sd of the ideal time to the hook across listeners (s)")
    intro_tolerance_s: float = Field(10.0, gt=0.0, le=300.0,
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
    premium_share: Probability = Field(0.45, description="share of listeners on a paid plan")
    explicit_filter_share: Probability = Field(0.05, description="share who filter explicit tracks")
    taste_drift: float = Field(0.01, ge=0.0, le=1.0, description="per-epoch sd of taste drift")
    satisfaction_rate: Probability = Field(0.3, description="EMA weight of the latest epoch")
    churn_k0: float = Field(-3.0, ge=-50, le=50, description="weekly churn hazard intercept (logit)")
    churn_k1: float = Field(2.0, ge=-50, le=50, description="churn hazard slope on satisfaction")
    arrival_rate: float = Field(0.008, ge=0.0, le=1.0,
                                description="new listeners per epoch, as a share of active ones")
    cf_min_interactions: int = Field(10, ge=0, le=10_000,
                                     description="plays before a listener gets collaborative recs")
    skip_frustration: float = Field(1.0, ge=0.0, le=100.0,
                                    description="satisfaction lost per unit share of early skips")
    initial_satisfaction: float = Field(
        1.0, ge=-100.0, le=100.0, description="satisfaction of the epoch-0 population before it listens "
                                             "(utility units; about the default steady state)")
    initial_library: int = Field(30, ge=0, le=10_000,
                                 description="tracks saved before epoch 0 (the collection listeners bring)")
    initial_library_popularity_exponent: float = Field(
        1.0, ge=0.0, le=5.0,
        description="initial-library candidates are drawn within the home genres with weight "
                    "(prior plays of the track)^exponent; 0 = uniform (dimensionless)")
    library_decay: Probability = Field(0.95, description="per-epoch decay of library affinity weights")
    openness_tilt: float = Field(1.0, ge=0.0, le=10.0,
                                 description="log-mix shift per unit openness above the mean: "
                                             "away from the library, toward discovery channels")
    behaviour: BehaviourConfig = BehaviourConfig()
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


class ChannelsConfig(Section):
    """Where exposures come from."""

    mix: MixConfig = MixConfig()
    mix_sd: float = Field(0.3, ge=0.0, le=5.0,
                          description="per-listener spread of the mix (sd of log-weights)")
    slate_size: int = Field(50, ge=1, le=10_000, description="tracks in the personalised slate (K)")
    radio_neighbours: int = Field(20, ge=1, le=1_000, description="similar tracks per radio seed")
    editorial_playlists_per_genre: int = Field(2, ge=0, le=100, description="playlists per genre")
    editorial_capacity: int = Field(50, ge=1, le=10_000, description="tracks per editorial playlist")
    editorial_major_bias: float = Field(0.0, ge=0.0, le=100.0,
                                        description="score bonus for major-label tracks on playlists")
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
    regularization: float = Field(1.0, ge=0.0, le=1e4,
                                  description="L2 penalty (unscaled lambda, confidence units); "
                                              "chosen on Last.fm and the simulator, docs/MODEL.md section 4")
    alpha: float = Field(5.0, gt=0.0, le=1e6,
                         description="confidence weight of the play signal: c = 1 + alpha*w(r)")
    weighting: Literal["linear", "log"] = Field("log", description="w(r): r (linear) or log1p(r) (log)")
    solver: Literal["cg", "cholesky"] = Field("cg", description="per-row solve")
    cg_steps: int = Field(3, ge=1, le=100, description="conjugate-gradient steps per row")
    learning_rate: float = Field(0.05, gt=0.0, le=10.0, description="BPR: SGD learning rate")
    bpr_epochs: int = Field(20, ge=1, le=1000, description="BPR: passes over the positives from cold")
    decay: Probability = Field(0.9, description="weight of last epoch's interaction matrix")
    exclude_heard_epochs: int = Field(4, ge=0, le=1000,
                                      description="do not recommend tracks heard within this many epochs")
    popularity_temperature: float = Field(0.5, ge=0.0, le=100.0,
                                          description="popular-with-variance sampling temperature")
    candidates: Literal["exact", "clusters"] = Field(
        "exact", description="exact scoring of the whole catalog, or cluster candidates first")
    n_clusters: int = Field(256, ge=2, le=1_000_000, description="clusters for candidate generation")
    n_probe: int = Field(16, ge=1, le=1_000_000,
                         description="clusters whose items are scored exactly per user (count)")
    audio_ridge: float = Field(1.0, ge=0.0, le=1e6,
                               description="ridge penalty of the audio->factor map for cold tracks")
    bpr_warm_epochs: int = Field(4, ge=0, le=1000, description="BPR: passes per epoch when warm")
    bpr_regularization: float = Field(0.01, ge=0.0, le=10.0,
                                      description="BPR: L2 penalty per SGD step (per unit of factor)")
    exploration: ExplorationConfig = ExplorationConfig()

    @field_validator("kind")
    @classmethod
    def _known_kind(cls, value: str) -> str:
        return _registered(RECOMMENDERS, value)


class ArtistCentricConfig(Section):
    """Deezer/UMG 2023 artist-centric rule, in real-world units (scaled; see docs/MODEL.md)."""

    min_monthly_streams: float = Field(1000.0, ge=0.0, description="artist streams a month to boost")
    min_monthly_listeners: float = Field(500.0, ge=0.0, description="unique listeners a month to boost")
    artist_boost: float = Field(2.0, ge=1.0, le=100.0, description="weight of boosted artists' streams")
    sought_boost: float = Field(2.0, ge=1.0, le=100.0, description="weight of sought streams")
    listener_cap: float = Field(1000.0, gt=0.0, description="streams a month above which a listener is capped")


class ThresholdConfig(Section):
    """Spotify 2024 rule: tracks under a trailing stream count earn nothing."""

    min_streams: float = Field(1000.0, ge=0.0, description="streams over the window to earn (real units)")
    window_epochs: int = Field(52, ge=1, le=10_000, description="trailing window (epochs)")


class PayoutsConfig(Section):
    """Revenue, the rights-holder pool and the payout rules (DESIGN.md section 5)."""

    active: str = Field("pro_rata", description="the rule artists see when they adapt: a registered payout "
                                                "rule (streamsim.core.registry.PAYOUT_RULES)")
    premium_fee_month: float = Field(10.99, ge=0.0, le=1000.0, description="premium fee (USD per month)")
    ad_revenue_month: float = Field(0.6, ge=0.0, le=1000.0,
                                    description="ad revenue per ad-supported listener (USD per month)")
    rights_share: Probability = Field(0.66, description="share of revenue paid to rights holders")
    living_usd_month: float = Field(1000.0, ge=0.0, description="monthly payout counted as a living")
    scale: float | Literal["auto"] = Field(
        "auto", description="multiplier of real-world stream thresholds; auto = by streams per track")
    artist_centric: ArtistCentricConfig = ArtistCentricConfig()
    threshold: ThresholdConfig = ThresholdConfig()

    @field_validator("active")
    @classmethod
    def _known_rule(cls, value: str) -> str:
        return _registered(PAYOUT_RULES, value)

    @model_validator(mode="after")
    def _scale_positive(self) -> PayoutsConfig:
        if self.scale != "auto" and not (0.0 < self.scale <= 1e6):
            raise ValueError("scale must be 'auto' or a number in (0, 1e6]")
        return self


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


class OutputsConfig(Section):
    """What a run writes."""

    root: str = Field("outputs", description="folder under which runs are written")
    save_streams: bool = Field(False, description="also write streams.parquet and listeners.parquet")
    artists_table: bool = Field(True, description="write artists.parquet")


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


def _describe(err: dict[str, Any]) -> str:
    key = ".".join(str(p) for p in err["loc"]) or "(top level)"
    msg = err["msg"].removeprefix("Value error, ")
    if err["type"] == "extra_forbidden":
        return f"{key}: unknown key (value {err['input']!r}); check the spelling against docs/MODEL.md"
    if err["type"] == "missing":
        return f"{key}: missing"
    return f"{key}: got {err['input']!r}, expected: {msg}"


def validate(data: dict[str, Any], source: str = "scenario") -> Scenario:
    """Validate a scenario given as nested dicts; raise ScenarioError listing every problem."""
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors(include_url=False):
            if isinstance(err.get("input"), dict) and err["type"] != "extra_forbidden":
                err = {**err, "input": "{...}"}
            problems.append(_describe(err))
        raise ScenarioError(problems, source) from None


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
