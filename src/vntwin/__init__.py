"""vntwin: one catalogue, one digital twin of the territory, shared APIs."""

__version__ = "0.1.0"
