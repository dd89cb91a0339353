"""Getting a company's history in.

Native per-table files (``ingest``), flat CRM exports read through a TOML mapping (the
``flat`` package, with shipped ``presets/``; rules in ``docs/importing.md``), TOML text
(``tomltext``), and the data-quality findings shown on the Data page (``quality``, with
``history_findings`` and ``personal``). Every import is one batch written through
:func:`analysis.store.write_session`.
"""
