"""Compare payout rules on one run and plot the winners and losers against pro-rata.

Every rule settles the same streams each epoch, so one run answers "how would the same streams
be split". For each artist the script totals what each rule paid over the run and plots the
gain or loss against pro-rata, by pro-rata rank (artists sorted from the biggest earner down).

Run it: ``python examples/compare_rules.py --out outputs/examples`` (``--listeners``/``--epochs``/``--burn-in``
to shrink it). It writes ``compare_rules.png`` and prints the biggest winners and losers.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
from matplotlib.figure import Figure  # noqa: E402

import streamsim  # noqa: E402
from streamsim.core.registry import PAYOUT_RULES  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--listeners", type=int, default=10_000)
    ap.add_argument("--epochs", type=int, default=26)
    ap.add_argument("--burn-in", type=int, default=None, help="burn-in epochs (default: the scenario's)")
    ap.add_argument("--out", type=Path, default=Path("outputs/examples"))
    args = ap.parse_args()
    burn = {} if args.burn_in is None else {"run__burn_in_epochs": args.burn_in}
    scenario = streamsim.load("scenarios/baseline.toml", listeners__count=args.listeners,
                              artists__count=max(args.listeners // 10, 20), **burn)
    artists = streamsim.simulate(scenario, epochs=args.epochs).artists
    artists = artists[~artists["burn_in"]]
    paid = artists.groupby("artist_id")[[f"payout_{r}" for r in PAYOUT_RULES.names()]].sum()
    paid = paid.sort_values("payout_pro_rata", ascending=False)

    fig = Figure(figsize=(8, 4.5), layout="constrained")
    ax = fig.subplots()
    rank = range(1, len(paid) + 1)
    for rule in PAYOUT_RULES.names():
        if rule == "pro_rata":
            continue
        gain = paid[f"payout_{rule}"] - paid["payout_pro_rata"]
        ax.plot(rank, gain, color=PAYOUT_RULES[rule].colour, label=PAYOUT_RULES[rule].label, linewidth=1.2)
        winners, losers = gain.nlargest(3), gain.nsmallest(3)
        print(f"{PAYOUT_RULES[rule].label}: winners " + ", ".join(f"artist {a} +${g:,.2f}" for a, g in winners.items())
              + "; losers " + ", ".join(f"artist {a} -${-g:,.2f}" for a, g in losers.items()))
    ax.axhline(0, color="grey", linewidth=0.8)
    ax.set_xscale("log")
    ax.set(xlabel="artist rank by pro-rata payout (1 = biggest earner)",
           ylabel=f"payout minus pro-rata over {args.epochs} weeks (USD)",
           title="Who gains and who loses against pro-rata, on the same streams")
    ax.legend(frameon=False)
    args.out.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.out / "compare_rules.png", dpi=120)
    print(f"figure: {args.out / 'compare_rules.png'}")


if __name__ == "__main__":
    main()
