"""Random streams per named phase: switching a mechanism on never shifts another phase's draws."""

from __future__ import annotations

import numpy as np

from streamsim.core.config import load
from streamsim.sim.model import StreamingModel
from streamsim.sim.seeds import PHASES, phase_rng

SMALL = {"listeners.count": 1500, "artists.count": 150, "run.seed": 5, "listeners.arrival_rate": 0.02}


def test_phase_streams_are_keyed_by_phase_and_epoch_not_by_call_order():
    root = np.random.SeedSequence(42)
    a = phase_rng(root, 3, "update").random(4)
    for phase in PHASES:                                  # other phases drawn in between change nothing
        phase_rng(root, 3, phase).random(100)
    np.testing.assert_array_equal(phase_rng(root, 3, "update").random(4), a)
    assert not np.array_equal(phase_rng(root, 4, "update").random(4), a)
    assert not np.array_equal(phase_rng(root, 3, "adapt").random(4), a)


def _first_epoch(adaptive_share: float):
    model = StreamingModel(load(None, {**SMALL, "artists.adaptation.adaptive_share": adaptive_share}))
    record = model.step()
    lis = model.listeners
    return record, lis


def test_adaptation_does_not_shift_churn_or_arrivals():
    """Epoch 0, before adaptation can have any effect: the same churn and the same arrivals
    whether or not artists adapt (adaptation draws only when someone adapts)."""
    off, lis_off = _first_epoch(0.0)
    on, lis_on = _first_epoch(0.5)
    assert on.arrivals == off.arrivals > 0 and on.churned == off.churned > 0
    np.testing.assert_array_equal(lis_on.active, lis_off.active)
    np.testing.assert_array_equal(lis_on.taste, lis_off.taste)        # arrivals' tastes, and drift
    np.testing.assert_array_equal(lis_on.budget_s, lis_off.budget_s)
    np.testing.assert_array_equal(on.events.track, off.events.track)  # the same listening


def test_the_metric_seed_is_drawn_per_run_seed_and_epoch():
    """The sampled metrics (pairs, diversity and evaluation listeners) take their seed from the
    run seed and the epoch: a fresh sample every epoch and in every replicate run, the same one
    when a run is repeated. A fixed metric seed would let replicate runs share their samples."""
    tiny = {"listeners.count": 300, "artists.count": 40}
    seeds = {}
    for run_seed in (5, 6, 5):
        model = StreamingModel(load(None, {**tiny, "run.seed": run_seed}))
        drawn = [model.step().metric_seed for _ in range(2)]
        assert seeds.setdefault(run_seed, drawn) == drawn          # same run seed, same samples
    assert seeds[5][0] != seeds[5][1]                               # another epoch, another sample
    assert seeds[5][0] != seeds[6][0] and seeds[5][1] != seeds[6][1]  # another run, another sample
