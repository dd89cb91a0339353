"""What one import batch did: :class:`ImportResult` and the columns of its frames.

Every importer (native files whole or streamed, flat CRM exports, dry runs) returns one; the
Data page and ``handoff import`` word it per file and table (:mod:`analysis.imports.counts`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from analysis.store import TABLES

REFUSED_COLUMNS = ["table", "file", "row_number", "column", "reason", "raw", "problem"]
"""Columns of :attr:`ImportResult.refused`; ``problem`` is a short category of ``reason``."""
WARNED_COLUMNS = ["table", "file", "row_number", "column", "value", "reason", "problem"]
"""Columns of :attr:`ImportResult.warnings` and (without ``problem``) ``import_warnings``."""
WRITTEN_COLUMNS = ["file", "table", "rows"]
"""Columns of :attr:`ImportResult.written`: rows applied per input file and table."""


@dataclass
class ImportResult:
    """What one import batch did.

    Attributes
    ----------
    batch_id : str
        Identifier of the batch, also stored in ``import_batches`` and ``import_rejects``.
    accepted : dict of str to int
        Per table in the batch, number of rows applied (inserted or replacing a stored row
        with the same key); 0 for every table when a strict batch was refused.
    refused : DataFrame
        One row per refused input row: ``table``, ``file``, ``row_number`` (spreadsheet
        numbering, first data row = 2), ``column`` (the first column at fault), ``reason``
        (every problem found, in words), ``raw`` (the input row as CSV text) and
        ``problem`` (a short category of the first problem, for counting).
    applied : bool
        False when strict mode refused the whole batch and nothing was written.
    notes : list of str
        Remarks that did not refuse rows, e.g. ignored columns.
    warnings : DataFrame
        One row per value left empty in an accepted row (a bad value in an optional
        field, :func:`analysis.imports.checks.is_soft`): :data:`WARNED_COLUMNS`, kept in
        ``import_warnings``. The row itself is applied.
    written : DataFrame
        Rows applied (or, in a dry run, that would be) per input file and table
        (:data:`WRITTEN_COLUMNS`), in file order then table order.
    file_rows : dict of str to int
        Data rows read from each input file (blank rows left out), in file order.
    """

    batch_id: str
    accepted: dict[str, int]
    refused: pd.DataFrame
    applied: bool
    notes: list[str] = field(default_factory=list)
    warnings: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=WARNED_COLUMNS))
    written: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=WRITTEN_COLUMNS))
    file_rows: dict[str, int] = field(default_factory=dict)

    @property
    def exit_code(self) -> int:
        """0 when every row was accepted, 1 when some row was refused."""
        return 0 if self.refused.empty else 1

    def summary(self) -> pd.DataFrame:
        """Accepted and refused row counts per table, refusals broken down by problem.

        Returns
        -------
        DataFrame
            Columns ``table``, ``status`` ('accepted' or 'refused'), ``column`` (column at
            fault, '' for accepted rows), ``problem`` ('' for accepted rows) and ``rows``
            (number of input rows). One accepted line per table of the batch, then one
            line per (table, column, problem) with refusals, in table order.
        """
        order = {name: i for i, name in enumerate(TABLES)}
        lines = [
            {"table": t, "status": "accepted", "column": "", "problem": "", "rows": n}
            for t, n in self.accepted.items()
        ]
        if not self.refused.empty:
            counts = (
                self.refused.groupby(["table", "column", "problem"], sort=False)
                .size()
                .reset_index(name="rows")
            )
            counts.insert(1, "status", "refused")
            lines += counts.to_dict("records")
        out = pd.DataFrame(lines, columns=["table", "status", "column", "problem", "rows"])
        out["_order"] = out["table"].map(order)
        out = out.sort_values(["_order", "status"], kind="stable").drop(columns="_order")
        return out.reset_index(drop=True)
