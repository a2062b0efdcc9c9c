"""The built-in recommender kinds, registered by name in ``streamsim.core.registry.RECOMMENDERS``.

Each is given as "module:class" and imported only when a scenario builds it, so validating a
scenario loads no model code. A plugin registers a class (or any factory taking the
recommender section and a SeedSequence) the same way, e.g. ``RECOMMENDERS.add("mine", Mine)``.
"""

from __future__ import annotations

from streamsim.core.registry import RECOMMENDERS

RECOMMENDERS.add("als", "streamsim.recommender.als:ALS")
RECOMMENDERS.add("bpr", "streamsim.recommender.bpr:BPR")
RECOMMENDERS.add("popularity", "streamsim.recommender.baselines:Popularity")
RECOMMENDERS.add("random", "streamsim.recommender.baselines:Random")
RECOMMENDERS.add("content", "streamsim.recommender.baselines:Content")
RECOMMENDERS.add("oracle", "streamsim.recommender.baselines:Oracle")
RECOMMENDERS.add("none", None)
"""No recommender: the personalised and radio channels are empty and their shares go elsewhere."""
