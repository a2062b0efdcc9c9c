"""Global sensitivity analysis of a sweep: a sampling design instead of a grid, and its indices.

A sweep file with a ``[sample]`` table (and no grid or zip) runs the points of a Morris
(elementary effects) or Sobol (Saltelli) design drawn by SALib over the given bounds, each with
the sweep's seeded replications (common random numbers across points). After the runs,
``sensitivity.parquet`` holds, per output metric and parameter, Morris mu (signed), mu*, its
confidence and sigma, or Sobol first-order and total indices with their confidences::

    [sample]
    method = "morris"              # or "sobol"
    n = 10                         # Morris trajectories, or Sobol base samples (a power of 2)
    levels = 4                     # Morris grid levels
    seed = 1
    outputs = ["stream_top1_share_artists", "payout_gini_pro_rata"]   # default: headline metrics
    [sample.bounds]
    "channels.search_popularity_exponent" = [1.0, 3.0]
    "recommender.regularization" = { low = 0.1, high = 10.0, log = true }

Integer parameters are rounded. Shares of ``channels.mix`` that are sampled keep the mix
summing to 1 by rescaling the shares that are not sampled (docs/MODEL.md section 6).
"""

from __future__ import annotations

import math
import warnings
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, field_validator

MIX = "channels.mix."


class Bound(BaseModel):
    """The range of one sampled parameter; ``log`` samples uniformly in log10."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    low: float
    high: float
    log: bool = False


class SampleSpec(BaseModel):
    """The ``[sample]`` table of a sweep file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    method: Literal["morris", "sobol"] = Field(description="elementary effects (screening) or Sobol indices")
    n: int = Field(ge=2, le=100_000, description="Morris trajectories, or Sobol base samples (a power of 2)")
    levels: int = Field(4, ge=2, le=100, description="Morris: levels of the grid")
    seed: int = Field(0, ge=0, le=2**32 - 1, description="seed of the design")
    outputs: list[str] = Field(default_factory=list, description="metrics to analyse (default: headline)")
    bounds: dict[str, Bound] = Field(description="dotted key -> [low, high] or {low, high, log}")

    @field_validator("bounds", mode="before")
    @classmethod
    def _pairs(cls, value: Any) -> Any:
        if not isinstance(value, dict) or not value:
            raise ValueError("expected a table of dotted keys -> [low, high]")
        out = {}
        for key, bound in _flat(value).items():
            if isinstance(bound, list):
                if len(bound) != 2:
                    raise ValueError(f"{key}: expected [low, high], got {bound!r}")
                bound = {"low": bound[0], "high": bound[1]}
            out[key] = bound
        return out

    @field_validator("bounds")
    @classmethod
    def _ordered(cls, value: dict[str, Bound]) -> dict[str, Bound]:
        for key, b in value.items():
            if not b.low < b.high:
                raise ValueError(f"{key}: low must be below high, got [{b.low}, {b.high}]")
            if b.log and b.low <= 0:
                raise ValueError(f"{key}: a log range must be positive, got low {b.low}")
        return value

    @field_validator("n")
    @classmethod
    def _power_of_two(cls, value: int, info) -> int:
        if info.data.get("method") == "sobol" and value & (value - 1):
            raise ValueError(f"Sobol base samples must be a power of 2, got {value}")
        return value


def _flat(data: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in data.items():
        if isinstance(value, dict) and not {"low", "high"} <= set(value):
            out.update(_flat(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def problem(spec: SampleSpec) -> dict[str, Any]:
    """SALib's problem: names and bounds (log10 of the bounds for log parameters)."""
    names = list(spec.bounds)
    bounds = [[math.log10(b.low), math.log10(b.high)] if b.log else [b.low, b.high] for b in spec.bounds.values()]
    return {"num_vars": len(names), "names": names, "bounds": bounds}


def design(spec: SampleSpec) -> np.ndarray:
    """The sample matrix (rows = points, columns = parameters), in SALib's scale (log10 for log)."""
    from SALib.sample import morris, sobol

    prob = problem(spec)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")   # SALib's notes on sample sizes; n is validated above
        if spec.method == "morris":
            return morris.sample(prob, spec.n, num_levels=spec.levels, seed=spec.seed)
        return sobol.sample(prob, spec.n, calc_second_order=False, seed=spec.seed)


def points(spec: SampleSpec, base) -> list[dict[str, Any]]:
    """The design's points as scenario overrides: log parameters exponentiated, integer parameters
    rounded, and a sampled channel mix completed so that it sums to 1."""
    X = design(spec)
    keys = list(spec.bounds)
    logs = np.array([b.log for b in spec.bounds.values()], bool)
    values = X.copy()
    values[:, logs] = 10.0 ** X[:, logs]
    base_data = base.model_dump()
    out = []
    for row in values:
        point: dict[str, Any] = {}
        for key, value in zip(keys, row):
            current = _get(base_data, key)
            point[key] = int(round(value)) if isinstance(current, int) and not isinstance(current, bool) else float(value)
        out.append(_complete_mix(point, base_data["channels"]["mix"]))
    return out


def _get(data: dict[str, Any], key: str) -> Any:
    node: Any = data
    for part in key.split("."):
        node = node.get(part) if isinstance(node, dict) else None
    return node


def _complete_mix(point: dict[str, Any], base_mix: dict[str, float]) -> dict[str, Any]:
    sampled = {k.removeprefix(MIX): v for k, v in point.items() if k.startswith(MIX)}
    if not sampled:
        return point
    rest = {c: s for c, s in base_mix.items() if c not in sampled}
    left = 1.0 - sum(sampled.values())
    total = sum(rest.values())
    for c, s in rest.items():
        point[MIX + c] = s * left / total if total > 0 else 0.0
    return point


def analyse(spec: SampleSpec, summary: pd.DataFrame, n_points: int, metrics: list[str]) -> pd.DataFrame:
    """Sensitivity indices per metric and parameter from a sweep's summary table.

    Each point's output is its summary mean (over replications, after the burn-in). Rows:
    method, metric, param and mu (signed mean elementary effect), mu_star, mu_star_conf, sigma (Morris) or S1, S1_conf, ST, ST_conf
    (Sobol). A metric with a missing point (a failed run) or no variance is left out.
    """
    from SALib.analyze import morris, sobol

    prob = problem(spec)
    X = design(spec)
    rows = []
    for metric in metrics:
        y = summary[summary["metric"] == metric].set_index("config")["mean"].reindex(range(n_points))
        if y.isna().any() or np.nanstd(y.to_numpy(float)) == 0:
            continue
        Y = y.to_numpy(float)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if spec.method == "morris":
                si = morris.analyze(prob, X, Y, num_levels=spec.levels, seed=spec.seed)
                for i, name in enumerate(prob["names"]):
                    rows.append({"method": "morris", "metric": metric, "param": name,
                                 "mu": float(si["mu"][i]), "mu_star": float(si["mu_star"][i]), "mu_star_conf": float(si["mu_star_conf"][i]),
                                 "sigma": float(si["sigma"][i])})
            else:
                si = sobol.analyze(prob, Y, calc_second_order=False, seed=spec.seed)
                for i, name in enumerate(prob["names"]):
                    rows.append({"method": "sobol", "metric": metric, "param": name,
                                 "S1": float(si["S1"][i]), "S1_conf": float(si["S1_conf"][i]),
                                 "ST": float(si["ST"][i]), "ST_conf": float(si["ST_conf"][i])})
    return pd.DataFrame(rows)
