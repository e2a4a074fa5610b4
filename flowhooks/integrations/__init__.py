"""Seams to the outside world (dialers, ...) and their backends, one module each."""
