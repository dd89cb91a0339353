"""Small histories shaped like real CRM exports, with their expected numbers by hand.

Each builder returns an in-memory database (:func:`tests.journeys.build`); save it with
:func:`tests.journeys.save` to open it as a file (AppTest, the command line).
"""

from __future__ import annotations

import duckdb

from tests.journeys import add, build


def marketplace() -> duckdb.DuckDBPyConnection:
    """(a) A marketplace's MQL list plus a won-deals list: no activities, dispositions,
    amounts, lost deals, reps or targets.

    One row per MQL (date-only first contact = created_at = the ``mql`` entry) and one
    won deal per closed MQL (timestamped won date: an ``opportunity`` and a ``customer``
    entry at that time, and an opportunities row won without an amount)::

        lead  first contact  source      won at
        m1    2024-01-10     organic     2024-02-15 12:00
        m2    2024-01-20     unknown     2024-03-05 00:00   (the literal label "unknown")
        m3    2024-02-03     (blank)     -
        m4    2024-02-10     organic     2024-02-08 14:00   (won two days before created)
        m5    2024-03-01     (blank)     -
        m6    2024-03-15     paid        -

    The data ends at 2024-03-15 00:00 (m6's creation), so March is immature and the last
    complete month with data is February 2024.
    """
    first = {
        "m1": ("2024-01-10", "organic", "2024-02-15 12:00"),
        "m2": ("2024-01-20", "unknown", "2024-03-05 00:00"),
        "m3": ("2024-02-03", None, None),
        "m4": ("2024-02-10", "organic", "2024-02-08 14:00"),
        "m5": ("2024-03-01", None, None),
        "m6": ("2024-03-15", "paid", None),
    }
    journeys, leads, opps = {}, {}, []
    for lead, (day, source, won) in first.items():
        events = [("mql", f"{day} 00:00")]
        if won:
            events += [("opportunity", won), ("customer", won)]
            opps.append(
                {
                    "opportunity_id": f"deal-{lead}",
                    "lead_id": lead,
                    "created_at": won,
                    "amount": None,
                    "closed_at": won,
                    "outcome": "won",
                }
            )
        journeys[lead] = events
        leads[lead] = {"created_at": f"{day} 00:00", "source": source}
    con = build(journeys, leads=leads)
    add(con, "opportunities", opps)
    return con


def undated() -> duckdb.DuckDBPyConnection:
    """(b) An education company's export without any date and a 0/1 converted column.

    Ten leads, all handed to sales (``mql``), four converted (``customer``); the importer
    puts every lead and its undated entries on the import day (2024-05-01) and marks the
    entries ``(undated)``. No opportunities, activities, dispositions or amounts.
    """
    journeys, leads = {}, {}
    for i in range(1, 11):
        lead = f"u{i:02d}"
        journeys[lead] = [("mql", "2024-05-01 00:00")]
        if i <= 4:
            journeys[lead].append(("customer", "2024-05-01 00:00"))
        leads[lead] = {"created_at": "2024-05-01 00:00", "source": "Google" if i % 2 else None}
    con = build(journeys, leads=leads)
    con.execute("UPDATE stage_changes SET source_system = 'leads.csv (undated)'")
    return con


def pipeline() -> duckdb.DuckDBPyConnection:
    """(c) A sales team's opportunity pipeline plus a teams file: the funnel starts at the
    opportunity stage; early-stage rows have no dates at all.

    ::

        deal  agent  engaged     closed      outcome  amount
        o1    R1     2024-01-05  2024-02-01  won      1000
        o2    R1     2024-01-10  2024-02-10  lost      500
        o3    R2     2024-02-01  2024-03-01  won      3000
        o4    R2     2024-02-15  2024-03-10  lost        -
        o5    R1     2024-03-01  -           open        -
        o6    R2     -           -           open        -   (prospecting, undated)
        o7    R1     -           -           open        -   (prospecting, undated)
        o8    R2     2024-03-05  2024-03-20  won      2000

    R1 is on team East, R2 on team West. The data ends at 2024-03-20 (o8's close).
    """
    rows = {
        "o1": ("R1", "2024-01-05", "2024-02-01", "won", 1000.0),
        "o2": ("R1", "2024-01-10", "2024-02-10", "lost", 500.0),
        "o3": ("R2", "2024-02-01", "2024-03-01", "won", 3000.0),
        "o4": ("R2", "2024-02-15", "2024-03-10", "lost", None),
        "o5": ("R1", "2024-03-01", None, "open", None),
        "o6": ("R2", None, None, "open", None),
        "o7": ("R1", None, None, "open", None),
        "o8": ("R2", "2024-03-05", "2024-03-20", "won", 2000.0),
    }
    journeys, leads, opps = {}, {}, []
    for deal, (rep, engaged, closed, outcome, amount) in rows.items():
        events = []
        if engaged:
            events.append(("opportunity", f"{engaged} 00:00"))
        if outcome == "won":
            events.append(("customer", f"{closed} 00:00"))
        journeys[deal] = events
        leads[deal] = {
            "created_at": f"{engaged} 00:00" if engaged else "1900-01-01 00:00",
            "owner_rep_id": rep,
        }
        opps.append(
            {
                "opportunity_id": deal,
                "lead_id": deal,
                "created_at": f"{engaged} 00:00" if engaged else None,
                "amount": amount,
                "closed_at": f"{closed} 00:00" if closed else None,
                "outcome": outcome,
            }
        )
    con = build(
        {k: v for k, v in journeys.items() if v},
        leads=leads,
        reps={"R1": {"team": "East", "role": "ae"}, "R2": {"team": "West", "role": "ae"}},
    )
    # undated deals: the creation date is unknown
    con.execute("UPDATE leads SET created_at = NULL WHERE created_at < '1901-01-01'")
    add(con, "opportunities", opps)
    return con
