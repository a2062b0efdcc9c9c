"""streamsim: an agent-based simulator of a music-streaming ecosystem."""
