"""Built-in handlers: one module per method, each with METHOD, Input, Output, handle."""
