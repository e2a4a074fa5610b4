"""Customer webhooks, pure: events and their variables, templates, signing, the retry
decision and the address guard. No I/O here; storage/outbox.py keeps the rows and
workers/delivery.py sends them."""
