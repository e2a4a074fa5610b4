"""HTTP routes other than the envelope: discovery, health, metrics (and /api/v1 later)."""
