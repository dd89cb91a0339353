"""What every ``handoff`` command shares: the consoles, the --db option and the one-line failure.

Both consoles never parse Rich markup: file names, values and reasons are user text.
Command modules (``handoff.cli``, ``handoff.settings``, ``handoff.model``) import from here,
so no command module imports another.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, NoReturn

import duckdb
import typer
from rich.console import Console
from rich.text import Text

from analysis import config, engines, store
from analysis.imports.ingest import UnusableInput

UNUSABLE = (store.SchemaError, store.WriterBusy, UnusableInput, OSError, EOFError, duckdb.Error)
"""Errors that mean the input (files, database, disk) cannot be used: exit 2, one line."""


def error_line(exc: BaseException | str) -> Text:
    """``error: <first line of the message>`` with the message as plain text."""
    text = exc if isinstance(exc, str) else (str(exc).strip() or type(exc).__name__)
    first = text.splitlines()[0] if text.strip() else text
    return Text.assemble(("error: ", "bold red"), first)


console = Console(stderr=True, soft_wrap=True, markup=False)
out = Console(markup=False)
"""Both consoles never parse markup: file names, values and reasons are user text."""

DbOption = Annotated[
    Path,
    typer.Option(
        "--db",
        help="DuckDB database file (default: $HANDOFF_DB or data/demo.duckdb).",
        default_factory=config.db_path,
        show_default=False,
    ),
]


def fail(message: str, code: int = 2) -> NoReturn:
    """Print a one-line reason to stderr and exit with ``code``."""
    console.print(error_line(message), highlight=False)
    raise typer.Exit(code)


def progress_printer() -> callable:
    """A progress callback that prints each step with the seconds elapsed so far."""
    t0 = time.perf_counter()

    def report(step: str) -> None:
        elapsed = f"{time.perf_counter() - t0:7.1f}s"
        console.print(Text.assemble((elapsed, "dim"), " ", step), highlight=False)

    return report


def open_read_only(db: Path):
    """Open ``db`` read-only or exit 2 with the reason."""
    try:
        return engines.connect_read_only(db)  # DuckDB, or Spark with $HANDOFF_ENGINE=spark
    except (FileNotFoundError, store.SchemaError, RuntimeError) as exc:
        fail(str(exc))


def plain(text: object) -> Text:
    """``text`` as a Rich cell or title that is never parsed as markup."""
    return Text(str(text))
