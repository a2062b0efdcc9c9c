"""From payout to an artist's net income: the label's and the publisher's cuts, by contract.

A payout (what a rule pays for a track) goes to rights holders: a publishing share to the
songwriters and publishers, the rest to the recording's owner. The artist's net income is its
royalty on the recording side plus its songwriter's share of the publishing side
(docs/MODEL.md, section 5):

    net_a = P_a · ((1 − p) · r_k + p · w)

with p the publishing share, w the writer's share, and r_k the artist's share of the
recording income under contract k (major, independent, self-released).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from streamsim.core.codes import Contract

if TYPE_CHECKING:
    from streamsim.core.config import SplitsConfig


def royalty_rates(cfg: SplitsConfig) -> np.ndarray:
    """The artist's share of the recording income, indexed by :class:`Contract` code."""
    rates = np.zeros(len(Contract))
    rates[Contract.MAJOR] = cfg.major_royalty
    rates[Contract.INDEPENDENT] = cfg.independent_royalty
    rates[Contract.SELF_RELEASED] = cfg.self_released_royalty
    return rates


def net_shares(contract: np.ndarray, cfg: SplitsConfig) -> np.ndarray:
    """float64[A]: the share of each artist's payout that is the artist's net income."""
    recording = royalty_rates(cfg)[np.asarray(contract, np.int64)]
    return (1.0 - cfg.publishing_share) * recording + cfg.publishing_share * cfg.writer_share


def net_income(artist_payout: np.ndarray, contract: np.ndarray, cfg: SplitsConfig) -> np.ndarray:
    """float64[A]: each artist's net income from its payout ``P_a`` under its contract."""
    return np.asarray(artist_payout, np.float64) * net_shares(contract, cfg)
