"""Lifecycle metrics: every number about the lead's path from marketing to a won deal.

Modules, from the definitions up:

- ``definitions``: reached-stage SQL (skip rule), handoff and won stages, "as of",
  complete months, and the named meanings of a conversion rate;
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
