"""The built-in metrics: every column of metrics.parquet, in order, with unit, label and formula.

Notation in the formulas: *plays* = exposures (every exposure is one impression and one play); a
*stream* is a play with seconds >= the stream threshold; *completed* = seconds >= length; *L0* =
listeners at the start of the epoch (active now - new + churned). Tiers: 0 superstar, 1
established, 2 emerging, ranked each epoch on trailing streams. A *new artist* entered after the
start and within the last 52 epochs. A *release* is a track with release_epoch == epoch.
"""

from __future__ import annotations

import numpy as np

from streamsim.core.codes import CHANNELS, Channel
from streamsim.economics.rules import unpaid
from streamsim.measures.metrics import (_rows, _safe_div, activity_mainstream_rho, gini, individual_diversity,
                                        jaccard_mean, ndcg_at_k, precision_at_k, regret, shannon_effective,
                                        style_dispersion, top_share)
from streamsim.measures.registry import Template, family, metric, per_rule
from streamsim.measures.view import EpochView

ACTIVITY = "Population and activity"
MONEY = "Money (for each registered payout rule r)"
CONCENTRATION = "Concentration of streams (over all artists, zeros included)"
REACH = "Small-artist reach"
HOMOGENEITY = "Homogeneity"
LISTENERS = "Listeners"
RECOMMENDER = "Recommender"


# -- population and activity -------------------------------------------------------------------
@metric("epoch", "epoch", "epoch", "the epoch number (burn-in epochs first)", ACTIVITY)
def _epoch(v: EpochView) -> float:
    return v.record.epoch


@metric("burn_in", "flag (0/1)", "burn-in epoch",
        "1 for the first run.burn_in_epochs epochs (simulated, left out of plots, summaries and studies), else 0",
        ACTIVITY)
def _burn_in(v: EpochView) -> float:
    return float(v.record.epoch < v.scenario.run.burn_in_epochs)


@metric("active_listeners", "listeners", "active listeners",
        "active at the end of the epoch (after churn and arrivals)", ACTIVITY, headline=True)
def _active(v: EpochView) -> float:
    return v.active


@metric("new_listeners", "listeners", "new listeners", "joined in this epoch's update", ACTIVITY)
def _new_listeners(v: EpochView) -> float:
    return v.record.arrivals


@metric("churned_listeners", "listeners", "churned listeners", "churned in this epoch's update", ACTIVITY)
def _churned(v: EpochView) -> float:
    return v.record.churned


@metric("catalog_tracks", "tracks", "catalog size", "tracks in the catalog", ACTIVITY, headline=True)
def _catalog(v: EpochView) -> float:
    return v.n_tracks


@metric("active_artists", "artists", "active artists",
        "artists still releasing (entered, not exited, stream farms excluded)", ACTIVITY)
def _active_artists(v: EpochView) -> float:
    a = v.record.artists
    organic = np.ones(v.n_artists, bool) if a.fraud is None else ~np.asarray(a.fraud, bool)
    return float(np.sum(organic if a.active is None else organic & np.asarray(a.active, bool)))


@metric("new_tracks", "tracks", "new releases", "releases this epoch", ACTIVITY)
def _new_tracks(v: EpochView) -> float:
    return float(np.sum(v.released))


@metric("plays", "plays", "plays", "exposures", ACTIVITY)
def _plays(v: EpochView) -> float:
    return v.plays


@metric("streams", "streams", "streams", "plays with seconds ≥ the stream threshold (30 s)", ACTIVITY)
def _streams(v: EpochView) -> float:
    return v.streams


@metric("skip_share_5s", "share of plays (0-1)", "plays ended within 5 s",
        "not completed and seconds < 5 (C1)", ACTIVITY, headline=True)
def _skip5(v: EpochView) -> float:
    return _safe_div(v.tally.skipped_within[0], v.plays)


@metric("skip_share_30s", "share of plays (0-1)", "plays ended within 30 s",
        "not completed and seconds < 30", ACTIVITY, headline=True)
def _skip30(v: EpochView) -> float:
    return _safe_div(v.tally.skipped_within[1], v.plays)


@metric("skip_share_before_end", "share of plays (0-1)", "plays ended before the end", "not completed",
        ACTIVITY, headline=True)
def _skip_end(v: EpochView) -> float:
    return _safe_div(v.tally.skipped, v.plays)


@metric("streams_per_listener", "streams per week", "streams per active listener", "streams / L0 (C2)",
        ACTIVITY, headline=True, progress="{:.0f}")
def _streams_per_listener(v: EpochView) -> float:
    return _safe_div(v.streams, v.at_start)


@metric("artists_per_listener", "artists per week", "distinct artists per listener",
        "Σ_l distinct artists streamed by l / L0 (C3)", ACTIVITY, headline=True)
def _artists_per_listener(v: EpochView) -> float:
    return _safe_div(v.artists_of_listener.sum(), v.at_start)


def _channel_share(v: EpochView, channel: str) -> float:
    return _safe_div(v.tally.channel_streams[CHANNELS.index(channel)], v.streams)


family("channel_share", lambda: [(c, c) for c in CHANNELS], ACTIVITY, [
    Template("channel_share_{m}", _channel_share, "share of streams (0-1)", "stream share of {m}",
             "streams from channel {m} / streams (C4)",
             headline=tuple(c.name.lower() for c in Channel if c != Channel.CONTEXT)),
])


# -- money ----------------------------------------------------------------------------------------
@metric("revenue", "USD per week", "revenue", "Σ_l revenue_l", MONEY, headline=True)
def _revenue(v: EpochView) -> float:
    return float(np.sum(v.record.revenue, dtype=np.float64))


@metric("pool", "USD per week", "rights-holder pool", "rights_share · revenue", MONEY, headline=True)
def _pool(v: EpochView) -> float:
    return float(v.record.pool)


@metric("living_bar_usd", "USD per week", "living bar",
        "living_usd_month / (52/12) · money scale, money scale = scale_artist · (pool / streams) / $0.004",
        MONEY)
def _living_bar(v: EpochView) -> float:
    return v.living_usd_epoch


def _payout_gini(v: EpochView, rule: str) -> float:
    return gini(v.artist_payout(rule))


def _payout_top1(v: EpochView, rule: str) -> float:
    return top_share(v.artist_payout(rule), 0.01)


def _payout_top10(v: EpochView, rule: str) -> float:
    return top_share(v.artist_payout(rule), 0.10)


def _payout_emerging(v: EpochView, rule: str) -> float:
    paid = v.artist_payout(rule)
    return _safe_div(paid[v.emerging].sum(), v.track_payout(rule).sum())


def _above_living(v: EpochView, rule: str) -> float:
    net = v.artist_net(rule)
    return float(np.sum((net > 0) & (net >= v.living_usd_epoch)))


def _per_stream_value(v: EpochView, rule: str) -> float:
    paid = v.track_payout(rule)
    return _safe_div(paid.sum(), v.streams_per_track[paid > 0].sum())


def _fraud_share(v: EpochView, rule: str) -> float:
    paid = v.track_payout(rule)
    return _safe_div(paid[np.asarray(v.record.tracks.fraud, bool)].sum(), paid.sum())


def _unpaid(v: EpochView, rule: str) -> float:
    return unpaid(v.track_payout(rule), v.record.pool)


family("payouts", per_rule, MONEY, [
    Template("payout_gini_{m}", _payout_gini, "Gini (0-1)", "payout Gini, {label}",
             "Gini of artist payouts P_a over all artists: 2 Σ i·P_(i) / (n Σ P) − (n+1)/n, ascending order",
             headline=True),
    Template("payout_top1_share_{m}", _payout_top1, "share (0-1)", "top-1 % payout share, {label}",
             "Σ of the ceil(1 % · n) largest P_a / Σ P_a"),
    Template("payout_top10_share_{m}", _payout_top10, "share (0-1)", "top-10 % payout share, {label}",
             "same with 10 %"),
    Template("payout_emerging_share_{m}", _payout_emerging, "share (0-1)", "emerging payout share, {label}",
             "Σ P_a over tier 2 / Σ P_a", headline=("pro_rata",)),
    Template("artists_above_living_{m}", _above_living, "artists", "artists above a living, {label}",
             "artists whose net income N_a = P_a · net share of their contract is > 0 and ≥ the living bar "
             "(living_bar_usd; a weekly reading of a monthly living)"),
    Template("per_stream_value_{m}", _per_stream_value, "USD per stream", "per-stream value, {label}",
             "Σ paid / streams of tracks paid > 0 (C9 reads the pro-rata one: pool / streams)",
             headline=("pro_rata",)),
    Template("fraud_share_{m}", _fraud_share, "share (0-1)", "fraud payout share, {label}",
             "Σ paid to fraud tracks / Σ paid"),
    Template("unpaid_{m}", _unpaid, "USD per week", "unpaid pool, {label}",
             "pool if the rule paid nothing, else 0"),
])


# -- concentration of streams ------------------------------------------------------------------------
@metric("stream_gini_artists", "Gini (0-1)", "stream Gini over artists", "Gini of streams per artist",
        CONCENTRATION)
def _stream_gini(v: EpochView) -> float:
    return gini(v.artist_streams)


@metric("stream_top1_share_artists", "share (0-1)", "top-1 % artists' stream share",
        "top ceil(1 % · n) artists' share of streams (C5, per epoch)", CONCENTRATION, headline=True)
def _stream_top1(v: EpochView) -> float:
    return top_share(v.artist_streams, 0.01)


@metric("stream_top10_share_artists", "share (0-1)", "top-10 % artists' stream share",
        "top ceil(10 % · n) artists' share", CONCENTRATION, headline=True)
def _stream_top10(v: EpochView) -> float:
    return top_share(v.artist_streams, 0.10)


# -- small-artist reach ---------------------------------------------------------------------------------
@metric("emerging_stream_share", "share (0-1)", "emerging artists' stream share",
        "streams of tier-2 artists / streams", REACH, headline=True, progress="{:.1%}")
def _emerging_streams(v: EpochView) -> float:
    return _safe_div(v.artist_streams[v.emerging].sum(), v.artist_streams.sum())


@metric("emerging_impression_share", "share (0-1)", "emerging artists' impression share",
        "exposures of tier-2 artists' tracks / plays", REACH)
def _emerging_impressions(v: EpochView) -> float:
    return _safe_div(v.impressions[v.emerging].sum(), v.plays)


@metric("new_artist_stream_share", "share (0-1)", "new artists' stream share", "streams of new artists / streams",
        REACH, headline=True)
def _new_artist_streams(v: EpochView) -> float:
    return _safe_div(v.artist_streams[v.new_artist].sum(), v.artist_streams.sum())


@metric("emerging_mean_unique_listeners", "listeners per week", "unique listeners per emerging artist",
        "mean over tier-2 artists (zeros included) of distinct listeners who streamed them this epoch", REACH)
def _emerging_listeners(v: EpochView) -> float:
    return float(v.unique_listeners[v.emerging].mean()) if v.emerging.any() else 0.0


@metric("new_releases_reaching_threshold", "tracks", "new releases reaching 1,000 streams",
        "tracks released within the last 52 epochs whose lifetime streams crossed the scaled 1,000-stream "
        "bar this epoch (before < bar ≤ after)", REACH)
def _new_releases_reaching(v: EpochView) -> float:
    after = np.asarray(v.record.tracks.streams_total, np.float64)[: v.n_tracks]
    before = after - v.streams_per_track
    recent = np.asarray(v.record.tracks.release_epoch) > v.record.epoch - v.new_window_epochs
    bar = v.reach_streams
    return float(np.sum(recent & (before < bar) & (after >= bar)))


DECILES = tuple((str(k + 1), f"decile {k + 1}") for k in range(10))
"""Members of the popularity-decile family: 1 = the least streamed tenth of artists."""


def _decile_members() -> tuple[tuple[str, str], ...]:
    return DECILES


def _decile_stream_share(v: EpochView, member: str) -> float:
    in_decile = v.popularity_decile == int(member) - 1
    return _safe_div(v.artist_streams[in_decile].sum(), v.artist_streams.sum())


def _decile_listeners(v: EpochView, member: str) -> float:
    in_decile = v.popularity_decile == int(member) - 1
    return float(v.unique_listeners[in_decile].mean()) if in_decile.any() else 0.0


family("popularity_deciles", _decile_members, REACH, [
    Template("decile_stream_share_{m}", _decile_stream_share, "share (0-1)",
             "stream share of popularity {label}",
             "streams of the artists in trailing-popularity decile {m} (1 = the least streamed tenth by "
             "streams over the last tier_window_epochs, ties by id; stream farms excluded) / streams"),
    Template("decile_mean_listeners_{m}", _decile_listeners, "listeners per week",
             "unique listeners per artist, popularity {label}",
             "mean over the artists of trailing-popularity decile {m} of distinct listeners who streamed "
             "them this epoch"),
])


# -- homogeneity ---------------------------------------------------------------------------------------
@metric("jaccard_random_pairs", "Jaccard similarity (0-1)", "Jaccard, random pairs",
        "mean |A∩B| / |A∪B| of this epoch's streamed-track sets over `jaccard_pairs` (2,000) random pairs of "
        "distinct listeners with a non-empty set", HOMOGENEITY, headline=True)
def _jaccard_random(v: EpochView) -> float:
    return jaccard_mean(v.sets, v.samples["random_pairs"])


@metric("jaccard_similar_pairs", "Jaccard similarity (0-1)", "Jaccard, similar-taste pairs",
        "same over the 2,000 pairs with the highest true-taste cosine out of 20,000 random pairs (top tenth)",
        HOMOGENEITY)
def _jaccard_similar(v: EpochView) -> float:
    return jaccard_mean(v.sets, v.samples["similar_pairs"])


@metric("jaccard_dissimilar_pairs", "Jaccard similarity (0-1)", "Jaccard, dissimilar-taste pairs",
        "same over the 2,000 with the lowest (bottom tenth)", HOMOGENEITY)
def _jaccard_dissimilar(v: EpochView) -> float:
    return jaccard_mean(v.sets, v.samples["dissimilar_pairs"])


@metric("effective_artists", "artists (exp entropy)", "effective number of artists",
        "exp(−Σ p ln p), p = artist shares of streams; 0 with no streams", HOMOGENEITY, headline=True)
def _effective_artists(v: EpochView) -> float:
    return shannon_effective(v.artist_streams)


@metric("effective_tracks", "tracks (exp entropy)", "effective number of tracks", "same over tracks",
        HOMOGENEITY)
def _effective_tracks(v: EpochView) -> float:
    return shannon_effective(v.streams_per_track)


@metric("rec_coverage", "share of catalog (0-1)", "catalog coverage of recommendations",
        "distinct tracks in any personalised slate served this epoch / catalog tracks", HOMOGENEITY, headline=True)
def _coverage(v: EpochView) -> float:
    slate = np.asarray(v.record.served.items, np.int64).ravel()
    slate = slate[(slate >= 0) & (slate < v.n_tracks)]
    return _safe_div(np.count_nonzero(np.bincount(slate, minlength=v.n_tracks)), v.n_tracks)


@metric("individual_diversity", "mean style distance", "individual diversity",
        "mean over up to `diversity_listeners` (1,000) sampled listeners with ≥ 2 distinct tracks of the mean "
        "pairwise cosine distance 1 − cos(s_i, s_j) of their tracks' hidden styles", HOMOGENEITY)
def _individual_diversity(v: EpochView) -> float:
    return individual_diversity(v.sets, v.record.tracks.style, v.samples["diversity_listeners"])


@metric("release_style_dispersion", "mean style distance", "style dispersion of new releases",
        "mean pairwise cosine distance of this epoch's releases' styles (< 2 releases → 0)", HOMOGENEITY)
def _release_dispersion(v: EpochView) -> float:
    return style_dispersion(np.asarray(v.record.tracks.style)[v.released])


@metric("release_mean_length_s", "seconds", "mean length of new releases",
        "mean length of this epoch's releases (none → 0)", HOMOGENEITY, headline=True)
def _release_length(v: EpochView) -> float:
    return float(np.mean(np.asarray(v.record.tracks.length_s)[v.released])) if v.released.any() else 0.0


@metric("release_mean_intro_s", "seconds", "mean intro of new releases",
        "mean time to the hook of this epoch's releases (none → 0)", HOMOGENEITY, headline=True)
def _release_intro(v: EpochView) -> float:
    return float(np.mean(np.asarray(v.record.tracks.intro_s)[v.released])) if v.released.any() else 0.0


@metric("hit_mean_length_s", "seconds", "mean length of hits",
        "mean length of this epoch's top-decile hits: the ceil(10 %) most streamed of the tracks streamed this "
        "epoch, ties by id (none → 0)", HOMOGENEITY)
def _hit_length(v: EpochView) -> float:
    return float(np.mean(np.asarray(v.record.tracks.length_s)[v.hits])) if len(v.hits) else 0.0


@metric("hit_mean_intro_s", "seconds", "mean intro of hits",
        "mean time to the hook of this epoch's top-decile hits (none → 0)", HOMOGENEITY)
def _hit_intro(v: EpochView) -> float:
    return float(np.mean(np.asarray(v.record.tracks.intro_s)[v.hits])) if len(v.hits) else 0.0


@metric("hit_style_dispersion", "mean style distance", "style dispersion of hits",
        "mean pairwise cosine distance of this epoch's top-decile hits' styles (< 2 hits → 0)", HOMOGENEITY)
def _hit_dispersion(v: EpochView) -> float:
    return style_dispersion(np.asarray(v.record.tracks.style)[v.hits])


# -- listeners ----------------------------------------------------------------------------------------
@metric("mean_true_utility", "utility (model units)", "mean true utility", "mean realised true utility over plays",
        LISTENERS, headline=True)
def _mean_utility(v: EpochView) -> float:
    return v.tally.mean_utility


@metric("satisfaction_mean", "satisfaction (utility units)", "mean satisfaction",
        "mean satisfaction of active listeners", LISTENERS)
def _satisfaction(v: EpochView) -> float:
    act = np.asarray(v.record.listeners.active, bool)
    return float(np.mean(np.asarray(v.record.listeners.satisfaction)[act], dtype=np.float64)) if act.any() else 0.0


@metric("activity_mainstream_rho", "correlation (-1 to 1)", "activity-mainstreaminess correlation",
        "Pearson r over human listeners with streams between rank(streams_l) and Σ_a s_la·π_a / streams_l, π_a "
        "the artist's percentile of this epoch's streams (Bauer & Schedl 2019; Kowald et al. 2020); the mean is "
        "not ranked, so volume alone gives 0",
        LISTENERS, headline=True)
def _activity_mainstream(v: EpochView) -> float:
    r = v.record
    return activity_mainstream_rho(r.table, v.artist_streams, ~np.asarray(r.listeners.is_bot, bool))


@metric("churn_rate", "share of listeners per week", "churn rate", "churned_listeners / L0", LISTENERS,
        headline=True)
def _churn_rate(v: EpochView) -> float:
    return _safe_div(v.record.churned, v.at_start)


@metric("premium_share", "share of listeners (0-1)", "premium share",
        "paying listeners / active listeners, at the end of the epoch (after tier moves)", LISTENERS,
        headline=True)
def _premium_share(v: EpochView) -> float:
    act = np.asarray(v.record.listeners.active, bool)
    return float(np.mean(np.asarray(v.record.listeners.premium)[act])) if act.any() else 0.0


# -- recommender --------------------------------------------------------------------------------------
@metric("rec_fit_seconds", "seconds", "recommender fit time", "FitInfo.seconds (wall time: not reproducible)",
        RECOMMENDER, headline=True, progress="{:.2f}s")
def _fit_seconds(v: EpochView) -> float:
    return v.record.fit_seconds


@metric("rec_train_loss", "loss", "training loss", "FitInfo.loss (NaN before a fit → 0)", RECOMMENDER)
def _fit_loss(v: EpochView) -> float:
    return v.record.fit_loss


def _previous_slates(v: EpochView) -> tuple[np.ndarray, np.ndarray]:
    before = v.record.served_before
    rows = v.samples["precision_rows"]
    return (np.asarray(before.users, np.int64)[rows], _rows(before.items, len(before.users))[rows])


@metric("rec_precision_at_k", "share (0-1)", "precision@k",
        "previous epoch's slates (up to `eval_listeners` sampled rows) against this epoch's streams, both without "
        "the items the model that made the slates was fitted on for that listener: mean over listeners who "
        "streamed anything unseen of hits in the first k (10) unseen items / k", RECOMMENDER)
def _precision(v: EpochView) -> float:
    users, items = _previous_slates(v)
    return precision_at_k(v.sets, users, items, v.mc.k, v.record.served_before.trained)


@metric("rec_ndcg_at_k", "nDCG (0-1)", "nDCG@k",
        "same listeners and items: Σ_c hit_c / log2(c+2) over the ideal with min(k, unseen tracks streamed) hits "
        "first; a repeat of an item in a slate is not a hit", RECOMMENDER, headline=True)
def _ndcg(v: EpochView) -> float:
    users, items = _previous_slates(v)
    return ndcg_at_k(v.sets, users, items, v.mc.k, v.record.served_before.trained)


@metric("rec_regret_vs_oracle", "utility (model units)", "regret against the oracle",
        "mean over sampled listeners the recommender served (up to `eval_listeners`; cold-start slates "
        "excluded) of (mean true utility of the oracle's top-k) − (mean true utility of the served slate's "
        "first k), both at slate time under the served slate's exclusions and region/explicit filters; true "
        "utility w_taste·cos(u, s) + w_quality·q without noise", RECOMMENDER, headline=True)
def _regret(v: EpochView) -> float:
    return regret(v.record.oracle_utility, v.record.served_utility)
