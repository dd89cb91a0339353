"""Reading one file's columns under a mapping, and wrapping derived rows as import parts.

A :class:`Reader` gives a file's cells with placeholders blanked, its dates parsed and
the raw cells a refusal may store; :func:`make_part` runs the native value checks
(:func:`analysis.imports.ingest.check_file`) on rows derived from the file.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from analysis.imports import ingest
from analysis.imports.flat.dates import DateColumn, parse_dates
from analysis.imports.flat.mapping import Mapping, lookup
from analysis.imports.flat.values import missing_mask
from analysis.imports.flat.vocab import FLAG_WORDS, NOT_SET, norm_name
from analysis.store import TABLES


@dataclass
class Source:
    """One input file, read and with its kind decided."""

    path: Path
    file: str
    kind: str
    data: pd.DataFrame
    cols: dict[str, str]  # normalised name -> name as written


def make_part(
    table: str,
    file: str,
    native: dict[str, pd.Series] | pd.DataFrame,
    raw: pd.DataFrame,
    faults: Sequence[pd.DataFrame] = (),
    *,
    follows: str | None = None,
    sources: dict[str, str] | None = None,
) -> ingest.Part:
    """Run the native value checks on derived text rows, then attach the input context."""
    frame = pd.DataFrame(native, index=raw.index)
    frame = frame.astype(object).where(frame.notna(), "").astype(str)
    part = ingest.check_file(TABLES[table], file, frame)
    part.raw = raw
    if faults:
        part.faults = ingest._concat_faults([part.faults, *faults])
    part.follows = follows
    part.sources = sources
    return part


@dataclass
class Reader:
    """Reads one file's columns under a mapping, collecting notes."""

    src: Source
    mapping: Mapping
    notes: list[str]

    def has(self, col: str) -> bool:
        """Whether the file has the column (names compared like headers)."""
        return norm_name(col) in self.src.cols

    def name(self, col: str) -> str:
        """The column's name as written in the file."""
        return self.src.cols.get(norm_name(col), col)

    def text(self, col: str) -> pd.Series:
        """Cells of an input column, '' where missing or a placeholder."""
        s = self.src.data[self.name(col)].astype(str).str.strip()
        return s.where(~missing_mask(s, self.mapping.placeholders), "")

    def dates(self, col: str) -> DateColumn:
        """The column parsed as dates (its format from the mapping or detected), noted."""
        fmt = lookup(self.mapping.date_formats, col)
        parsed = parse_dates(
            self.text(col),
            self.name(col),
            fmt=fmt,
            order=self.mapping.date_order,
            timezone=self.mapping.timezone,
            file=self.src.file,
        )
        if parsed.detected not in ("empty", "iso"):
            label = {"dmy": "day first", "mdy": "month first"}
            found = " + ".join(label.get(p, p.upper()) for p in parsed.detected.split("+"))
            how = "as named in the mapping" if fmt else "detected"
            self.notes.append(f"{self.src.file}: dates in {self.name(col)!r} read {found} ({how})")
        return parsed

    def raw(self, *cols: str) -> pd.DataFrame:
        """The file's cells of these columns (those in the file), for refusals."""
        names = [self.name(c) for c in cols if self.has(c)]
        return self.src.data[list(dict.fromkeys(names))]

    def raw_allowed(self, used: set[str], keep: str | tuple[str, ...]) -> pd.DataFrame:
        """The cells a refused row may store: mapped columns and kept properties.

        A column the mapping excludes (``[properties] exclude``), or does not keep, is
        never part of ``import_rejects.raw`` (it may hold personal data such as a phone).
        """
        excluded = {norm_name(c) for c in self.mapping.exclude}
        kept = None if keep == "rest" else {norm_name(c) for c in keep}
        names = [
            c
            for c in self.src.data.columns
            if norm_name(c) in used
            or (norm_name(c) not in excluded and (kept is None or norm_name(c) in kept))
        ]
        return self.src.data[names]


def standardise(values: pd.Series, table: dict[str, str] | None) -> pd.Series:
    """Spellings replaced by the ``[values.<field>]`` table (case and spacing ignored).

    A missing value ('') keeps missing unless the table relabels it with the key ``""``
    or ``"(not set)"``; a spelling relabelled ``"(not set)"`` becomes missing.
    """
    if not table:
        return values
    spelled = {re.sub(r"\s+", " ", k.strip().casefold()): v for k, v in table.items()}
    blank = spelled.pop("", None)
    blank = spelled.pop(NOT_SET, blank)
    keys = values.astype(str).str.strip().str.casefold().str.replace(r"\s+", " ", regex=True)
    mapped = keys.map(spelled)
    out = mapped.where(mapped.notna() & (values != ""), values)
    out = out if blank is None else out.where(values != "", blank)
    # A spelling relabelled "(not set)" becomes missing: the label never names a value.
    return out.where(out.astype(str).str.strip().str.casefold() != NOT_SET, "")


def flag_values(text: pd.Series) -> tuple[pd.Series, pd.Series]:
    """(True where yes, True where the cell is neither missing nor a yes/no word)."""
    lower = text.str.lower()
    known = lower.isin(list(FLAG_WORDS))
    yes = lower.map(FLAG_WORDS).astype(object).eq(True)
    return yes.astype(bool), (text != "") & ~known


OUT_OF_ORDER = "out of order"
"""Marks a stage entry's ``source_system`` when its date was before the lead's creation."""


def out_of_order_system(system: str, was: pd.Series) -> pd.Series:
    """``source_system`` of entries moved up to the lead's creation, naming the date given.

    E.g. ``olist (out of order, was 2018-03-08 14:00:00)``; see
    :func:`analysis.imports.quality.out_of_order_history`.
    """
    return system + f" ({OUT_OF_ORDER}, was " + was.dt.strftime("%Y-%m-%d %H:%M:%S") + ")"


def clamp_to_created(
    when: pd.Series, created: pd.Series, system: str, undated: bool = False
) -> tuple[pd.Series, pd.Series]:
    """Entries dated before their lead's creation, kept at the creation time and marked.

    Parameters
    ----------
    when : Series of datetime64
        The entries' dates as exported (NaT where none).
    created : Series of datetime64, same index
        Their lead's ``created_at`` (NaT where unknown: left as is).
    system : str
        The mapping's ``source_system``.
    undated : bool
        Whether the entries are undated (their ``source_system`` says so).

    Returns
    -------
    (Series of datetime64, Series of str)
        ``changed_at`` (not before ``created``) and ``source_system`` per entry.
    """
    early = (when < created).fillna(False).astype(bool)
    base = f"{system} (undated)" if undated else system
    systems = pd.Series(base, index=when.index, dtype=object)
    if early.any():
        systems = systems.where(~early, out_of_order_system(system, when))
    return when.where(~early, created), systems
