"""Flow traces (issue 26): every envelope's request and answer, kept, searched, replayed.

* ``record``   what a trace holds, built from an answered envelope (pure): secrets
               "***" by the one rule (``redact``), long values cut and marked
* ``recorder`` the bounded in-memory queue the envelope route hands answers to, and
               the batch writer that stores them off the hot path
* ``search``   a client's traces by filter, newest first, by keyset; one by requestId
* ``export``   traces as SPEC 5 replay cases (pure), moment-dependent values as "*"
"""
