"""Gather one epoch's metric inputs from the model: the only place metrics touch model state."""

from __future__ import annotations

import numpy as np

from streamsim.recommender.base import FitContext
from streamsim.recommender.baselines import Oracle
from streamsim.economics import payouts
from streamsim.measures.metrics import EpochInputs, slate_utility


def oracle_slate_utility(model, users: np.ndarray, k: int) -> np.ndarray:
    """Mean true utility of the oracle's top-k for ``users``, under the served slates' filters."""
    sc = model.config
    b = sc.listeners.behaviour
    if len(users) == 0:
        return np.zeros(0)
    oracle = Oracle(sc.recommender, 0)
    n_l, n_t = model.listeners.n, len(model.catalog)
    oracle.fit(model.ledger.interactions(n_l, n_t),
               FitContext(model.epoch, model.catalog, model.listeners.taste, b.w_taste, b.w_quality))
    exclude = model.ledger.recent_heard(n_l, n_t)
    items, _ = oracle.recommend(users, k, exclude=exclude)
    return slate_utility(users, items, model.listeners.taste, model.catalog.style, model.catalog.quality,
                         b.w_taste, b.w_quality, k)


def epoch_inputs(model, rng: np.random.Generator) -> EpochInputs:
    """Everything ``sim.metrics.collect`` and ``artist_rows`` need about the epoch just run."""
    sc = model.config
    led, cat, art, lis = model.ledger, model.catalog, model.artists, model.listeners
    ev = led.events
    mc = sc.metrics
    seed = int(rng.integers(2**31 - 1))
    slates, prev = model.slates, model.prev_slates
    slate_users = slates.personalised_users if slates is not None else np.zeros(0, np.int32)
    slate_items = slates.personalised_items if slates is not None else np.zeros((0, mc.k), np.int32)
    oracle_users = np.zeros(0, np.int32)
    oracle_util = np.zeros(0)
    if len(slate_users):
        pick = np.random.default_rng(seed).choice(len(slate_users), min(mc.eval_listeners, len(slate_users)),
                                                  replace=False)
        oracle_users = slate_users[np.sort(pick)]
        oracle_util = oracle_slate_utility(model, oracle_users, mc.k)
    scale = model.payout_scale()
    return EpochInputs(
        epoch=model.epoch,
        ev_listener=ev.listener, ev_track=ev.track, ev_channel=ev.channel, ev_seconds=ev.seconds,
        ev_utility=ev.utility, ev_stream=led.stream, ev_completed=led.completed,
        table=model.stream_table,
        track_artist=cat.artist, track_release_epoch=cat.release_epoch, track_length_s=cat.length_s,
        track_intro_s=cat.intro_s, track_style=cat.style, track_quality=cat.quality, track_fraud=cat.fraud,
        track_streams_total=led.track_streams_total[: len(cat)],
        artist_tier=art.tier, artist_major=art.major, artist_entry_epoch=art.entry_epoch,
        listener_active=lis.active & ~lis.is_bot, listener_taste=lis.taste,
        listener_satisfaction=lis.satisfaction,
        new_listeners=model.new_listeners, churned_listeners=model.churned_listeners,
        revenue=model.revenue, pool=payouts.pool_of(model.revenue, sc.payouts), payouts=model.settlement,
        living_usd_epoch=sc.payouts.living_usd_month / payouts.EPOCHS_PER_MONTH,
        reach_streams=payouts.threshold_bar(sc.payouts, payouts.Scale.of(scale, len(cat), art.n)),
        rec_fit_seconds=model.fit_info.seconds, rec_train_loss=model.fit_info.loss,
        slate_users=slate_users, slate_items=slate_items,
        prev_slate_users=prev.personalised_users if prev is not None else np.zeros(0, np.int32),
        prev_slate_items=prev.personalised_items if prev is not None else np.zeros((0, mc.k), np.int32),
        oracle_users=oracle_users, oracle_utility=oracle_util,
        w_taste=sc.listeners.behaviour.w_taste, w_quality=sc.listeners.behaviour.w_quality, seed=seed,
        jaccard_pairs=mc.jaccard_pairs, diversity_listeners=mc.diversity_listeners,
        eval_listeners=mc.eval_listeners, k=mc.k, new_window_epochs=52,
    )
