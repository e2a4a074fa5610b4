"""Short links (SPEC 2.8): codes, long-URL rules, bot URLs, who clicked; pure but service."""
