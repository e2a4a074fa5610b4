"""Seams to the outside world, each a Protocol with a registry of backends found by name:
dialers (``dialer``; ``simulated``, ``startcall``), provider callback formats
(``providers/``), translators (``translate``) and NLU backends (``nlu``)."""
