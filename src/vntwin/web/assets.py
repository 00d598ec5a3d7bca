"""Static files of the pages: our own CSS and JS, and MapLibre GL from its npm package.

MapLibre is installed by npm at set-up time (``package.json``, ``npm ci``) and served from
``node_modules`` as it is: nothing built is committed and nothing is fetched at run time.
Its CSP build is used, whose worker is a file we serve (no ``blob:`` scripts).
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

STATIC_DIR = Path(__file__).parent / "static"
MAPLIBRE_FILES = ("maplibre-gl-csp.js", "maplibre-gl-csp-worker.js", "maplibre-gl.css")


@lru_cache(maxsize=1)
def maplibre_dir() -> Path | None:
    """``node_modules/maplibre-gl/dist``: under ``$VNTWIN_NODE_MODULES``, else the nearest
    ``node_modules`` above the working directory or above this source file.
    """
    env = os.environ.get("VNTWIN_NODE_MODULES")
    bases = [Path(env)] if env else []
    for start in (Path.cwd(), Path(__file__).resolve()):
        bases += [folder / "node_modules" for folder in (start, *start.parents)]
    for base in bases:
        dist = base / "maplibre-gl" / "dist"
        if all((dist / name).is_file() for name in MAPLIBRE_FILES):
            return dist
    return None


def maplibre_available() -> bool:
    """Whether the map can be drawn (else the page says how to install it)."""
    return maplibre_dir() is not None
