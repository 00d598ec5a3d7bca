"""Measured data quality: the six dimensions of Vietnam's data standard ("đúng – đủ –
sạch – sống – thống nhất – dùng chung": accurate, sufficient, clean, live, unified,
shared), each a 0-100 score with the row-level findings behind it.

- rules and weights: ``rules.toml`` (:mod:`vntwin.quality.rules`);
- one module per dimension (:mod:`accurate`, :mod:`sufficient`, :mod:`clean`,
  :mod:`live`, :mod:`unified`, :mod:`shared`), each registering its checks;
- :mod:`scorer` runs them, :mod:`service` measures, stores and reads scores,
  :mod:`refresh` measures again after writes, :mod:`report` writes the HTML and CSV
  findings report, :mod:`extras` and :mod:`dqv` publish scores in ``package_show`` and
  DCAT (W3C DQV).

This package's ``__init__`` imports nothing, so the catalogue can import
:mod:`vntwin.quality.extras` without pulling in DuckDB or the twin.
"""
