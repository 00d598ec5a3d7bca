"""HTTP APIs: thin adapters from requests to subsystem functions."""
