"""Background work: the call-state model, the retry policy (pure), the dispatcher loop."""
