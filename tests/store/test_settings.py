"""The company's settings: defaults, checks, storage through the write path, text forms."""

from __future__ import annotations

import pytest

from analysis import store
from analysis.store import settings as st

EXAMPLE = st.CompanySettings(
    target_industries=("Software", "Retail, Wholesale"),
    target_regions=("EMEA",),
    min_employees=50,
    senior_title_pattern=r"\b(Head|Chief)\b",
    currency="EUR",
    crm_record_url="https://crm.example.com/lead/{lead_id}",
    show_personal_data=True,
)


@pytest.fixture()
def db(tmp_path):
    """An empty Handoff Health database, as a new install creates it (no settings stored)."""
    path = tmp_path / "h.duckdb"
    with store.write_session(path, create=True):
        pass
    return path


def stored(path) -> st.CompanySettings:
    con = store.connect_read_only(path)
    try:
        return st.load(con)
    finally:
        con.close()


def test_defaults_describe_no_particular_company():
    """A new install has no targets, size fit from 200 employees, USD, no CRM links, masking."""
    d = st.DEFAULTS
    assert d.target_industries == () and d.target_regions == ()
    assert d.min_employees == 200
    assert d.senior_title_pattern == st.DEFAULT_SENIOR_TITLE_PATTERN
    assert d.currency == "USD" and d.crm_record_url == "" and d.show_personal_data is False
    assert st.KEYS == tuple(st.DESCRIPTIONS), "every setting says what it means, in order"


def test_file_written_before_settings_reads_as_defaults(db):
    """A database without a settings table (written before settings existed) reads as defaults."""
    con = store.connect_read_only(db)
    tables = {
        r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()
    }
    assert "settings" not in tables
    assert st.load(con) == st.DEFAULTS


def test_round_trip_through_a_real_file(db):
    """Saved settings come back equal from a read-only connection, lists as tuples."""
    st.save(db, EXAMPLE)
    back = stored(db)
    assert back == EXAMPLE
    assert back.target_industries == ("Software", "Retail, Wholesale")


def test_update_changes_only_the_named_settings(db):
    """update() keeps every other stored value and returns what is now stored."""
    st.save(db, EXAMPLE)
    now = st.update(db, {"min_employees": 500, "target_regions": ["APAC", "LATAM"]})
    assert now == stored(db)
    assert now.min_employees == 500 and now.target_regions == ("APAC", "LATAM")
    assert now.currency == "EUR" and now.crm_record_url == EXAMPLE.crm_record_url


def test_refused_update_writes_nothing(db):
    """A refused value raises before the swap: the file is byte-for-byte unchanged."""
    st.save(db, EXAMPLE)
    before = db.read_bytes()
    with pytest.raises(ValueError, match="currency"):
        st.update(db, {"min_employees": 10, "currency": "euro"})
    assert db.read_bytes() == before


def test_load_is_hashable(db):
    """Loaded settings are frozen and hashable, so they can key a cache."""
    st.save(db, EXAMPLE)
    a, b = stored(db), stored(db)
    assert hash(a) == hash(b) and {a: 1}[b] == 1
    with pytest.raises(AttributeError):
        a.currency = "GBP"


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"target_industries": "Software"}, "target_industries must be a list of non-empty labels"),
        ({"target_regions": ["EMEA", 3]}, "target_regions must be a list of non-empty labels"),
        ({"target_regions": ["EMEA", " "]}, "target_regions must be a list of non-empty labels"),
        ({"min_employees": -1}, "min_employees must be a whole number >= 0, got -1"),
        ({"min_employees": 2.5}, "min_employees must be a whole number >= 0, got 2.5"),
        ({"min_employees": True}, "min_employees must be a whole number >= 0, got True"),
        ({"senior_title_pattern": "(VP"}, "senior_title_pattern must be a regular expression"),
        ({"senior_title_pattern": ""}, "senior_title_pattern must be a non-empty regular"),
        ({"currency": "usd"}, "currency must be a 3-letter ISO code like USD, got 'usd'"),
        ({"currency": "EURO"}, "currency must be a 3-letter ISO code like USD, got 'EURO'"),
        ({"crm_record_url": "https://crm/x"}, "crm_record_url must contain {lead_id}"),
        ({"crm_record_url": "javascript:{lead_id}"}, "crm_record_url must start with https://"),
        ({"crm_record_url": "https://crm/{lead_id}/{x}"}, "only the placeholder {lead_id}"),
        ({"crm_record_url": 5}, "crm_record_url must be text, got 5"),
        ({"show_personal_data": "yes"}, "show_personal_data must be true or false, got 'yes'"),
        ({"colour": "blue"}, "unknown setting(s) colour; expected one of target_industries"),
    ],
)
def test_every_refused_value_names_its_setting(values, message):
    """Each check raises ValueError naming the setting and what arrived."""
    with pytest.raises(ValueError) as info:
        st.from_mapping(values)
    assert message in str(info.value)


def test_a_stored_value_that_fails_its_check_is_named(db):
    """A stored value that no longer passes (edited by hand) raises naming the setting."""
    with store.write_session(db) as con:
        con.execute(st.SETTINGS_DDL)
        con.execute("INSERT INTO settings VALUES ('currency', '\"dollars\"')")
        con.execute("INSERT INTO settings VALUES ('some_future_key', '1')")
    with pytest.raises(ValueError, match="currency must be a 3-letter ISO code"):
        stored(db)


def test_an_unreadable_stored_value_is_named(db):
    """A stored value that is not JSON raises naming the setting."""
    with store.write_session(db) as con:
        con.execute(st.SETTINGS_DDL)
        con.execute("INSERT INTO settings VALUES ('min_employees', 'many')")
    with pytest.raises(ValueError, match="stored setting min_employees is not readable"):
        stored(db)


def test_from_toml_keeps_base_for_missing_keys_and_names_errors():
    """TOML sets only the keys it names; bad TOML and bad values raise ValueError."""
    got = st.from_toml('currency = "GBP"\ntarget_regions = ["EMEA"]\n', base=EXAMPLE)
    assert got.currency == "GBP" and got.target_regions == ("EMEA",)
    assert got.min_employees == EXAMPLE.min_employees
    with pytest.raises(ValueError, match="not valid TOML"):
        st.from_toml("currency = ")
    with pytest.raises(ValueError, match="min_employees must be a whole number"):
        st.from_toml('min_employees = "200"')


@pytest.mark.parametrize(
    ("key", "text", "value"),
    [
        ("target_regions", "EMEA, North America", ("EMEA", "North America")),
        ("target_regions", '["EMEA", "North America"]', ("EMEA", "North America")),
        ("target_industries", '["Retail, Wholesale"]', ("Retail, Wholesale",)),
        ("target_industries", "", ()),
        ("min_employees", " 500 ", 500),
        ("show_personal_data", "yes", True),
        ("show_personal_data", "False", False),
        ("currency", "EUR", "EUR"),
    ],
)
def test_parse_value_reads_command_line_text(key, text, value):
    """Lists are comma-separated or JSON, booleans true/false words, numbers whole."""
    assert st.parse_value(key, text) == value


@pytest.mark.parametrize(
    ("key", "text", "message"),
    [
        ("min_employees", "lots", "min_employees must be a whole number >= 0, got 'lots'"),
        ("show_personal_data", "maybe", "show_personal_data must be true or false"),
        ("target_regions", "[EMEA", "target_regions must be a JSON list or comma-separated"),
        ("colour", "blue", "unknown setting 'colour'"),
    ],
)
def test_parse_value_errors_name_the_setting(key, text, message):
    """Text that cannot be the setting's type raises ValueError naming the setting."""
    with pytest.raises(ValueError) as info:
        st.parse_value(key, text)
    assert message in str(info.value)


@pytest.mark.parametrize("key", st.KEYS)
def test_to_text_reads_back_to_the_same_value(key):
    """to_text and parse_value are inverses for every setting (a label with a comma too)."""
    assert st.parse_value(key, st.to_text(EXAMPLE, key)) == getattr(EXAMPLE, key)


def test_load_inside_a_write_session_of_an_old_file(db):
    """Inside a write transaction, a file without settings reads as defaults and the
    transaction stays usable (the missing table is asked about, not queried)."""
    with store.write_session(db) as con:
        assert st.load(con) == st.DEFAULTS
        st.write(con, EXAMPLE)
    assert stored(db) == EXAMPLE
