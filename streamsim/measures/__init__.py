"""Measurement: the metrics of each epoch, read from the epoch's record."""
