"""The catalogue: organisations, datasets, resources, users, tokens, audit log."""
