"""``handoff labels``: spellings of one label proposed for merging, and accepting merges.

``handoff labels --db PATH [--json]`` lists the proposed merges (industry, source, region,
country, campaign) and the ones already accepted; ``labels accept`` records merges in
``label_aliases`` and rewrites the leads they cover through the one write path
(:func:`analysis.imports.aliases.accept`), so every page and command sees one value.
"""

from __future__ import annotations

import json
from typing import Annotated

import pandas as pd
import typer
from rich.table import Table as RichTable

from analysis import store
from analysis.imports import aliases
from handoff.common import DbOption, console, fail, open_read_only, out, plain

labels_app = typer.Typer(
    help="Spellings of one label (Software, software, SaaS & Software): propose and merge.",
    invoke_without_command=True,
)


def _table(title: str, frame: pd.DataFrame, columns: list[str]) -> RichTable:
    table = RichTable(title=plain(title))
    for column in columns:
        table.add_column(column, overflow="fold")
    for row in frame[columns].itertuples(index=False, name=None):
        table.add_row(*(plain(v) for v in row))
    return table


@labels_app.callback()
def show(
    ctx: typer.Context,
    db: DbOption,
    as_json: Annotated[bool, typer.Option("--json", help="Print as JSON.")] = False,
) -> None:
    """List the proposed merges and the accepted ones."""
    if ctx.invoked_subcommand is not None:
        return
    con = open_read_only(db)
    try:
        proposed = aliases.proposals(con)
        done = aliases.accepted(con)
    finally:
        con.close()
    if as_json:
        done = done.assign(accepted_at=done["accepted_at"].astype(str))
        print(
            json.dumps(
                {"proposed": proposed.to_dict("records"), "accepted": done.to_dict("records")},
                indent=2,
                default=int,
            )
        )
        return
    if proposed.empty:
        out.print("No label variants to merge.")
    else:
        cols = ["column", "label", "leads", "proposed", "proposed_leads", "rule"]
        out.print(_table(f"proposed merges in {db}", proposed, cols))
    if len(done):
        cols = ["column", "original", "standard", "leads", "actor"]
        out.print(_table("accepted merges", done, cols))


def _parse_merge(text: str) -> tuple[str, str, str]:
    column, sep, rest = text.partition(":")
    label, sep2, proposed = rest.partition("=")
    if not sep or not sep2:
        fail(
            "--merge must read COLUMN:SPELLING=STANDARD (e.g. industry:software=Software), "
            f"got {text!r}"
        )
    return column.strip(), label.strip(), proposed.strip()


@labels_app.command("accept")
def accept(
    db: DbOption,
    every: Annotated[
        bool, typer.Option("--all", help="Accept every proposed merge (of --column, if given).")
    ] = False,
    column: Annotated[
        list[str] | None, typer.Option("--column", help="Only proposals of this column.")
    ] = None,
    merge: Annotated[
        list[str] | None,
        typer.Option("--merge", help="One merge COLUMN:SPELLING=STANDARD (repeatable)."),
    ] = None,
) -> None:
    """Merge spellings: the proposals (--all) or your own (--merge industry:SaaS=Software)."""
    rows = [_parse_merge(m) for m in merge or []]
    if every:
        con = open_read_only(db)
        try:
            proposed = aliases.proposals(con)
        finally:
            con.close()
        if column:
            proposed = proposed.loc[proposed["column"].isin(column)]
        rows += list(proposed[aliases.MERGE_COLUMNS].itertuples(index=False, name=None))
    if not rows:
        fail("nothing to merge: give --all or --merge COLUMN:SPELLING=STANDARD")
    try:
        done = aliases.accept(db, pd.DataFrame(rows, columns=aliases.MERGE_COLUMNS))
    except (ValueError, FileNotFoundError, store.SchemaError) as exc:
        fail(str(exc))
    for r in done.itertuples(index=False):
        console.print(
            f"{db}: {r.column} {r.original!r} -> {r.standard!r} ({r.leads:,} leads)",
            highlight=False,
            markup=False,
        )
