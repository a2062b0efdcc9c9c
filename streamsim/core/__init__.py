"""The bottom layer: units, codes, the scenario schema, events and registries.

Nothing here imports any other part of streamsim; everything else may import it.
"""
