"""Early skips as negative feedback (``skip_signal``) with `implicit`'s semantics, and the one
stream threshold that the ledger, listeners and stream farms read. (The ALS solves and loss with
negative entries are checked against `implicit` in tests/test_als.py.)"""

from __future__ import annotations

import mesa
import numpy as np
import pytest
import scipy.sparse as sp

from streamsim.agents.catalog import Catalog
from streamsim.agents.listeners import ListenerPopulation
from streamsim.agents.world import World
from streamsim.core import config
from streamsim.core.codes import Channel
from streamsim.core.events import Events
from streamsim.recommender.als import ALS, fit_als
from streamsim.recommender.base import FitContext, positive
from streamsim.sim.ledger import Ledger


def catalog(lengths) -> Catalog:
    n = len(lengths)
    cat = Catalog(d_style=2, audio_dim=2, tags_per_track=1)
    cat.append(artist=np.zeros(n), genre=np.zeros(n), style=np.ones((n, 2)), quality=np.zeros(n),
               length_s=np.asarray(lengths, float), intro_s=np.zeros(n), release_epoch=np.zeros(n),
               audio=np.eye(n, 2), tags=np.zeros((n, 1)), explicit=np.zeros(n, bool),
               regions=np.ones(n, np.uint32), fraud=np.zeros(n, bool))
    return cat


def events(listener, track, seconds) -> Events:
    n = len(listener)
    return Events(listener=listener, track=track, channel=np.full(n, int(Channel.SEARCH)), seconds=seconds,
                  utility=np.zeros(n), saved=np.zeros(n, bool))


def signed_matrix(seed=0, L=80, T=60) -> sp.csr_matrix:
    rng = np.random.default_rng(seed)
    m = sp.random(L, T, density=0.1, format="csr", random_state=rng, dtype=np.float32)
    m.data = (np.log1p(10 * m.data) + 0.05).astype(np.float32)
    m.data[rng.random(m.nnz) < 0.3] *= -1     # a third are dislikes
    return m


def test_early_skips_are_kept_as_negative_entries():
    sc = config.load(None, ["listeners.behaviour.skip_signal=-0.5", "recommender.decay=0.5"])
    led = Ledger(sc)
    cat = catalog([200.0, 200.0, 20.0])
    # listener 0 skips track 0 early twice; listener 1 streams track 1 then skips it once;
    # listener 2 plays the 20-second track 2 to its end (not a stream, not an early skip)
    led.record(events([0, 0, 1, 1, 2], [0, 0, 1, 1, 2], [3.0, 10.0, 200.0, 5.0, 20.0]), cat, 3, 0)
    R = led.interactions().toarray()
    assert R[0, 0] == pytest.approx(-1.0) and R[1, 1] == pytest.approx(0.5) and R[2, 2] == pytest.approx(1.0)
    led.record(events([0], [1], [200.0]), cat, 3, 1)
    R = led.interactions().toarray()
    assert R[0, 0] == pytest.approx(-0.5) and R[0, 1] == pytest.approx(1.0)   # decayed, kept


def test_without_a_skip_signal_every_entry_is_a_play():
    led = Ledger(config.load(None, []))
    led.record(events([0, 0, 1], [0, 1, 1], [3.0, 200.0, 29.0]), catalog([200.0, 200.0]), 2, 0)
    R = led.interactions()
    assert (R.data > 0).all() and R.nnz == 1 and R[0, 1] == pytest.approx(1.0)


def test_a_dislike_pulls_the_prediction_of_a_promising_item_towards_zero():
    """Preference 0 with confidence |c|: the model is told the user does not want the item, more
    firmly than for an unplayed one, so an item it would have recommended scores lower."""
    m = abs(signed_matrix(7))
    user = 0
    X, Y = fit_als(m, 8, 10, 0.1, 10.0, seed=0, solver="cholesky")
    unplayed = np.setdiff1d(np.arange(m.shape[1]), m[user].indices)
    item = int(unplayed[np.argmax(X[user] @ Y[unplayed].T)])
    before = float(X[user] @ Y[item])
    mm = m.tolil()
    mm[user, item] = -2.0
    X, Y = fit_als(mm.tocsr(), 8, 10, 0.1, 10.0, seed=0, solver="cholesky")
    after = float(X[user] @ Y[item])
    assert before > 0.1 and abs(after) < 0.5 * before


def test_models_that_ignore_dislikes_see_plays_only():
    m = signed_matrix(8)
    plays = positive(m)
    assert plays.nnz == int((m.data > 0).sum()) and (plays.data > 0).all()
    cfg = config.load(None, []).recommender
    rec = ALS(cfg, 0)
    cat = catalog(np.full(m.shape[1], 200.0))
    rec.fit(m, FitContext(0, cat, np.zeros((m.shape[0], 2), np.float32), 1.0, 1.0))
    np.testing.assert_allclose(rec.popularity, np.asarray(plays.sum(axis=0)).ravel(), rtol=1e-6)


def test_one_stream_threshold_for_ledger_listeners_and_farms():
    sc = config.load(None, ["listeners.behaviour.stream_threshold_s=45", "listeners.count=3",
                            "listeners.satisfaction_rate=1.0", "listeners.skip_frustration=1.0"])
    cat = catalog([200.0])
    led = Ledger(sc)
    ev = events([0, 1], [0, 0], [40.0, 45.0])
    led.record(ev, cat, 3, 0)
    assert led.stream.tolist() == [False, True] and led.track_early_skips_last.tolist() == [1]
    world = World.generate(sc, np.random.default_rng(0))
    pop = ListenerPopulation(mesa.Model(rng=np.random.default_rng(0)), sc, world, np.random.default_rng(1))
    pop.update(ev, cat, 0, np.random.default_rng(0))
    # a 40-second play is an early skip under a 45-second threshold: frustration 1 for listener 0
    assert pop.satisfaction[0] == pytest.approx(-1.0) and pop.satisfaction[1] == pytest.approx(0.0)
