"""T-RECS 0.2.1's ImplicitMF on the workload of scenarios/trecs_workload.toml, as a whole process.

Runs in a separate environment with T-RECS (it pins pandas 1.0.5, so Python 3.8):

    python3.8 -m venv /tmp/trecs && /tmp/trecs/bin/pip install trecs==0.2.1
    /tmp/trecs/bin/python benchmarks/trecs_workload.py

10,000 users, 5,000 items, 10 latent factors, a slate of 10 items per user per step, LensKit's
ImplicitMF refitted with 20 iterations between steps (on every interaction so far), 20 steps,
no repeated items (`python trecs_workload.py USERS ITEMS STEPS` for a smaller check).
benchmarks/peers.py times this script and `streamsim run` side by side.
"""

import sys
import time

import numpy as np
from trecs.models import ImplicitMF

USERS, ITEMS, FACTORS, SLATE, ITERATIONS, STEPS, SEED = 10_000, 5_000, 10, 10, 20, 20, 1


def main() -> None:
    users, items, steps = (int(x) for x in sys.argv[1:4]) if len(sys.argv) > 3 else (USERS, ITEMS, STEPS)
    np.random.seed(SEED)
    start = time.perf_counter()
    model = ImplicitMF(num_users=users, num_items=items, num_latent_factors=FACTORS,
                       num_items_per_iter=SLATE, model_params={"iterations": ITERATIONS}, seed=SEED)
    setup = time.perf_counter() - start
    model.run(timesteps=steps, train_between_steps=True, repeated_items=False)
    print(f"T-RECS ImplicitMF: setup {setup:.1f} s, loop {time.perf_counter() - start - setup:.1f} s")


if __name__ == "__main__":
    main()
