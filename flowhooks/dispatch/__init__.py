"""Method dispatch: the registry, the loader of built-in and plug-in handlers, the engine."""
