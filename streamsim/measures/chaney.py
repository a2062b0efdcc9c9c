"""Chaney, Stewart & Engelhardt (2018)'s measures, against an ideal arm on common random numbers.

Chaney et al. measure homogenisation as T-RECS's replication encodes it
(``SimilarUserInteractionSimilarity`` in its algo_confounding experiments): each user is paired
with the user the recommender finds most similar (highest cosine of the recommender's user
representations, ties at random); the Jaccard index of the two users' *cumulative* consumed
sets is averaged over the pairs; the same pairs' Jaccard under the ideal recommender (which
ranks by true utility) is subtracted. Utility is reported relative to the ideal arm's.

The ideal arm is a shadow run (``streamsim.sim.ideal.IdealArm``): the same scenario and seed
with ``recommender.kind = "oracle"``, stepped in the same process, one epoch per epoch of the
measured run. Both runs draw the same world, listeners and releases, so the comparison is
paired. A run of the oracle arm compares with a shadow of itself, and its measures are exactly 0
(change) and 1 (utility). Each record carries both sides (``EpochRecord.ideal``); the metrics
registered below compute the measures from it (0.0 when ``metrics.chaney`` is off). Ties in the
pairing are broken by a generator of their own, seeded from the record's metric seed.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from streamsim.measures.metrics import Consumption, jaccard_mean
from streamsim.measures.registry import metric
from streamsim.measures.view import EpochView

CHANEY_COLUMNS = ("chaney_jaccard", "chaney_jaccard_ideal", "chaney_jaccard_change_vs_ideal",
                  "utility_vs_ideal")
"""The measures' columns of metrics.parquet (docs/MODEL.md section 5); 0.0 when ``metrics.chaney`` is off."""

GROUP = "Chaney et al. (2018) measures (metrics.chaney; 0 when off)"
TIE_BREAK_KEY = 0xC4A7E1
"""Spawn key of the pairing's tie-breaking generator under the record's metric seed."""


def nearest_users(vectors: np.ndarray | None, n: int, rng: np.random.Generator) -> np.ndarray:
    """For each of n users, the other user whose vector has the highest cosine with its own.

    Ties (including users without a vector, or a zero vector, whose cosine with everyone is 0)
    are broken uniformly at random. ``vectors`` None means the recommender has no user
    representation (random, popularity): every user is then paired with a uniformly random
    other user, which is what T-RECS's random and popularity models amount to.

    Args:
        vectors: (m, f) user representations for users 0..m-1 (m may be below n), or None.
        n: number of users.
        rng: tie-breaking generator.
    Returns:
        int64 (n,) the partner of each user (never the user itself; -1 if n < 2).
    """
    if n < 2:
        return np.full(n, -1, np.int64)
    if vectors is None:
        return (np.arange(n) + rng.integers(1, n, n)) % n
    v = np.zeros((n, np.shape(vectors)[1]), np.float64)
    m = min(n, len(vectors))
    v[:m] = np.asarray(vectors, np.float64)[:m]
    norms = np.linalg.norm(v, axis=1, keepdims=True)
    v = np.divide(v, norms, out=np.zeros_like(v), where=norms > 0)
    sim = v @ v.T
    np.fill_diagonal(sim, -np.inf)
    best = sim.max(axis=1, keepdims=True)
    tie_keys = np.where(sim == best, rng.random((n, n)), -1.0)
    return np.argmax(tie_keys, axis=1).astype(np.int64)


def consumption_of(consumed: sp.spmatrix) -> Consumption:
    """Cumulative consumed sets (rows of a listeners x tracks matrix) as sorted CSR rows."""
    m = sp.csr_matrix(consumed, dtype=bool, copy=True)
    m.sum_duplicates()
    m.eliminate_zeros()
    m.sort_indices()
    return Consumption(m.indptr.astype(np.int64), m.indices.astype(np.int32))


def paired_jaccard(sets: Consumption, partner: np.ndarray) -> float:
    """Mean Jaccard index of each user's set with its partner's (users with partner -1 skipped)."""
    users = np.flatnonzero(np.asarray(partner) >= 0)
    return jaccard_mean(sets, np.stack([users, np.asarray(partner)[users]], axis=1))


def measures(partner: np.ndarray, arm_consumed: sp.spmatrix, ideal_consumed: sp.spmatrix,
             arm_utility: float, ideal_utility: float) -> dict[str, float]:
    """The four columns of :data:`CHANEY_COLUMNS` from one epoch of both arms.

    Args:
        partner: (n,) each user's most similar user under the measured arm's recommender.
        arm_consumed, ideal_consumed: (n x T) cumulative consumption of the measured and ideal arms.
        arm_utility, ideal_utility: mean true utility of the epoch's consumption in each arm.
    """
    j_arm = paired_jaccard(consumption_of(arm_consumed), partner)
    j_ideal = paired_jaccard(consumption_of(ideal_consumed), partner)
    ratio = arm_utility / ideal_utility if ideal_utility != 0 else float("nan")
    return {"chaney_jaccard": j_arm, "chaney_jaccard_ideal": j_ideal,
            "chaney_jaccard_change_vs_ideal": j_arm - j_ideal, "utility_vs_ideal": ratio}


def of_view(v: EpochView) -> dict[str, float] | None:
    """The four measures of an epoch (computed once per view), None without ``metrics.chaney``."""
    ideal = v.record.ideal
    if ideal is None:
        return None
    if "_chaney" not in v.__dict__:
        rng = np.random.default_rng(np.random.SeedSequence(v.record.metric_seed, spawn_key=(TIE_BREAK_KEY,)))
        partner = nearest_users(ideal.user_vectors, ideal.consumed.shape[0], rng)
        v.__dict__["_chaney"] = measures(partner, ideal.consumed, ideal.ideal_consumed, ideal.utility,
                                         ideal.ideal_utility)
    return v.__dict__["_chaney"]


def _column(name: str):
    def read(v: EpochView) -> float:
        values = of_view(v)
        return values[name] if values is not None else 0.0
    return read


metric("chaney_jaccard", "Jaccard (0-1)", "Jaccard of nearest-user pairs",
       "J of the run's cumulative consumption over its nearest-user pairs", GROUP)(_column("chaney_jaccard"))
metric("chaney_jaccard_ideal", "Jaccard (0-1)", "Jaccard of the same pairs under the ideal",
       "J of the ideal arm's cumulative consumption over the same pairs", GROUP)(_column("chaney_jaccard_ideal"))
metric("chaney_jaccard_change_vs_ideal", "Jaccard difference (-1 to 1)", "change in Jaccard against the ideal",
       "chaney_jaccard − chaney_jaccard_ideal (Chaney et al.'s homogenisation)",
       GROUP)(_column("chaney_jaccard_change_vs_ideal"))
metric("utility_vs_ideal", "ratio (ideal = 1)", "utility relative to the ideal",
       "mean true utility of the epoch's plays / the ideal arm's (Chaney et al.'s relative utility; meant for "
       "utilities > 0, as under the dirichlet model)", GROUP)(_column("utility_vs_ideal"))
