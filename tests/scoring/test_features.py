"""Feature matrix: decision points, feature definitions, outcomes, and no leakage."""

from __future__ import annotations

import numpy as np
import pytest

from analysis import store
from analysis.scoring import features
from analysis.scoring.features import FEATURES, build_features, decision_points
from analysis.store.settings import CompanySettings
from tests.journeys import build

INDUSTRIES = ("software", "finance")
REGIONS = ("North America", "EMEA")


def fm_of(con, target_industries=INDUSTRIES, **kwargs) -> features.FeatureMatrix:
    """The matrix under settings that name target industries and regions."""
    kwargs.setdefault(
        "settings",
        CompanySettings(target_industries=tuple(target_industries), target_regions=REGIONS),
    )
    return build_features(con, **kwargs)


def row(fm: features.FeatureMatrix, lead_id: str) -> dict[str, float]:
    """The features of one lead as {name: value}."""
    (i,) = np.flatnonzero(fm.lead_ids == lead_id)
    return dict(zip(fm.names, fm.X[i].tolist(), strict=True))


def ts(text: str) -> np.datetime64:
    return np.datetime64(text, "us")


# --- decision points -------------------------------------------------------------------------


@pytest.mark.parametrize("horizon", [30, 7])
def test_decision_point_is_first_mql_or_created_plus_horizon(horizon: int) -> None:
    """It takes the first mql for handed-off leads and created_at + horizon for the rest."""
    con = build(
        {
            # recycled: mql, nurture, mql again -> the first mql counts
            "A": [
                ("lead", "2024-01-01 09:00"),
                ("mql", "2024-01-03 10:00"),
                ("nurture", "2024-01-10 00:00"),
                ("mql", "2024-02-01 00:00"),
            ],
            "B": [("lead", "2024-01-05 12:00")],
            # mql skipped: the first later stage it reached is the handoff
            "C": [
                ("lead", "2024-01-02 00:00"),
                ("opportunity", "2024-01-09 00:00"),
                ("sql", "2024-01-08 00:00"),
            ],
        }
    )
    dp = decision_points(con, horizon_days=horizon).set_index("lead_id")
    assert dp.loc["A", "decision_at"] == np.datetime64("2024-01-03T10:00")
    assert dp.loc["C", "decision_at"] == np.datetime64("2024-01-08T00:00")
    assert np.datetime64(dp.loc["B", "decision_at"]) == ts("2024-01-05T12:00") + np.timedelta64(
        horizon, "D"
    )
    assert dp["handed_off"].to_dict() == {"A": True, "B": False, "C": True}
    fm = fm_of(con, horizon_days=horizon)
    assert list(fm.lead_ids) == ["A", "B", "C"]
    assert fm.decision_at.tolist() == dp["decision_at"].astype("datetime64[us]").tolist()


@pytest.mark.parametrize("bad", [0, -3, 1.5, True])
def test_horizon_must_be_positive_whole_days(bad: object) -> None:
    """It refuses a horizon that is not a positive whole number of days."""
    con = build({"A": [("lead", "2024-01-01 00:00")]})
    with pytest.raises((ValueError, TypeError), match="horizon_days"):
        build_features(con, horizon_days=bad)


# --- feature definitions -----------------------------------------------------------------------


def test_engagement_features_use_touchpoints_up_to_and_including_the_handoff() -> None:
    """A touchpoint at the handoff instant counts; one a second later does not."""
    con = build(
        {"A": [("lead", "2024-01-01 00:00"), ("mql", "2024-01-05 12:00:00")]},
        touches={
            "A": [
                ("2024-01-02 00:00", "page_view", "Pricing ", 30),  # case and spaces ignored
                ("2024-01-05 12:00:00", "demo_request"),  # the event that triggered it
                ("2024-01-05 12:00:01", "webinar"),  # after the handoff: excluded
                ("2024-01-03 00:00", "content_download", "mofu"),
                ("2024-01-03 00:00", "email_click"),
            ]
        },
    )
    f = row(fm_of(con), "A")
    on = {k for k, v in f.items() if v == 1.0}
    assert on == {"pricing_page", "demo_request", "mofu_download", "email_click"}
    assert set(f.values()) == {0.0, 1.0}


@pytest.mark.parametrize(
    ("seconds", "expected"),
    [([3599], 0.0), ([3600], 1.0), ([1800, 1799], 0.0), ([1800, 1800], 1.0), ([], 0.0)],
)
def test_blog_over_hour_sums_blog_seconds(seconds: list[int], expected: float) -> None:
    """It marks blog_over_hour when blog page seconds add up to 3,600 or more."""
    touches = [(f"2024-01-02 0{i}:00", "page_view", "blog", s) for i, s in enumerate(seconds)]
    touches.append(("2024-01-02 09:00", "page_view", "pricing", 5000))  # not blog
    con = build({"A": [("lead", "2024-01-01 00:00")]}, touches={"A": touches})
    assert row(fm_of(con), "A")["blog_over_hour"] == expected


@pytest.mark.parametrize(
    ("pages", "expected"),
    [(["careers"], 1.0), (["careers", "careers"], 1.0), (["careers", "blog"], 0.0), ([], 0.0)],
)
def test_careers_only_needs_page_views_all_on_careers(pages: list[str], expected: float) -> None:
    """careers_only is 1 only for leads with page views, all of them of the careers page."""
    touches = [(f"2024-01-02 0{i}:00", "page_view", p, 10) for i, p in enumerate(pages)]
    touches.append(("2024-01-02 09:00", "email_open"))  # not a page view: does not matter
    con = build({"A": [("lead", "2024-01-01 00:00")]}, touches={"A": touches})
    assert row(fm_of(con), "A")["careers_only"] == expected


@pytest.mark.parametrize(
    ("title", "senior"),
    [
        ("VP Marketing", 1.0),
        ("SVP, Sales", 0.0),  # the default pattern names VP only as a whole word
        ("Director of IT", 1.0),
        ("Head of Growth", 1.0),
        ("chief revenue officer", 1.0),
        ("CEO", 1.0),
        ("Co-Founder", 1.0),
        ("President", 0.0),  # not in the default pattern
        ("Marketing Manager", 0.0),
        ("Headquarters Assistant", 0.0),  # 'head' only as a whole word
        ("Student", 0.0),
        (None, 0.0),
    ],
)
def test_senior_title_keywords(title: str | None, senior: float) -> None:
    """senior_title matches senior keywords as whole words, in any case."""
    con = build(leads={"A": {"created_at": "2024-01-01 00:00", "job_title": title}})
    assert row(fm_of(con), "A")["senior_title"] == senior


def test_senior_title_pattern_comes_from_the_settings() -> None:
    """A company whose settings name 'President' as senior gets it scored so."""
    con = build(leads={"A": {"created_at": "2024-01-01 00:00", "job_title": "President"}})
    assert row(fm_of(con), "A")["senior_title"] == 0
    own = CompanySettings(senior_title_pattern=r"\bpresident\b")
    assert row(build_features(con, settings=own), "A")["senior_title"] == 1


def test_fit_features_from_lead_attributes() -> None:
    """Size bands, email kind, target region and industry come from the lead row."""
    con = build(
        leads={
            "A": {
                "created_at": "2024-01-01",
                "employees": 200,
                "email_domain_kind": "corporate",
                "region": "EMEA",
                "industry": "finance",
            },
            "B": {
                "created_at": "2024-01-01",
                "employees": 199,
                "email_domain_kind": "free",
                "region": "APAC",
                "industry": "retail",
            },
            "C": {"created_at": "2024-01-01", "employees": 1000, "region": "North America"},
            "D": {"created_at": "2024-01-01"},  # everything unknown
        }
    )
    fm = fm_of(con)
    fit = [n for n, k in zip(fm.names, fm.kinds, strict=True) if k == "fit"]
    assert fit == [
        "senior_title",
        "employees_200plus",
        "employees_1000plus",
        "corporate_email",
        "target_region",
        "target_industry",
    ]
    got = {lead: {n: row(fm, lead)[n] for n in fit if row(fm, lead)[n]} for lead in "ABCD"}
    assert got == {
        "A": {
            "employees_200plus": 1,
            "corporate_email": 1,
            "target_region": 1,
            "target_industry": 1,
        },
        "B": {},
        "C": {"employees_200plus": 1, "employees_1000plus": 1, "target_region": 1},
        "D": {},
    }
    # with no target industries in the settings, the feature is not offered
    bare = fm_of(con, target_industries=[])
    assert bare.column("target_industry").sum() == 0
    assert "target_industry" not in bare.offered
    assert "target industries" in bare.absent["target_industry"]
    assert "target_industry" in fm.offered


def test_features_without_source_data_are_not_offered() -> None:
    """No touchpoints: no engagement feature is offered; no job titles: no senior_title."""
    con = build(leads={"A": {"created_at": "2024-01-01", "employees": 500}})
    fm = fm_of(con)
    engagement = [f.name for f in FEATURES if f.kind == "engagement"]
    assert all("no touchpoints" in fm.absent[n] for n in engagement)
    assert "senior_title" in fm.absent and "employees_200plus" in fm.offered
    assert set(fm.catalogue()["feature"]) == set(fm.offered)


def test_extra_properties_add_one_hot_columns() -> None:
    """extra_properties adds one fit column per value; missing is (not set), rare pooled."""
    con = build(
        leads={
            "A": {"created_at": "2024-01-01", "source": "webinar"},
            "B": {"created_at": "2024-01-01", "source": "paid"},
            "C": {"created_at": "2024-01-01", "source": "webinar"},
            "D": {"created_at": "2024-01-01"},
        }
    )
    fm = fm_of(con, extra_properties=["source"], min_frequency=1)
    assert fm.names[-3:] == ("source=(not set)", "source=paid", "source=webinar")
    assert fm.kinds[-3:] == ("fit", "fit", "fit")
    assert fm.column("source=webinar").tolist() == [1, 0, 1, 0]
    assert fm.column("source=paid").tolist() == [0, 1, 0, 0]
    assert fm.column("source=(not set)").tolist() == [0, 0, 0, 1]
    assert fm.owner.tolist() == [None, None, None, None]  # NULL stays None
    # webinar has 2 leads; paid and (not set) one each, pooled below min_frequency=2
    pooled = fm_of(con, extra_properties=["source"], min_frequency=2)
    assert pooled.names[-2:] == ("source=webinar", "source=(other)")
    assert pooled.column("source=(other)").tolist() == [0, 1, 0, 1]
    with pytest.raises(ValueError, match="extra_properties must be lead columns among source"):
        fm_of(con, extra_properties=["note; DROP TABLE leads"])


def test_unknown_feature_name_lists_known_ones() -> None:
    """Asking for a feature that does not exist names the ones that do."""
    fm = fm_of(build(leads={"A": {"created_at": "2024-01-01"}}))
    with pytest.raises(KeyError, match="known features: senior_title, employees_200plus"):
        fm.column("pricing")


def test_empty_database_gives_an_empty_matrix() -> None:
    """A database without leads gives a 0-row matrix with every feature column."""
    con = build()
    fm = fm_of(con)
    assert fm.X.shape == (0, len(FEATURES)) and fm.X.dtype == np.float32
    assert fm.n == 0 and len(fm.months) == 0


# --- outcomes -----------------------------------------------------------------------------------


def outcome_db():
    return build(
        {
            # A: sql 3 days after handoff, customer much later
            "A": [
                ("lead", "2024-01-01"),
                ("mql", "2024-01-02"),
                ("sql", "2024-01-05"),
                ("customer", "2024-04-01"),
            ],
            # B: handed off, went straight to customer (sql and opportunity skipped)
            "B": [("lead", "2024-01-01"), ("mql", "2024-01-02"), ("customer", "2024-02-01")],
            # C: handed off, rejected
            "C": [("lead", "2024-01-01"), ("mql", "2024-03-20"), ("disqualified", "2024-03-21")],
            # D: never handed off
            "D": [("lead", "2024-01-01")],
            # E: handed off late, 5 days before the end of the data
            "E": [("lead", "2024-03-01"), ("mql", "2024-03-27"), ("sql", "2024-03-28")],
        },
        leads={"Z": {"created_at": "2024-04-01"}},  # the end of the data
    )


def test_reached_means_the_stage_or_any_later_one() -> None:
    """A lead that skipped sql but became a customer reached sql, at the customer time."""
    fm = fm_of(outcome_db())
    assert dict(zip(fm.lead_ids, fm.reached_sql.tolist(), strict=True)) == {
        "A": True,
        "B": True,
        "C": False,
        "D": False,
        "E": True,
        "Z": False,
    }
    assert fm.reached_opportunity.tolist() == [True, True, False, False, False, False]
    assert fm.reached_customer.tolist() == [True, True, False, False, False, False]
    assert fm.sql_at[1] == ts("2024-02-01")  # B: next stage reached
    assert fm.as_of == ts("2024-04-01")


def test_outcome_window_and_observation() -> None:
    """Within a window the outcome must come soon enough, and immature leads are unobserved."""
    fm = fm_of(outcome_db())
    # sql within 7 days of handoff: A (3 days) and E (1 day); B only after 30 days
    assert fm.outcome("sql", within_days=7).tolist() == [True, False, False, False, True, False]
    assert fm.outcome("sql", within_days=30).tolist() == [True, True, False, False, True, False]
    # observed = handed off; with a 7-day window also decided >= 7 days before 2024-04-01
    assert fm.observed().tolist() == [True, True, True, False, True, False]
    assert fm.observed(within_days=7).tolist() == [True, True, True, False, False, False]
    # D was decided 2024-01-31; Z (created on the last day) has no decision point yet
    assert fm.decided.tolist() == [True, True, True, True, True, False]
    with pytest.raises(ValueError, match="outcome must be one of sql, opportunity, customer"):
        fm.outcome("won")


# --- leakage ------------------------------------------------------------------------------------


def test_sales_facts_and_later_touchpoints_do_not_change_features() -> None:
    """X stays byte-identical when post-decision touchpoints and all sales facts are added."""
    journeys = {
        "A": [("lead", "2024-01-01 00:00"), ("mql", "2024-01-10 00:00")],
        "B": [("lead", "2024-01-01 00:00")],  # never handed off: decided 2024-01-31
        "C": [("lead", "2024-01-05 00:00"), ("mql", "2024-01-06 00:00")],
    }
    leads = {
        "A": {"owner_rep_id": "R1", "region": "EMEA", "employees": 500, "job_title": "VP Sales"},
        "B": {"region": "APAC"},
        "C": {"owner_rep_id": "R1", "region": "EMEA"},
    }
    touches = {
        "A": [("2024-01-02", "page_view", "pricing", 60), ("2024-01-03", "page_view", "blog", 900)],
        "B": [("2024-01-20", "page_view", "careers", 30)],
        "C": [("2024-01-05 12:00", "email_click")],
    }
    con = build(journeys, leads=leads, reps={"R1": {}}, touches=touches)
    before = fm_of(con)

    later_touches = [
        # after each lead's decision point: every built-in feature would flip on
        ("A", "2024-01-10 00:00:01", "page_view", "careers", 4000),
        ("A", "2024-02-01", "page_view", "blog", 4000),
        ("A", "2024-02-01", "demo_request", None, None),
        ("B", "2024-01-31 00:00:01", "page_view", "pricing", 10),
        ("B", "2024-03-01", "content_download", "bofu", None),
        ("C", "2024-01-07", "webinar", None, None),
        ("C", "2024-01-07", "page_view", "case_study", 10),
    ]
    con.executemany("INSERT INTO touchpoints VALUES (?, ?, ?, ?, ?)", later_touches)
    con.executemany(
        "INSERT INTO stage_changes VALUES (?, ?, ?, 'test')",
        [
            ("A", "sql", "2024-01-11"),
            ("A", "opportunity", "2024-01-20"),
            ("A", "customer", "2024-03-01"),
            ("C", "disqualified", "2024-01-08"),
            ("C", "nurture", "2024-01-09"),
            ("C", "mql", "2024-02-15"),
        ],
    )
    con.executemany(
        "INSERT INTO sales_activities VALUES (?, 'R1', ?, ?)",
        [
            ("A", "2024-01-10 00:05", "call"),
            ("C", "2024-01-06 00:01", "email"),
            ("B", "2024-01-15", "call"),
        ],
    )
    con.executemany(
        "INSERT INTO dispositions VALUES (?, 'R1', ?, ?, ?, 'note')",
        [("A", "2024-01-11", "accepted", None), ("C", "2024-01-08", "rejected", "no_budget")],
    )
    con.execute(
        "INSERT INTO opportunities VALUES "
        "('O1', 'A', '2024-01-20', 50000, '2024-03-01', 'won', NULL)"
    )
    after = fm_of(con)

    assert after.X.tobytes() == before.X.tobytes()
    assert after.names == before.names
    assert after.decision_at.tobytes() == before.decision_at.tobytes()
    # the new facts were seen: outcomes moved, so the test is not vacuous
    assert after.reached_customer.tolist() == [True, False, False]
    assert before.reached_customer.tolist() == [False, False, False]
    # and the touchpoints before the decision point did count
    assert row(before, "A")["pricing_page"] == 1 and row(before, "B")["careers_only"] == 1


def test_schema_from_store_is_what_the_query_reads() -> None:
    """The feature query runs on an empty store schema made by create_schema (no extra tables)."""
    import duckdb

    con = duckdb.connect()
    store.create_schema(con)
    assert build_features(con).n == 0
