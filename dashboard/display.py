"""The one display layer: human labels for stored codes and the number formats every page uses.

A stored code (``paid_search``, ``no_budget``, ``senior_title``, ``mql``) never reaches the screen
as it is: :func:`label` turns it into words, :func:`label_frame` does so for a table's column names
and its code columns. Numbers go through the ``fmt_*`` functions so a count, a share, a duration or
an amount reads the same on every page and in the report. :func:`chart` draws a plotly figure
with the one-sentence summary that says what it shows (and stands in for it as alt text).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from typing import Any

import pandas as pd

from analysis.lifecycle import measurable

NOT_SET = "(not set)"
"""What a missing label shows: never merged with a real value such as the literal ``unknown``."""

MISSING = "–"
"""What a missing number shows."""

NOT_MEASURABLE = measurable.NOT_MEASURABLE
"""What a number the history cannot support shows instead of 0 (pages and report alike)."""

LABELS: dict[str, str] = {
    # stages
    "lead": "Lead",
    "mql": "MQL",
    "sql": "SQL",
    "opportunity": "Opportunity",
    "customer": "Customer (won)",
    "disqualified": "Disqualified",
    "nurture": "Nurture",
    # sources
    "organic_search": "Organic search",
    "paid_search": "Paid search",
    "paid_social": "Paid social",
    "referral": "Referral",
    "partner": "Partner",
    "direct": "Direct",
    "email": "Email",
    "events": "Events",
    # dispositions and rejection reasons
    "accepted": "Accepted",
    "rejected": "Rejected",
    "bad_data": "Bad data",
    "no_budget": "No budget",
    "no_need": "No need",
    "not_decision_maker": "Not the decision maker",
    "wrong_contact_data": "Wrong contact data",
    "bad_timing": "Bad timing",
    "competitor": "Competitor",
    "existing_customer": "Existing customer",
    "student_or_job_seeker": "Student or job seeker",
    "duplicate": "Duplicate",
    "other": "Other",
    # opportunity outcomes and lost reasons
    "won": "Won",
    "lost": "Lost",
    "open": "Open",
    "price": "Price",
    "champion_left": "Champion left",
    "no_decision": "No decision",
    "timing": "Timing",
    "missing_feature": "Missing feature",
    # touchpoints and activities
    "form_submit": "Form submit",
    "email_open": "Email open",
    "email_click": "Email click",
    "page_view": "Page view",
    "content_download": "Content download",
    "demo_request": "Demo request",
    "webinar": "Webinar",
    "chat": "Chat",
    "call": "Call",
    "meeting": "Meeting",
    "demo": "Demo",
    # SLA tiers and rules
    "hot": "Hot",
    "standard": "Standard",
    "default": "Default",
    # dimensions and common columns
    "source": "Source",
    "campaign": "Campaign",
    "region": "Region",
    "country": "Country",
    "industry": "Industry",
    "size_band": "Company size",
    "team": "Team",
    "rep": "Rep",
    "rep_id": "Rep",
    "lead_id": "Lead",
    "owner": "Owner",
    "company": "Company",
    "batch_id": "Import batch",
    "created_at": "Created",
    "email_domain_kind": "Email domain",
    "corporate": "Corporate",
    "free": "Free",
    "sdr": "SDR",
    "ae": "AE",
    # target metrics
    "leads": "Leads",
    "mqls": "MQLs",
    "sqls": "SQLs",
    "opportunities": "Opportunities",
    "deals_won": "Deals won",
    "won_revenue": "Won revenue",
    "pct_contacted_in_sla": "Share contacted within SLA",
    # scoring features
    "senior_title": "Senior title",
    "target_industry": "Target industry",
    "target_region": "Target region",
    "corporate_email": "Corporate email",
    "pricing_visits": "Pricing page visits",
    "employees_200plus": "200+ employees",
    "employees_1000plus": "1,000+ employees",
    "pricing_page": "Pricing page",
    "careers_only": "Careers page only",
    "blog_over_hour": "Blog reading ≥ 1 hour",
    "case_study": "Case study",
    "product_page": "Product page",
    "tofu_download": "Top-of-funnel download",
    "mofu_download": "Mid-funnel download",
    "bofu_download": "Bottom-of-funnel download",
    "current_mean": "Current average",
}
"""Codes whose words are not just the code with spaces (plus the common ones, for one place)."""

_UPPER_WORDS = {
    *("mql", "sql", "sla", "crm", "id", "sdr", "ae", "url", "csv", "utm", "auc"),
    *("tofu", "mofu", "bofu"),
}


def label(code: Any) -> str:
    """Words for a stored code: ``paid_search`` → ``Paid search``; missing → ``(not set)``.

    Codes in :data:`LABELS` use their entry; any other code has its underscores turned into
    spaces, its first letter capitalised and known abbreviations (MQL, SLA, CRM …) upper-cased.
    Text that is already words (``Software & Internet``) is returned as it is.
    """
    if code is None or code is pd.NA or (isinstance(code, float) and math.isnan(code)):
        return NOT_SET
    text = str(code)
    if text == "":
        return NOT_SET
    if text in LABELS:
        return LABELS[text]
    if "_" not in text and not text.islower():
        return text
    words = [w.upper() if w in _UPPER_WORDS else w for w in re.split(r"[_\s]+", text) if w]
    if not words:
        return NOT_SET
    first = words[0]
    words[0] = first if first.isupper() else first[:1].upper() + first[1:]
    return " ".join(words)


def label_frame(
    frame: pd.DataFrame,
    code_columns: Iterable[str] = (),
    names: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """A copy of ``frame`` for display: code columns in words, column names in words.

    ``code_columns`` hold stored codes (their values go through :func:`label`); ``names`` overrides
    the words of particular column names; every other column name goes through :func:`label`.
    """
    out = frame.copy()
    for column in code_columns:
        if column in out.columns:
            out[column] = out[column].map(label)
    overrides = dict(names or {})
    out.columns = [overrides.get(str(c), label(c)) for c in out.columns]
    return out


# --------------------------------------------------------------------------------------
# Number formats
# --------------------------------------------------------------------------------------


def is_missing(value: Any) -> bool:
    """True for None, NA, NaT and NaN."""
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    return isinstance(value, float) and math.isnan(value)


def card_value(text: str) -> str:
    """A metric card's value as markdown: "not measurable" in body-size type.

    At a card's number size the words need ~260 px and a quarter of the main area is
    ~200 px at 1400 px, so Streamlit cut them to "not measura…"; a number is left as is.
    """
    return f":small[{text}]" if text == NOT_MEASURABLE else text


def fmt_count(value: Any) -> str:
    """A count as ``1,234`` (``–`` when missing; fractions rounded)."""
    if is_missing(value):
        return MISSING
    if isinstance(value, float) and math.isinf(value):
        return "∞"
    return f"{value:,.0f}"


def fmt_share(value: Any, digits: int = 1) -> str:
    """A share 0–1 as ``80.2%`` (one decimal everywhere unless a page says otherwise)."""
    if is_missing(value):
        return MISSING
    return f"{value:.{digits}%}"


def fmt_points(change: Any) -> str:
    """A change between two shares in percentage points: ``+11.1 pts``."""
    if is_missing(change):
        return MISSING
    return f"{change * 100:+.1f} pts"


def fmt_money(value: Any, currency: str = "") -> str:
    """An amount with its currency code: ``USD 852,800`` (no code when the company set none)."""
    if is_missing(value):
        return MISSING
    text = f"{value:,.0f}"
    return f"{currency} {text}" if currency else text


def fmt_duration(minutes: Any) -> str:
    """A duration given in minutes as ``42 min``, ``3.5 h`` or ``2.1 d``."""
    if is_missing(minutes):
        return MISSING
    if minutes < 60:
        return f"{minutes:.0f} min"
    if minutes < 1440:
        return f"{minutes / 60:.1f} h"
    return f"{minutes / 1440:.1f} d"


def fmt_target(minutes: Any) -> str:
    """An SLA target as people say it: ``15 min``, ``24 h``, ``3 d`` (other values as
    :func:`fmt_duration`). The one wording of a target on every page."""
    if is_missing(minutes):
        return MISSING
    m = float(minutes)
    if m < 60:
        return f"{m:g} min"
    if m <= 2880 and m % 60 == 0:
        return f"{m / 60:g} h"
    if m % 1440 == 0:
        return f"{m / 1440:g} d"
    return fmt_duration(m)


def fmt_ci(low: Any, high: Any, digits: int = 1) -> str:
    """A 95% interval of a share: ``50.5%–57.6%`` (``–`` when undefined)."""
    if is_missing(low) or is_missing(high):
        return MISSING
    return f"{fmt_share(low, digits)}–{fmt_share(high, digits)}"


def crm_link(template: str, lead_id: Any) -> str | None:
    """The lead's CRM record from the ``crm_record_url`` setting (``…/lead/{lead_id}``).

    None when the company set no template or the lead has no id.
    """
    if not template or is_missing(lead_id):
        return None
    from urllib.parse import quote

    return template.replace("{lead_id}", quote(str(lead_id), safe=""))


def mask_name(name: Any) -> str:
    """A person's name when personal data may not be shown: ``Grace Sharma`` → ``G. S.``."""
    if is_missing(name) or not str(name).strip():
        return NOT_SET
    return " ".join(f"{w[0]}." for w in str(name).split())


def fmt_p(p: Any) -> str:
    """A p-value: ``0.017``, ``<0.001``."""
    if is_missing(p):
        return MISSING
    return "<0.001" if p < 0.001 else f"{p:.3f}"


def chart(fig: Any, summary: str, *, key: str | None = None) -> None:
    """Draw ``fig`` with its one-sentence ``summary`` under it.

    The summary says what the chart shows in words (the number a reader should take away);
    it is the chart's text alternative for a screen reader and for anyone who cannot read
    the colours.
    """
    import streamlit as st

    fig.update_layout(meta={"summary": summary})
    st.plotly_chart(fig, key=key)
    st.caption(summary)


_NAV_FIX = """<script>
(() => {
  // Streamlit's sidebar navigation puts its sections (a div with a header) straight into
  // its list, which screen readers and axe-core refuse ("list", "listitem"). The links are
  // what matters: drop the list semantics so the nav reads as headed groups of links.
  // (No angle brackets in this script: the HTML sanitizer drops a script that has any.)
  const doc = window.parent && window.parent.document ? window.parent.document : document;
  if (doc.defaultView.__hhNavFix) return;
  doc.defaultView.__hhNavFix = true;
  const fix = () => {
    for (const ul of doc.querySelectorAll('[data-testid="stSidebarNavItems"]')) {
      if (ul.getAttribute('role') !== 'none') ul.setAttribute('role', 'none');
      for (const li of ul.querySelectorAll('li')) {
        if (li.getAttribute('role') !== 'none') li.setAttribute('role', 'none');
      }
    }
  };
  fix();
  new MutationObserver(fix).observe(doc.body, {childList: true, subtree: true});
})();
</script>"""


def accessibility_fixes() -> None:
    """Repair what Streamlit's own markup gets wrong for screen readers (call once per run).

    Its sidebar navigation with sections is a ``<ul>`` holding ``<div>`` sections, which
    axe-core reports as serious ("list", "listitem"); a small script removes the list
    semantics from it (the links, their headings and their order stay). The theme
    (``dashboard/.streamlit/config.toml``) and :mod:`dashboard.charts.common` settle colour
    contrast.
    """
    import streamlit as st

    st.sidebar.html(_NAV_FIX, unsafe_allow_javascript=True)
