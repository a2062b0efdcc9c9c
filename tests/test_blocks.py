"""One epoch in blocks: how the engine cuts the epoch's listening changes nothing a user sees.

A run of millions of listeners never holds a week's exposures at once: the listening kernel
hands them over a block of listeners at a time and each block is folded into the ledger, the
listeners and the epoch's tally (docs/ARCHITECTURE.md, "One epoch in blocks"). These tests run
the same seeded world with very different block sizes, with and without keeping the events,
and compare everything a user reads.
"""

from __future__ import annotations

import numpy as np
import pytest

from streamsim.agents import listening
from streamsim.core.config import load
from streamsim.studies.runner import simulate

WORLD = {"listeners.count": 1200, "artists.count": 120, "run.epochs": 4, "run.burn_in_epochs": 0,
         "run.seed": 11, "listeners.arrival_rate": 0.02, "fraud.bots": 30,
         "recommender.exploration.share": 0.2}


def _run(monkeypatch, block: int, **sets):
    monkeypatch.setattr(listening, "BLOCK", block)
    return simulate(load(None, {**WORLD, **sets}))


def _same_state(a, b) -> None:
    la, lb = a.model.listeners, b.model.listeners
    for name in ("satisfaction", "plays_total", "last_track", "active", "budget_s"):
        np.testing.assert_array_equal(getattr(la, name), getattr(lb, name), err_msg=name)
    for m, n in ((la._library, lb._library), (a.model.ledger.interactions(), b.model.ledger.interactions())):
        assert (m != n).nnz == 0
        np.testing.assert_array_equal(m.indptr, n.indptr)


def test_the_block_size_changes_no_metric_and_no_state(monkeypatch):
    whole = _run(monkeypatch, listening.BLOCK)
    small = _run(monkeypatch, 97)     # a dozen blocks an epoch, none aligned with anything
    assert whole.model.tally.plays > 100_000 and whole.model.listeners.n > 2 * 97
    cols = [c for c in whole.metrics.columns if c != "rec_fit_seconds"]
    # the tally's float sums are added block by block: equal to the last bits
    exact = [c for c in cols if c != "mean_true_utility"]
    assert whole.metrics[exact].equals(small.metrics[exact])
    np.testing.assert_allclose(whole.metrics["mean_true_utility"], small.metrics["mean_true_utility"], rtol=1e-12)
    _same_state(whole, small)


def test_dropping_the_events_changes_no_metric(monkeypatch):
    records = []
    kept = _run(monkeypatch, 300)
    dropped = simulate(load(None, {**WORLD, "outputs.keep_events": False}), observers=(_Keep(records),))
    assert all(r.events is None and r.stream is None for r in records)
    assert records[-1].tally.plays == dropped.model.tally.plays > 0
    cols = [c for c in kept.metrics.columns if c != "rec_fit_seconds"]
    pd_kept, pd_dropped = kept.metrics[cols], dropped.metrics[cols]
    assert np.allclose(pd_kept.to_numpy(float), pd_dropped.to_numpy(float), rtol=1e-12, equal_nan=True)
    _same_state(kept, dropped)


@pytest.mark.parametrize("bots", [0, 30])
def test_the_tally_counts_what_the_kept_events_hold(monkeypatch, bots):
    records = []
    monkeypatch.setattr(listening, "BLOCK", 250)
    simulate(load(None, {**WORLD, "fraud.bots": bots, "run.epochs": 2}), observers=(_Keep(records),))
    for r in records:
        ev, t = r.events, r.tally
        human = ~r.listeners.is_bot[ev.listener]
        assert t.plays == len(ev) and t.streams == int(r.stream.sum())
        assert t.skipped_within[0] == int(np.sum(~r.completed & (ev.seconds < 5)))
        np.testing.assert_array_equal(t.channel_streams, np.bincount(ev.channel[r.stream], minlength=len(t.channel_streams)))
        np.testing.assert_array_equal(t.artist_plays[: len(r.artists.tier)],
                                      np.bincount(r.tracks.artist[ev.track], minlength=len(r.artists.tier)))
        assert t.human_plays == int(human.sum())
        assert t.human_mean_utility == pytest.approx(float(ev.utility[human].mean(dtype=np.float64)), rel=1e-12)
        assert (t.human_plays < t.plays) == (bots > 0)


class _Keep:
    def __init__(self, records: list):
        self.records = records

    def on_record(self, record) -> None:
        self.records.append(record)
