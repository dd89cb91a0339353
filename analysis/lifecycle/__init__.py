"""Lifecycle metrics: every number about the lead's path from marketing to a won deal.

Everything here builds on :mod:`analysis.definitions` (reached-stage SQL with the skip
rule, handoff and won stages, "as of", complete months, the named meanings of a
conversion rate), which sits below this package because the scoring lab uses it too.
Modules, from the bottom up:

- ``measurable``: what a history can support, and why not (no activities, dispositions,
  amounts, targets, dates; a funnel that starts at the opportunity);
- ``entries``: the lead-level relation (first entry per stage) everything builds on;
- ``funnel`` (stage entries, cohort conversion, velocity, breakdowns), ``changes``
  (rate changes beyond noise), ``deals`` (won, lost, open: one definition of won);
- ``handoffs`` (one row per MQL handoff with its SLA outcome) and ``sla`` (response times,
  compliance, the breach queue, speed to lead);
- ``rejections``, ``metrics`` (the headline behind ``handoff metrics``) and ``review``
  (the monthly review, a package split by section).
"""
