"""Getting a company's history in.

Native per-table files (``ingest``), flat CRM exports read through a TOML mapping (``flat``,
with shipped ``presets/``), and the data-quality findings shown on the Data page
(``quality``). Every import is one batch written through :func:`analysis.store.write_session`.
"""
