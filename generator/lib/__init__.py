"""Plumbing beside the product: field encryption, the SSRF guard, image validation and
renditions, media storage, log redaction, client addresses and sign-in throttling. Nothing
here imports the product's models."""
