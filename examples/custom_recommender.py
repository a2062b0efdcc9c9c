"""A custom recommender in 30 lines: fresh hits, i.e. popularity discounted by a track's age.

Run it: ``python examples/custom_recommender.py`` (``--listeners``/``--epochs``/``--burn-in`` to shrink it).
It is registered as the kind "fresh_hits", so ``recommender.kind = "fresh_hits"`` validates in
any scenario once this module is imported, and it can also be handed to a model directly.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import streamsim
from streamsim.core.registry import RECOMMENDERS
from streamsim.recommender.base import FitInfo, Recommender


class FreshHits(Recommender):
    """Score = plays in the decayed matrix x exp(-age / half_life): yesterday's hits, fading."""

    name = "fresh_hits"
    half_life_epochs = 8.0

    def fit(self, interactions, ctx) -> FitInfo:
        t0 = time.perf_counter()
        self._remember(interactions, ctx)          # shapes, popularity, catalog, epoch
        age = ctx.epoch - ctx.catalog.release_epoch[: self.n_items]
        self.fresh = (self.popularity * np.exp(-np.maximum(age, 0) / self.half_life_epochs)).astype(np.float32)
        return FitInfo(time.perf_counter() - t0, float("nan"))

    def _known(self, users):
        return np.ones(len(users), np.bool_)       # everyone gets the same ranking

    def _scores(self, users):
        return np.broadcast_to(self.fresh, (len(users), self.n_items))


RECOMMENDERS.add("fresh_hits", FreshHits)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--listeners", type=int, default=5000)
    ap.add_argument("--epochs", type=int, default=12)
    ap.add_argument("--burn-in", type=int, default=None, help="burn-in epochs (default: the scenario's)")
    args = ap.parse_args()
    burn = {} if args.burn_in is None else {"run__burn_in_epochs": args.burn_in}
    scenario = streamsim.load("scenarios/baseline.toml", listeners__count=args.listeners,
                              artists__count=max(args.listeners // 10, 20), **burn)
    for kind in ("als", "fresh_hits"):
        m = streamsim.simulate(scenario.replace(**{"recommender.kind": kind}), epochs=args.epochs).metrics
        m = m[m["burn_in"] == 0]
        last = m.iloc[len(m) // 2:]
        print(f"{kind:>10}: utility {last['mean_true_utility'].mean():.3f}, new-artist stream share "
              f"{last['new_artist_stream_share'].mean():.4f}, regret {last['rec_regret_vs_oracle'].mean():.3f}")


if __name__ == "__main__":
    main()
