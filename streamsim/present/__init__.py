"""Presentation: summaries, progress, figures and reports."""
