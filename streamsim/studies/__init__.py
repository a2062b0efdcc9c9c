"""Runs, sweeps and calibration: turning scenarios into results on disk."""
