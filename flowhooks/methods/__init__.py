"""Methods of the envelope: the registry, the loader of built-in and plug-in handler modules,
and the engine that runs one envelope against them."""
