"""Native imports accept only plausible values: timestamps in range, shaped JSON, sane sizes."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from analysis import store
from analysis.imports import ingest


def _import(tmp_path: Path, name: str, text: str) -> ingest.ImportResult:
    path = tmp_path / name
    path.write_text(text)
    return ingest.import_files(tmp_path / "h.duckdb", [path])


def _refused(result: ingest.ImportResult) -> list[tuple[int, str, str]]:
    r = result.refused
    return list(zip(r["row_number"], r["column"], r["problem"], strict=True))


def test_timestamps_outside_the_documented_range_are_refused(tmp_path: Path) -> None:
    """1970-01-01 and today + 11 months import; 9999-12-31, 2999-01-01, 0001-01-01,
    1969-12-31 and today + 2 years are refused as implausible, with the range in the reason."""
    today = pd.Timestamp.now(tz="UTC").tz_convert(None).normalize()
    soon = (today + pd.DateOffset(months=11)).strftime("%Y-%m-%d")
    later = (today + pd.DateOffset(years=2)).strftime("%Y-%m-%d")
    rows = ["1970-01-01", soon, "9999-12-31", "2999-01-01", "0001-01-01", "1969-12-31", later]
    body = "".join(f"T-{i},{ts}\n" for i, ts in enumerate(rows))
    result = _import(tmp_path, "leads.csv", "lead_id,created_at\n" + body)
    assert result.accepted == {"leads": 2}
    # rows 2 and 3 (1970-01-01 and today + 11 months) pass; spreadsheet rows 4-8 do not
    assert _refused(result) == [(n, "created_at", "implausible time") for n in range(4, 9)]
    earliest, latest = ingest.plausible_range()
    assert earliest == pd.Timestamp("1970-01-01")
    assert latest.date() == (today + pd.DateOffset(years=1)).date()
    assert (
        f"outside the accepted range 1970-01-01 .. {latest:%Y-%m-%d} UTC"
        in (result.refused["reason"].iloc[0])
    )


def test_relative_words_are_refused_so_reimports_are_idempotent(tmp_path: Path) -> None:
    """changed_at=now (and today, Yesterday) is refused: a re-import cannot add a new row."""
    _import(tmp_path, "leads.csv", "lead_id,created_at\nL-1,2024-01-01\n")
    text = (
        "lead_id,stage,changed_at\n"
        "L-1,mql,now\nL-1,sql,today\nL-1,opportunity,Yesterday\nL-1,mql,2024-01-02\n"
    )
    first = _import(tmp_path, "stage_changes.csv", text)
    second = _import(tmp_path, "stage_changes.csv", text)
    assert first.accepted == second.accepted == {"stage_changes": 1}
    assert _refused(first) == [(n, "changed_at", "relative time") for n in (2, 3, 4)]
    con = store.connect_read_only(tmp_path / "h.duckdb")
    assert con.execute("SELECT count(*) FROM stage_changes").fetchone() == (1,)
    con.close()


def test_scoring_weights_must_be_an_object_of_numbers(tmp_path: Path) -> None:
    """weights '[1,2]', '{"a": "x"}', '{"a": true}' and '3' are refused with a reason;
    '{"demo_request": 50, "careers_only": -10.5}' is accepted."""
    rows = [
        '"{""demo_request"": 50, ""careers_only"": -10.5}"',
        '"[1,2]"',
        '"{""a"": ""x""}"',
        '"{""a"": true}"',
        "3",
    ]
    body = "".join(f"m{i},rule {i},{w},40\n" for i, w in enumerate(rows))
    result = _import(tmp_path, "scoring_models.csv", "model_id,name,weights,threshold\n" + body)
    assert result.accepted == {"scoring_models": 1}
    assert _refused(result) == [(n, "weights", "wrong JSON shape") for n in (3, 4, 5, 6)]
    assert (
        "'[1,2]' is not a JSON object of feature name to number" in result.refused["reason"].iloc[0]
    )


def test_an_oversized_field_is_refused_and_not_stored(tmp_path: Path) -> None:
    """A 1,000,001-character job title refuses its row; the reject keeps at most 1,000
    characters of the cell (plus an ellipsis), not the megabyte."""
    huge = "x" * (ingest.MAX_FIELD_CHARS + 1)
    result = _import(
        tmp_path,
        "leads.csv",
        f"lead_id,created_at,job_title\nB-1,2024-01-01,{huge}\nB-2,2024-01-01,CMO\n",
    )
    assert result.accepted == {"leads": 1}
    assert _refused(result) == [(2, "job_title", "value too long")]
    con = store.connect_read_only(tmp_path / "h.duckdb")
    (raw_len,) = con.execute("SELECT max(length(raw)) FROM import_rejects").fetchone()
    con.close()
    # "B-1,2024-01-01," (15 chars) + 1,000 x's + "…"
    assert raw_len == 15 + ingest.MAX_RAW_CELL_CHARS + 1


_year = st.integers(1, 9999).map(lambda y: f"{y:04d}")
_ts_text = st.one_of(
    st.builds(
        lambda y, rest: y + rest,
        _year,
        st.sampled_from(["-01-01", "-12-31 23:59", "-06-15T10:00:00+14:00", "-02-29"]),
    ),
    st.sampled_from(
        sorted(ingest.RELATIVE_WORDS) + ["NOW", " Today ", "+10000-01-01", "1e9", "-1"]
    ),
    st.text(max_size=20),
)


@settings(max_examples=60, deadline=None)
@given(texts=st.lists(_ts_text, min_size=1, max_size=8))
def test_any_timestamp_text_is_accepted_in_range_or_refused(texts: list[str]) -> None:
    """Whatever text a timestamp cell holds, the checks never raise, every row is accepted
    or refused exactly once, and every accepted value lies in plausible_range()."""
    raw = pd.DataFrame(
        {"lead_id": [f"H-{i}" for i in range(len(texts))], "created_at": texts},
        index=pd.RangeIndex(2, 2 + len(texts)),
    )
    part = ingest.check_file(store.TABLES["leads"], "leads.csv", raw)
    refused = set(part.faults["pos"])
    earliest, latest = ingest.plausible_range()
    for pos, value in enumerate(part.values["created_at"]):
        if pos not in refused:
            assert earliest <= value <= latest, (texts[pos], value)
    assert all(
        pos in refused for pos, t in enumerate(texts) if t.strip().lower() in ingest.RELATIVE_WORDS
    )


@settings(max_examples=60, deadline=None)
@given(
    weights=st.recursive(
        st.none() | st.booleans() | st.floats() | st.integers() | st.text(max_size=5),
        lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=5), c, max_size=3),
        max_leaves=6,
    )
)
def test_only_objects_of_finite_numbers_pass_as_weights(weights: object) -> None:
    """Any JSON value as scoring weights: accepted exactly when it is an object whose values
    are all finite numbers (not booleans), refused otherwise; the checks never raise."""
    text = json.dumps(weights)
    raw = pd.DataFrame(
        {"model_id": ["m"], "name": ["n"], "weights": [text], "threshold": ["1"]},
        index=pd.RangeIndex(2, 3),
    )
    part = ingest.check_file(store.TABLES["scoring_models"], "scoring_models.csv", raw)
    good = isinstance(weights, dict) and all(
        isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)
        for v in weights.values()
    )
    assert part.faults.empty == good, (text, part.faults["reason"].tolist())


def test_a_flat_mapping_fallback_before_1970_is_refused(tmp_path: Path) -> None:
    """created_at_fallback = 0001-01-01 would give the undated HubSpot leads an implausible
    created_at: the mapping itself is refused, before anything is read or written, instead
    of storing year 1."""
    import pytest

    from analysis.imports import flat
    from analysis.imports.flat.vocab import MappingError
    from tests.paths import EXAMPLES

    mapping = tmp_path / "old.toml"
    mapping.write_text('extends = "hubspot"\ncreated_at_fallback = "0001-01-01"\n')
    with pytest.raises(MappingError, match="0001-01-01 is outside the plausible range 1970-01-01"):
        flat.import_flat(
            tmp_path / "h.duckdb", [EXAMPLES / "hubspot_contacts_undated.csv"], mapping=mapping
        )
    assert not (tmp_path / "h.duckdb").exists()
