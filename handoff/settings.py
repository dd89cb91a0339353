"""``handoff settings``: show and change the company's settings stored in a database.

``handoff settings --db PATH [--json]`` prints them; ``set KEY VALUE`` and ``import FILE.toml``
change them through the one write path (a copy of the file, one transaction, an atomic swap),
so a running dashboard keeps reading the old version until it reconnects. A refused value
exits 2 with a one-line reason that names the setting, and nothing is written.
"""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table as RichTable

from analysis import store
from analysis.store import settings as st
from handoff.common import DbOption, console, fail, open_read_only, out

settings_app = typer.Typer(
    help="The company's settings (fit targets, title pattern, currency, CRM link, personal data).",
    invoke_without_command=True,
)


def shown(value: object) -> str:
    """A setting's value as the table shows it: lists comma-separated, empty as (not set)."""
    if isinstance(value, tuple | list):
        return ", ".join(value) if value else "(not set)"
    if isinstance(value, bool):
        return "true" if value else "false"
    if value == "":
        return "(not set)"
    return str(value)


@settings_app.callback()
def show(
    ctx: typer.Context,
    db: DbOption,
    as_json: Annotated[bool, typer.Option("--json", help="Print the settings as JSON.")] = False,
) -> None:
    """Print the settings stored in the database (defaults where none are stored)."""
    if ctx.invoked_subcommand is not None:
        return
    con = open_read_only(db)
    try:
        current = st.load(con)
    except ValueError as exc:
        fail(str(exc))
    finally:
        con.close()
    if as_json:
        print(json.dumps(st.to_mapping(current), indent=2))
        return
    table = RichTable(title=f"settings of {db}")
    for column in ("setting", "value", "meaning"):
        table.add_column(column, overflow="fold")
    for key, value in st.to_mapping(current).items():
        table.add_row(key, shown(value), st.DESCRIPTIONS[key])
    out.print(table)


def _report(db: Path, changed: st.CompanySettings, keys: list[str]) -> None:
    for key in keys:
        value = shown(getattr(changed, key))
        console.print(f"{db}: {key} = {value}", highlight=False, markup=False)


@settings_app.command("set")
def set_(
    key: Annotated[str, typer.Argument(help=f"One of: {', '.join(st.KEYS)}.")],
    value: Annotated[
        str, typer.Argument(help="The value; lists comma-separated or as a JSON array.")
    ],
    db: DbOption,
) -> None:
    """Change one setting (e.g. `set target_regions "EMEA, North America"`)."""
    try:
        parsed = st.parse_value(key, value)
        changed = st.update(db, {key: parsed})
    except (ValueError, FileNotFoundError, store.SchemaError) as exc:
        fail(str(exc))
    _report(db, changed, [key])


@settings_app.command("import")
def import_(
    file: Annotated[Path, typer.Argument(help="TOML file with top-level setting keys.")],
    db: DbOption,
) -> None:
    """Change the settings named in a TOML file (see data/settings/demo.toml); others stay."""
    try:
        text = file.read_text()
    except OSError as exc:
        fail(f"cannot read {file}: {exc.strerror or exc}")
    try:
        values = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        fail(f"{file}: not valid TOML: {exc}")
    try:
        changed = st.update(db, values)
    except ValueError as exc:
        fail(f"{file}: {exc}")
    except (FileNotFoundError, store.SchemaError) as exc:
        fail(str(exc))
    _report(db, changed, list(values))
