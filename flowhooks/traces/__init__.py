"""Flow traces (issue 26): every envelope's request and answer, kept, searched, replayed.

* ``record``   what a trace holds, built from an answered envelope (pure): secrets
               "***" by the one rule (``redact``), long values cut and marked
* ``recorder`` what the envelope route hands answers to: their captures, bounded, sent
               to the writer process (and that process started, watched, restarted)
* ``writer``   the batch writer that shapes and stores them, and the writer process's
               main (``python -m flowhooks.traces.writer``)
* ``search``   a client's traces by filter, newest first, by keyset; one by requestId
* ``export``   traces as SPEC 5 replay cases (pure), moment-dependent values as "*"
"""
