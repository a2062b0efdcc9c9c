"""Units and fixed constants: one definition each.

An epoch is one simulated week. Every other time unit and every real-world reference figure the
model scales by is defined here and nowhere else.
"""

from __future__ import annotations

EPOCHS_PER_YEAR = 52
"""Weeks in a year: one epoch is a week."""

EPOCHS_PER_MONTH = EPOCHS_PER_YEAR / 12.0
"""Epochs in a month (52/12). Monthly money and monthly bars are divided by this."""

SECONDS_PER_MINUTE = 60.0

SECONDS_PER_EPOCH = 7 * 24 * 3600.0
"""A week: no listening budget can exceed it."""

SKIP_WINDOWS_S = (5.0, 30.0)
"""The windows of Lamere's (2014) skip measurements, "skipped within 5 s" and "within 30 s",
that calibration target C1 and the metrics skip_share_5s / skip_share_30s read. They are
measurement windows; the stream rule is the parameter listeners.behaviour.stream_threshold_s."""

REAL_STREAMS_PER_YEAR = 4.1e12
"""Global on-demand audio streams in 2023 (Luminate 2023 Year-End Music Report)."""

REAL_TRACKS = 152.2e6 / 0.827
"""Audio ISRCs tracked by Luminate in 2023: 152.2 M tracks had < 1,000 streams, 82.7 % of all."""

REAL_ARTISTS = 10.0e6
"""Artists who have uploaded at least one track (Spotify, Loud & Clear 2024: "more than ten million")."""

REAL_STREAMS_PER_TRACK_EPOCH = REAL_STREAMS_PER_YEAR / REAL_TRACKS / EPOCHS_PER_YEAR
"""About 428.5 streams per track per week on a real platform."""

REAL_STREAMS_PER_ARTIST_EPOCH = REAL_STREAMS_PER_YEAR / REAL_ARTISTS / EPOCHS_PER_YEAR
"""About 7,900 streams per artist per week on a real platform."""

REAL_USD_PER_STREAM = 0.004
"""A blended real per-stream payout (USD): the middle of calibration target C9's band $0.003-0.005
(Spotify's effective rate, about $0.0033-0.0042). Money bars are scaled to the platform by the
simulated per-stream value over this one."""
