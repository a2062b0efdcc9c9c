"""Where satisfaction comes from: mean utility and share of plays per channel, per recommender.

A diagnostic for ``docs/studies/engagement.md``: one seed of the engagement sweep's world
(``scenarios/sweeps/engagement.toml``'s ``[set]``) per arm, stepped through the burn-in and
``--recorded`` epochs; prints, per arm and channel, the share of plays and the mean realised
utility of the plays over the recorded epochs (satisfaction is the mean utility of a listener's
plays, less the early-skip penalty).

    .venv/bin/python benchmarks/engagement_channels.py [--arms als none] [--recorded 26]
"""

from __future__ import annotations

import argparse
import tomllib
from pathlib import Path

import numpy as np

from streamsim.core import config
from streamsim.core.codes import CHANNELS
from streamsim.sim.model import StreamingModel

ROOT = Path(__file__).resolve().parents[1]
SWEEP = ROOT / "scenarios" / "sweeps" / "engagement.toml"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arms", nargs="+", default=["als", "popularity", "none", "oracle"])
    parser.add_argument("--recorded", type=int, default=26)
    args = parser.parse_args()
    spec = tomllib.loads(SWEEP.read_text(encoding="utf-8"))
    print("arm         " + "  ".join(f"{c:>20s}" for c in CHANNELS) + "   (share of plays, mean utility)")
    for arm in args.arms:
        scenario = config.load((SWEEP.parent / spec["base"]).resolve(), {**spec["set"], "recommender.kind": arm})
        model = StreamingModel(scenario)
        plays = np.zeros(len(CHANNELS))
        utility = np.zeros(len(CHANNELS))
        for _ in range(scenario.run.burn_in_epochs + args.recorded):
            record = model.step()
            if record.epoch >= scenario.run.burn_in_epochs:
                channel = np.asarray(record.events.channel, np.int64)
                plays += np.bincount(channel, minlength=len(CHANNELS))
                utility += np.bincount(channel, weights=np.asarray(record.events.utility, np.float64),
                                       minlength=len(CHANNELS))
        share, mean = plays / plays.sum(), utility / np.maximum(plays, 1)
        print(f"{arm:11s} " + "  ".join(f"{s:9.3f} {m:+9.3f}  " for s, m in zip(share, mean))
              + f"  all {utility.sum() / plays.sum():+.3f}")


if __name__ == "__main__":
    main()
