"""An undated lead export with a planted signal, written into a real DuckDB file.

Shaped like an education company's export: one row per lead handed to sales, no dates at
all (every lead and its stage entries sit on one import day), a 0/1 converted flag, a
numeric behaviour column with some blanks, a categorical profile column with rare values,
a column without signal, and a grade sales fills in after contact, set from the outcome.

Planted model (log-odds of converting):
``-1.0 + 0.35 * (visits - 3) + ORIGIN_EFFECT[origin]``; a missing visits count is drawn
like the others and then blanked, so missingness carries no signal of its own.
The grade is A/B/C with probabilities (0.70, 0.20, 0.10) for converted leads and
(0.15, 0.30, 0.55) for the others, so alone it separates them well (AUC ~0.8).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.store import write_session

DAY = datetime(2025, 3, 1)
ORIGIN_EFFECT = {
    "Landing Page": 0.8,
    "API": 0.0,
    "Lead Add Form": 1.5,
    "Import": -1.0,
    "Quick Add": 0.0,  # rare: ~1% of leads
    "Live Chat": 0.0,  # rare: ~0.5%
}
ORIGIN_SHARE = [0.38, 0.30, 0.18, 0.125, 0.01, 0.005]
VISITS = "Total Visits"
ORIGIN = "Lead Origin"
GRADE = "Lead Grade"
NOISE = "Favourite Colour"


def undated_leads(n: int = 2000, seed: int = 7) -> pd.DataFrame:
    """The export as a frame: lead_id, visits (NaN = blank), origin, colour, grade, converted."""
    rng = np.random.default_rng(seed)
    origin = rng.choice(list(ORIGIN_EFFECT), size=n, p=ORIGIN_SHARE)
    visits = rng.poisson(3.0, size=n).astype(float)
    logit = -1.0 + 0.35 * (visits - 3) + np.array([ORIGIN_EFFECT[o] for o in origin])
    converted = rng.random(n) < 1 / (1 + np.exp(-logit))
    visits[rng.random(n) < 0.06] = np.nan
    grade = np.where(
        converted,
        rng.choice(["A", "B", "C"], size=n, p=[0.70, 0.20, 0.10]),
        rng.choice(["A", "B", "C"], size=n, p=[0.15, 0.30, 0.55]),
    )
    colour = rng.choice(["red", "blue", "green"], size=n)
    return pd.DataFrame(
        {
            "lead_id": [f"E{i:05d}" for i in range(n)],
            "visits": visits,
            "origin": origin,
            "colour": colour,
            "grade": grade,
            "converted": converted,
        }
    )


def write_undated_db(path: Path, frame: pd.DataFrame) -> Path:
    """Write the export through the store's write path: leads, stage entries, properties.

    Every lead was handed off (an ``mql`` entry on the import day); converted leads also
    have a ``customer`` entry on that day. Blank visits are no property row at all.
    """
    leads = pd.DataFrame({"lead_id": frame["lead_id"], "created_at": DAY})
    stages = pd.concat(
        [
            pd.DataFrame({"lead_id": frame["lead_id"], "stage": "mql"}),
            pd.DataFrame(
                {"lead_id": frame.loc[frame["converted"], "lead_id"], "stage": "customer"}
            ),
        ]
    ).assign(changed_at=DAY, source_system="export (undated)")
    visits = frame.loc[frame["visits"].notna()]
    props = pd.concat(
        [
            pd.DataFrame(
                {
                    "lead_id": visits["lead_id"],
                    "name": VISITS,
                    "value": visits["visits"].map(lambda v: f"{v:g}"),
                    "value_number": visits["visits"],
                }
            ),
            *(
                pd.DataFrame(
                    {"lead_id": frame["lead_id"], "name": name, "value": frame[col]}
                ).assign(value_number=np.nan)
                for name, col in ((ORIGIN, "origin"), (GRADE, "grade"), (NOISE, "colour"))
            ),
        ]
    )
    with write_session(path, create=True) as con:
        con.register("leads_in", leads)
        con.register("stages_in", stages)
        con.register("props_in", props)
        con.execute("INSERT INTO leads (lead_id, created_at) SELECT * FROM leads_in")
        con.execute(
            "INSERT INTO stage_changes (lead_id, stage, changed_at, source_system) "
            "SELECT lead_id, stage, changed_at, source_system FROM stages_in"
        )
        con.execute(
            "INSERT INTO lead_properties (lead_id, name, value, value_number) "
            "SELECT lead_id, name, value, value_number FROM props_in"
        )
    return path
