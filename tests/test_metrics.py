"""Metrics: known answers on hand-computed cases, and a finite row for every contract column."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
from scipy import stats
from hypothesis import given, settings
from hypothesis import strategies as st

from streamsim.core.codes import CHANNELS, Contract
from streamsim.core.config import Scenario
from streamsim.core.events import Events
from streamsim.core.units import EPOCHS_PER_MONTH
from streamsim.core.utility import mean_ranks, popularity_percentile, slate_utility
from streamsim.economics.revenue import Scale
from streamsim.economics.rules import rule_names
from streamsim.economics.tables import StreamTable
from streamsim.measures import metrics as M
from streamsim.measures.artists import artist_rows
from streamsim.measures.registry import collect, metric_columns
from streamsim.measures.view import EpochView, deciles
from streamsim.sim.record import Artists, Listeners, Served, Tracks
from streamsim.testing import empty_record, synthetic_record

RULES = rule_names()

CONTRACT = [
    "epoch", "active_listeners", "new_listeners", "churned_listeners", "catalog_tracks", "new_tracks",
    "plays", "streams", "skip_share_5s", "skip_share_30s", "skip_share_before_end",
    "streams_per_listener", "artists_per_listener", "revenue", "pool",
    "stream_gini_artists", "stream_top1_share_artists", "stream_top10_share_artists",
    "emerging_stream_share", "emerging_impression_share", "new_artist_stream_share",
    "emerging_mean_unique_listeners", "new_releases_reaching_threshold", "jaccard_random_pairs",
    "jaccard_similar_pairs", "jaccard_dissimilar_pairs", "effective_artists", "effective_tracks",
    "rec_coverage", "individual_diversity", "release_style_dispersion", "release_mean_length_s",
    "release_mean_intro_s", "hit_mean_length_s", "hit_mean_intro_s", "hit_style_dispersion", "mean_true_utility", "satisfaction_mean", "activity_mainstream_rho",
    "churn_rate", "rec_fit_seconds",
    "rec_train_loss", "rec_precision_at_k", "rec_ndcg_at_k", "rec_regret_vs_oracle",
    *(f"channel_share_{c}" for c in CHANNELS),
    *(f"{m}_{r}" for r in RULES for m in ("payout_gini", "payout_top1_share", "payout_top10_share",
                                           "payout_emerging_share", "artists_above_living",
                                           "per_stream_value", "fraud_share")),
]
ARTIST_COLUMNS = ["epoch", "burn_in", "artist_id", "tier", "fame_tier", "major_label", "contract", "label_id", "active",
                  "entry_epoch", "trailing_streams", "popularity_decile", "release_rate", "streams",
                  "unique_listeners", "impressions", "tracks_released", "release_mean_length_s",
                  "release_mean_intro_s", *(f"payout_{r}" for r in RULES), "net_income"]


# ------------------------------------------------------------------ known answers

def test_gini_known_answers():
    assert M.gini([0, 0, 0, 1]) == pytest.approx(0.75)
    assert M.gini([1, 1, 1, 1]) == pytest.approx(0.0)
    assert M.gini([1, 2, 3, 4]) == pytest.approx(0.25)  # sum |xi-xj| = 20, / (2 n^2 mean) = 20/80
    assert M.gini([]) == 0.0 and M.gini([0, 0]) == 0.0


def test_top_share_known_answers():
    x = np.arange(1, 101, dtype=float)  # total 5050
    assert M.top_share(x, 0.01) == pytest.approx(100 / 5050)
    assert M.top_share(x, 0.10) == pytest.approx(sum(range(91, 101)) / 5050)
    assert M.top_share([5.0, 1.0, 4.0], 0.01) == pytest.approx(0.5)  # at least one holder
    assert M.top_share([], 0.1) == 0.0 and M.top_share([0, 0], 0.1) == 0.0


def test_lorenz_known_answer_and_zero_total():
    pop, share = M.lorenz([3.0, 1.0])
    assert pop.tolist() == [0.0, 0.5, 1.0] and share.tolist() == pytest.approx([0.0, 0.25, 1.0])
    pop, share = M.lorenz([0.0, 0.0])
    assert share.tolist() == pop.tolist()


def test_shannon_effective_known_answers():
    assert M.shannon_effective([5, 5, 5, 5]) == pytest.approx(4.0)
    assert M.shannon_effective([7, 0, 0]) == pytest.approx(1.0)
    p = np.array([0.5, 0.25, 0.25])
    assert M.shannon_effective([2, 1, 1]) == pytest.approx(math.exp(-(p * np.log(p)).sum()))
    assert M.shannon_effective([]) == 0.0


def _sets(rows, n_listeners, n_tracks):
    lis, trk = zip(*rows)
    z = np.zeros(len(rows))
    return M.Consumption.of(StreamTable(lis, trk, z, z + 1, z), n_listeners, n_tracks)


def test_jaccard_known_answers():
    # listener 0: {0, 1, 2}; listener 1: {1, 2, 3}; listener 2: {4}; listener 3: nothing
    sets = _sets([(0, 2), (0, 0), (1, 1), (0, 1), (1, 3), (1, 2), (2, 4)], 4, 5)
    assert sets.tracks.tolist() == [0, 1, 2, 1, 2, 3, 4]
    assert M.jaccard_mean(sets, [[0, 1]]) == pytest.approx(2 / 4)
    assert M.jaccard_mean(sets, [[0, 2]]) == 0.0
    assert M.jaccard_mean(sets, [[0, 0]]) == 1.0
    assert M.jaccard_mean(sets, [[3, 3]]) == 0.0
    assert M.jaccard_mean(sets, [[0, 1], [0, 2]]) == pytest.approx(0.25)
    assert M.jaccard_mean(sets, np.zeros((0, 2))) == 0.0


def test_pair_sampling():
    rng = np.random.default_rng(0)
    pairs = M.random_pairs(np.array([3, 5, 9]), 500, rng)
    assert pairs.shape == (500, 2) and np.all(pairs[:, 0] != pairs[:, 1])
    assert set(np.unique(pairs)) == {3, 5, 9}
    assert M.random_pairs(np.array([1]), 10, rng).shape == (0, 2)
    taste = np.array([[1, 0], [1, 0.01], [-1, 0], [0, 1]], float)
    similar, dissimilar = M.taste_pairs(np.arange(4), taste, 20, rng)
    cos = lambda p: (taste[p[:, 0]] * taste[p[:, 1]]).sum(1) / np.linalg.norm(taste[p[:, 0]], axis=1) \
        / np.linalg.norm(taste[p[:, 1]], axis=1)  # noqa: E731
    assert cos(similar).min() >= cos(dissimilar).max()


def test_diversity_and_dispersion_known_answers():
    style = np.array([[1, 0], [0, 1], [-1, 0]], float)
    assert M.style_dispersion(style) == pytest.approx((1 + 2 + 1) / 3)
    assert M.style_dispersion(style[:1]) == 0.0
    sets = _sets([(0, 0), (0, 1), (1, 0), (1, 2), (2, 1)], 3, 3)
    # listener 0: distance 1; listener 1: distance 2; listener 2 (one track) is skipped
    assert M.individual_diversity(sets, style, np.array([0, 1, 2])) == pytest.approx(1.5)
    assert M.individual_diversity(sets, style, np.array([2])) == 0.0


def test_precision_ndcg_and_regret_known_answers():
    sets = _sets([(0, 1), (0, 3), (1, 0)], 3, 5)
    users = np.array([0, 1, 2])          # listener 2 streamed nothing: not evaluated
    items = np.array([[3, 2, 1], [4, -1, 2], [0, 1, 2]])
    assert M.precision_at_k(sets, users, items, 3) == pytest.approx((2 / 3 + 0) / 2)
    dcg0 = 1 + 1 / math.log2(4)
    idcg0 = 1 + 1 / math.log2(3)
    assert M.ndcg_at_k(sets, users, items, 3) == pytest.approx((dcg0 / idcg0 + 0) / 2)
    assert M.precision_at_k(sets, np.zeros(0, int), np.zeros((0, 3), int), 3) == 0.0
    assert M.ndcg_at_k(sets, np.array([2]), np.array([[0, 1, 2]]), 3) == 0.0
    taste = np.array([[1.0, 0.0]])
    style = np.array([[1.0, 0.0], [0.0, 1.0]])
    quality = np.array([0.0, 1.0])
    served = slate_utility(np.array([0]), np.array([[0, 1, -1]]), taste, style, quality, 2.0, 0.5, 3)
    assert served == pytest.approx([(2.0 + 0.5) / 2])
    assert M.regret([2.0], served) == pytest.approx(0.75)
    assert M.regret([], []) == 0.0


def _stream_table(rows):
    listener, artist, streams = map(np.array, zip(*rows))
    return StreamTable(listener, artist, artist, streams.astype(float), np.zeros(len(rows)))


def test_activity_mainstream_rho_known_answers():
    """Artist 0 is the most streamed (percentile 1), 1 the middle (1/2), 2 the least (0). When a
    listener's mean percentile rises evenly with its volume rank the answer is +1, when it falls
    evenly -1; bots do not count."""
    artist_streams = np.array([100.0, 10.0, 1.0])
    human = np.ones(5, bool)
    up = _stream_table([(0, 2, 1), (1, 1, 2), (2, 0, 9)])            # means 0, 1/2, 1
    assert M.activity_mainstream_rho(up, artist_streams, human) == pytest.approx(1.0)
    down = _stream_table([(0, 0, 1), (1, 1, 2), (2, 2, 9)])          # means 1, 1/2, 0
    assert M.activity_mainstream_rho(down, artist_streams, human) == pytest.approx(-1.0)
    bot = np.array([True, True, True, False, True])                  # listener 3 is a bot
    with_bot = _stream_table([(0, 2, 1), (1, 1, 2), (2, 0, 3), (3, 2, 500)])
    assert M.activity_mainstream_rho(with_bot, artist_streams, bot) == pytest.approx(1.0)
    assert M.activity_mainstream_rho(_stream_table([(0, 0, 1), (1, 1, 2)]), artist_streams, human) == 0.0
    assert M.activity_mainstream_rho(StreamTable.empty(), artist_streams, human) == 0.0


def test_activity_mainstream_rho_is_zero_when_volume_says_nothing_about_taste():
    """Every stream's artist is drawn from one left-skewed popularity distribution whatever the
    listener, and volumes are log-normal: the correlation is zero up to noise, although light
    listeners' mean percentiles are more often near the top (the median of a mean of few skewed
    draws is above its expectation), which is what ranking the mean as well would pick up."""
    rng = np.random.default_rng(7)
    artists = 200
    artist_streams = 1.0 / np.arange(1, artists + 1) ** 1.5          # a few hits take most streams
    p = artist_streams / artist_streams.sum()
    rhos, spearmans = [], []
    for _ in range(20):
        volume = np.maximum(1, rng.lognormal(3.0, 1.0, 2000).astype(int))
        listener = np.repeat(np.arange(2000), volume)
        artist = rng.choice(artists, size=len(listener), p=p)
        table = StreamTable(listener, artist, artist, np.ones(len(listener)), np.zeros(len(listener)))
        rhos.append(M.activity_mainstream_rho(table, artist_streams, np.ones(2000, bool)))
        pct = popularity_percentile(artist_streams)
        mean_pct = np.bincount(listener, weights=pct[artist]) / volume
        spearmans.append(stats.spearmanr(volume, mean_pct).statistic)
    assert abs(np.mean(rhos)) < 0.02
    assert np.mean(spearmans) < -0.05                                  # the bias this metric avoids


# ------------------------------------------------------------------ collect

def _row(record, scenario=None):
    scenario = scenario or Scenario()
    view = EpochView(record, scenario)
    return collect(view), artist_rows(view)


def test_collect_on_an_empty_epoch_writes_every_column_finite():
    row, rows = _row(empty_record())
    assert set(CONTRACT) <= set(row) and list(row) == list(metric_columns())
    assert all(math.isfinite(v) for v in row.values())
    assert row["plays"] == 0 and row["skip_share_5s"] == 0.0 and row["rec_precision_at_k"] == 0.0
    assert row["effective_artists"] == 0.0 and row["release_mean_length_s"] == 0.0
    assert list(rows) == ARTIST_COLUMNS and all(len(v) == 0 for v in rows.values())


def test_collect_with_catalog_and_listeners_but_no_plays():
    rec, sc = synthetic_record(50, 80, 10, 1000, seed=3)
    quiet = dataclasses.replace(rec, events=Events.empty(), stream=np.zeros(0, bool), completed=np.zeros(0, bool),
                                table=StreamTable.empty(), settlement={r: np.zeros(80) for r in RULES},
                                fit_loss=float("nan"))
    row, _ = _row(quiet, sc)
    assert all(math.isfinite(v) for v in row.values())
    assert row["streams"] == 0 and row["jaccard_random_pairs"] == 0.0 and row["rec_train_loss"] == 0.0
    assert row["unpaid_pro_rata"] == pytest.approx(rec.pool)


@settings(max_examples=15, deadline=None)
@given(st.integers(1, 60), st.integers(1, 40), st.integers(1, 8), st.integers(0, 3000), st.integers(0, 99))
def test_collect_on_random_inputs_is_finite_and_consistent(n_l, n_t, n_a, n_e, seed):
    rec, sc = synthetic_record(n_l, n_t, n_a, n_e, seed=seed, slate_size=5)
    row, rows = _row(rec, sc)
    assert list(row) == list(metric_columns())
    assert all(math.isfinite(v) for v in row.values())
    assert row["plays"] == n_e and row["streams"] == rec.table.streams.sum()
    shares = [row[f"channel_share_{c}"] for c in CHANNELS]
    assert sum(shares) == pytest.approx(1.0 if row["streams"] else 0.0)
    for key in ("skip_share_5s", "skip_share_30s", "skip_share_before_end", "jaccard_random_pairs",
                "rec_coverage", "rec_precision_at_k", "rec_ndcg_at_k", "emerging_stream_share",
                *(f"payout_top10_share_{r}" for r in RULES), *(f"fraud_share_{r}" for r in RULES)):
        assert 0.0 <= row[key] <= 1.0 + 1e-12, key
    assert row["skip_share_5s"] <= row["skip_share_30s"] <= row["skip_share_before_end"]
    assert list(rows) == ARTIST_COLUMNS and all(len(v) == n_a for v in rows.values())
    assert rows["streams"].sum() == pytest.approx(row["streams"])
    assert rows["impressions"].sum() == n_e
    for r in RULES:
        assert rows[f"payout_{r}"].sum() == pytest.approx(rec.settlement[r].sum())


def test_collect_known_small_epoch():
    # two listeners, three tracks of two artists; artist 1 is emerging and new.
    events = Events(listener=np.array([0, 0, 1, 1]), track=np.array([0, 1, 1, 2]), channel=np.array([0, 4, 1, 1]),
                    seconds=np.array([200.0, 3.0, 100.0, 40.0]), utility=np.array([1.0, -1.0, 0.5, 0.5]),
                    saved=np.zeros(4, bool))
    table = StreamTable([0, 1, 1], [0, 1, 2], [0, 1, 1], [1.0, 1.0, 1.0], [1.0, 0.0, 0.0])
    paid = np.array([1.0, 1.0, 1.0])
    rec = empty_record(
        d=2, k=2, epoch=3, events=events, stream=np.array([True, False, True, True]),
        completed=np.array([True, False, False, False]), table=table,
        tracks=Tracks(np.array([0, 1, 1]), np.array([-5, 3, 3]), np.array([200.0, 180.0, 160.0]),
                      np.array([10.0, 4.0, 6.0]), np.eye(3)[:, :2] + np.array([[0, 0], [0, 0], [1, 0]]),
                      np.zeros(3), np.array([False, False, True]), np.array([10.0, 1.0, 1.0])),
        artists=Artists(np.array([0, 2]), np.array([True, False]), np.array([0, 2]),
                        contract=np.array([Contract.MAJOR, Contract.SELF_RELEASED])),
        listeners=Listeners(np.array([True, True]), np.zeros(2, bool), np.array([[1.0, 0.0], [0.0, 1.0]]),
                            np.array([0.2, 0.4]), np.zeros(2, bool)),
        revenue=np.array([2.0, 1.0]), pool=3.0, settlement={r: paid for r in RULES}, scale=Scale(0.001, 0.001),
        served=Served(np.array([0]), np.array([[0, 1, -1]])))
    sc = Scenario().replace(**{"payouts.living_usd_month": 1.5 * EPOCHS_PER_MONTH, "metrics.k": 2})
    row, rows = _row(rec, sc)
    assert row["plays"] == 4 and row["streams"] == 3
    assert row["skip_share_5s"] == 0.25 and row["skip_share_30s"] == 0.25 and row["skip_share_before_end"] == 0.75
    assert row["streams_per_listener"] == 1.5 and row["artists_per_listener"] == 1.0
    assert row["channel_share_library"] == pytest.approx(1 / 3) and row["channel_share_personalised"] == pytest.approx(2 / 3)
    assert row["emerging_stream_share"] == pytest.approx(2 / 3) and row["emerging_impression_share"] == 0.75
    assert row["new_artist_stream_share"] == pytest.approx(2 / 3)
    assert row["emerging_mean_unique_listeners"] == 1.0
    assert row["new_releases_reaching_threshold"] == 2
    assert row["payout_emerging_share_pro_rata"] == pytest.approx(2 / 3)
    # living bar: 1.5 a week times the money scale 0.001 * (pool 3 / 3 streams) / 0.004 = 0.375; net
    # incomes 1.0 * 0.27305 (major) and 2.0 * 0.84 (self-released): only artist 1 makes a living
    assert row["living_bar_usd"] == pytest.approx(0.375)
    assert row["artists_above_living_pro_rata"] == 1 and row["fraud_share_pro_rata"] == pytest.approx(1 / 3)
    assert rows["net_income"] == pytest.approx([0.27305, 1.68])
    # deciles of two artists ranked on this epoch's streams (no trailing streams in the record): 1 and 6
    assert rows["popularity_decile"].tolist() == [1, 6] and row["active_artists"] == 2
    assert row["decile_stream_share_1"] == pytest.approx(1 / 3) and row["decile_stream_share_6"] == pytest.approx(2 / 3)
    assert row["decile_mean_listeners_6"] == 1.0 and row["decile_stream_share_10"] == 0.0
    assert row["per_stream_value_pro_rata"] == 1.0
    assert row["jaccard_random_pairs"] == 0.0 and row["effective_tracks"] == pytest.approx(3.0)
    assert row["rec_coverage"] == pytest.approx(2 / 3)
    assert row["release_mean_length_s"] == 170.0 and row["release_mean_intro_s"] == 5.0
    # three tracks streamed once each: the one hit (ceil of a tenth) is the lowest id, track 0
    assert row["hit_mean_length_s"] == 200.0 and row["hit_mean_intro_s"] == 10.0 and row["hit_style_dispersion"] == 0.0
    assert row["mean_true_utility"] == 0.25 and row["satisfaction_mean"] == pytest.approx(0.3)
    assert rows["unique_listeners"].tolist() == [1, 1] and rows["tracks_released"].tolist() == [0, 2]
    assert rows["payout_pro_rata"].tolist() == [1.0, 2.0]


def test_deciles_rank_members_ordinally_with_ties_by_position():
    value = np.array([5.0, 0.0, 0.0, 9.0, 1.0, 0.0, 3.0, 7.0, 2.0, 4.0, 6.0, 8.0])
    members = np.ones(12, bool)
    members[3] = False
    d = deciles(value, members)
    assert d[3] == -1
    # ascending values, the three zeros (ids 1, 2, 5) in id order: 1, 2, 5, 4, 8, 6, 9, 0, 10, 7, 11
    order = [1, 2, 5, 4, 8, 6, 9, 0, 10, 7, 11]
    assert d[order].tolist() == [k * 10 // 11 for k in range(11)]


def test_hits_are_the_most_streamed_tenth_of_the_streamed_tracks():
    rec, sc = synthetic_record(300, 200, 20, 20_000, seed=5)
    view = EpochView(rec, sc)
    streams = view.streams_per_track
    streamed = np.flatnonzero(streams > 0)
    hits = view.hits
    assert len(hits) == math.ceil(len(streamed) / 10) and len(set(hits.tolist())) == len(hits)
    rest = np.setdiff1d(streamed, hits)
    assert streams[hits].min() >= streams[rest].max()
    edge = streams[hits].min()                       # ties at the edge go to the lower ids
    assert np.flatnonzero(streams[rest] == edge).size == 0 or hits[streams[hits] == edge].max() < rest[streams[rest] == edge].min()
    row = collect(view)
    assert row["hit_mean_length_s"] == pytest.approx(np.asarray(rec.tracks.length_s)[hits].mean())
    assert row["hit_style_dispersion"] == pytest.approx(M.style_dispersion(np.asarray(rec.tracks.style)[hits]))


# Metrics computed on samples drawn with the record's metric seed (pairs, listeners, slate rows).
SAMPLED = {"jaccard_random_pairs", "jaccard_similar_pairs", "jaccard_dissimilar_pairs", "individual_diversity",
           "rec_precision_at_k", "rec_ndcg_at_k"}


def test_the_metric_seed_moves_the_sampled_columns_and_nothing_else():
    sc = Scenario().replace(**{"metrics.jaccard_pairs": 50, "metrics.diversity_listeners": 50,
                               "metrics.eval_listeners": 50, "world.d_style": 8, "channels.slate_size": 50})
    rec, _ = synthetic_record(300, 200, 20, 20_000, seed=5)
    a = _row(rec, sc)[0]
    b = _row(dataclasses.replace(rec, metric_seed=rec.metric_seed + 1), sc)[0]
    assert a == _row(rec, sc)[0]                                   # deterministic for a seed
    changed = {k for k in a if a[k] != b[k]}
    assert changed == SAMPLED


@given(st.lists(st.floats(-1e3, 1e3), min_size=2, max_size=30), st.floats(-1e3, 1e3))
def test_mean_interval_is_the_t_interval_and_shifts_with_the_sample(xs, shift):
    mean, half = M.mean_interval(np.array(xs))
    assert mean == pytest.approx(np.mean(xs), abs=1e-9)
    assert half == pytest.approx(M.t_quantile(len(xs) - 1) * np.std(xs, ddof=1) / math.sqrt(len(xs)), abs=1e-9)
    moved, moved_half = M.mean_interval(np.array(xs) + shift)
    assert moved == pytest.approx(mean + shift, abs=1e-6) and moved_half == pytest.approx(half, abs=1e-6)


@given(st.lists(st.integers(-5, 5) | st.floats(-1e6, 1e6, allow_nan=False), max_size=60))
@settings(max_examples=200, deadline=None)
def test_mean_ranks_are_scipy_average_ranks(values):
    x = np.array(values, np.float64)
    np.testing.assert_array_equal(mean_ranks(x), stats.rankdata(x, method="average"))
