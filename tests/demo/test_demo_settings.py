"""The demo company's settings: one example file, stored in every demo database, and the
same targets and title pattern the simulator's own rule uses."""

from __future__ import annotations

import datetime
import re
import tomllib

import numpy as np
import pytest

from analysis import store
from analysis.demo import rule, synth
from analysis.demo.arrays import _epoch, _month_start, _World
from analysis.demo.leads import _make_leads
from analysis.store import settings as st
from tests.paths import ROOT

DEMO_TOML = ROOT / "data" / "settings" / "demo.toml"
END = datetime.date(2026, 6, 30)


def test_example_file_is_the_generators_settings():
    """data/settings/demo.toml reads as exactly DEMO_SETTINGS, and the rule uses its values."""
    from_file = st.from_toml(DEMO_TOML.read_text())
    assert from_file == rule.DEMO_SETTINGS
    assert set(st.KEYS) - {"crm_record_url"} <= set(tomllib.loads(DEMO_TOML.read_text()))
    assert rule.DEMO_RULE["target_industries"] == list(from_file.target_industries)
    assert rule.DEMO_RULE["target_regions"] == list(from_file.target_regions)
    assert rule.SENIOR_TITLE_PATTERN == from_file.senior_title_pattern
    assert rule.EMPLOYEES_THRESHOLD == from_file.min_employees == 200


def test_generated_database_stores_the_demo_settings(demo_db):
    """generate_database writes DEMO_SETTINGS into the database it creates."""
    con = store.connect_read_only(demo_db)
    try:
        assert st.load(con) == rule.DEMO_SETTINGS
        assert con.execute("SELECT count(*) FROM settings").fetchone()[0] == len(st.KEYS)
    finally:
        con.close()


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    """A 1,500-lead history (seed 4) and the generator's own lead arrays for the same run."""
    path = tmp_path_factory.mktemp("settings") / "demo.duckdb"
    synth.generate_database(path, leads=1_500, months=6, seed=4, end=END)
    # The leads are the first thing generate() draws, so the same seed and window give the
    # same lead arrays (lead index i is lead id i + 1).
    start = _month_start(END, 5)
    cutoff = datetime.datetime(2026, 7, 1)
    world = _World(np.random.default_rng(4), _epoch(start), _epoch(cutoff), 6, lambda _s: None)
    return path, _make_leads(world, 1_500)


def test_stored_settings_reproduce_the_demo_fit_flags(small):
    """Fit flags computed from the stored rows with the stored settings equal the flags the
    simulator used to decide who became an MQL, lead by lead."""
    path, lead = small
    con = store.connect_read_only(path)
    try:
        s = st.load(con)
        rows = con.execute(
            "SELECT lead_id, job_title, employees, email_domain_kind, region, industry "
            "FROM leads ORDER BY lead_id"
        ).df()
    finally:
        con.close()
    assert rows["lead_id"].tolist() == [f"L{i + 1:06d}" for i in range(len(rows))]
    senior = re.compile(s.senior_title_pattern, re.IGNORECASE)
    from_store = {
        "senior_title": rows["job_title"].map(
            lambda t: isinstance(t, str) and bool(senior.search(t))
        ),
        "employees_200plus": rows["employees"] >= s.min_employees,
        "corporate_email": rows["email_domain_kind"] == "corporate",
        "target_region": rows["region"].isin(s.target_regions),
        "target_industry": rows["industry"].isin(s.target_industries),
    }
    assert set(from_store) == set(rule.FIT_FEATURES)
    for name, flags in from_store.items():
        planted = lead["fit"][name]
        assert flags.to_numpy(dtype=bool).tolist() == planted.tolist(), name
        assert 0 < planted.sum() < len(planted), f"{name} is not constant on the sample"
