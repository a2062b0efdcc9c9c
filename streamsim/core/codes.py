"""Integer codes stored in arrays: listening channels, artist tiers and contracts."""

from __future__ import annotations

from enum import IntEnum


class Channel(IntEnum):
    """Where an exposure came from (``Events.channel``, the columns of a listener's mix)."""

    LIBRARY = 0        # the listener's own saved tracks
    PERSONALISED = 1   # the recommender's slate ("Discover Weekly")
    RADIO = 2          # radio / autoplay from a played track
    EDITORIAL = 3      # editorial playlists of the listener's genres
    SEARCH = 4         # search and word of mouth
    CONTEXT = 5        # context playlists (culture-tag match)


CHANNELS = tuple(c.name.lower() for c in Channel)
"""Channel names in code order: ``CHANNELS[Channel.RADIO] == "radio"``."""

SOUGHT = (Channel.LIBRARY, Channel.SEARCH)
"""Channels whose streams the listener actively sought (the artist-centric rule's double count)."""

PROGRAMMED = (Channel.PERSONALISED, Channel.RADIO, Channel.EDITORIAL)
"""Platform-programmed surfaces (calibration target C4)."""


class Tier(IntEnum):
    """An artist's tier: the top 1 % superstar, the next 9 % established, the rest emerging."""

    SUPERSTAR = 0
    ESTABLISHED = 1
    EMERGING = 2


class Contract(IntEnum):
    """Who releases an artist's music, and so who takes a cut of its payouts."""

    MAJOR = 0          # signed to a major label
    INDEPENDENT = 1    # on an independent label (or a label-services deal)
    SELF_RELEASED = 2  # released by the artist through a distributor
