"""What a caller said, understood without a cloud NLU (SPEC 2.10): pure functions.

``normalize`` cleans a recogniser's text; ``digits``, ``amounts``, ``yesno`` and
``dates`` extract one thing each; ``intents`` matches example phrases fuzzily.
"""
