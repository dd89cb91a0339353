"""The feature matrix: one row per lead as of its decision point, kept as numpy arrays.

Built by :func:`analysis.scoring.features.build_features`; lead properties are appended by
:func:`analysis.scoring.properties.add_properties`. Re-scoring with new points is one
matrix product over :attr:`FeatureMatrix.X`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import pandas as pd

OUTCOMES: tuple[str, ...] = ("sql", "opportunity", "customer")
"""Outcomes a lead can have reached after its handoff, in funnel order."""

DEFAULT_HORIZON_DAYS = 30
"""Days after creation that serve as the decision point of a lead never handed off."""


@dataclass(eq=False)
class FeatureMatrix:
    """The feature matrix of every lead, as of its decision point, plus its outcomes.

    Rows are leads sorted by ``lead_id``; every per-lead array below has length ``n``.
    Treat an instance as frozen: caches share it.

    Attributes
    ----------
    lead_ids : ndarray of str, shape (n,)
    X : ndarray of float32, shape (n, p)
        Feature values, 0 or 1 for the built-in features, as of the decision point.
    names : tuple of str, length p
        Column names of ``X``.
    kinds : tuple of str, length p
        ``'fit'`` or ``'engagement'`` per column.
    decision_at : ndarray of datetime64[us], shape (n,)
        Handoff time for handed-off leads, ``created_at + horizon_days`` otherwise (UTC).
    handed_off : ndarray of bool
        True when the lead was ever handed to sales (an ``mql`` or later stage change).
    created_at : ndarray of datetime64[us]
    reached_sql, reached_opportunity, reached_customer : ndarray of bool
        The lead's history shows that stage or a later one (at any time).
    sql_at, opportunity_at, customer_at : ndarray of datetime64[us]
        First entry of the stage (or of the next stage reached when it was skipped), NaT
        when never reached.
    owner, region : ndarray of object
        ``owner_rep_id`` and ``region`` of the lead, None when unknown.
    as_of : numpy.datetime64
        End of the data: the latest timestamp in any history table.
    horizon_days : int
        Decision horizon used for leads never handed off.
    target_regions, target_industries : tuple of str
        Values that made ``target_region`` / ``target_industry`` 1 (the company's settings).
    described : mapping of str to str
        What each column means, for people.
    absent : mapping of str to str
        Built-in features whose source data this history lacks (all 0), with the reason;
        their columns stay in ``X`` (so saved rules still replay) but are not offered.
    properties : tuple of str
        Lead properties appended as features (:mod:`analysis.scoring.properties`).
    one_hot_groups : mapping of str to tuple of str
        Property (or lead column) -> its one-hot columns; exactly one is 1 per lead.
    months : ndarray of datetime64[M]
        Every calendar month from the first decision month to the later of the last
        decision month and the month of ``as_of``, ascending.
    month_code : ndarray of int32
        Index into ``months`` of each lead's decision month.
    """

    lead_ids: np.ndarray
    X: np.ndarray
    names: tuple[str, ...]
    kinds: tuple[str, ...]
    decision_at: np.ndarray
    handed_off: np.ndarray
    created_at: np.ndarray
    reached_sql: np.ndarray
    reached_opportunity: np.ndarray
    reached_customer: np.ndarray
    sql_at: np.ndarray
    opportunity_at: np.ndarray
    customer_at: np.ndarray
    owner: np.ndarray
    region: np.ndarray
    as_of: np.datetime64
    horizon_days: int = DEFAULT_HORIZON_DAYS
    target_regions: tuple[str, ...] = ()
    target_industries: tuple[str, ...] = ()
    described: Mapping[str, str] = field(default_factory=dict)
    absent: Mapping[str, str] = field(default_factory=dict)
    properties: tuple[str, ...] = ()
    one_hot_groups: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    months: np.ndarray = field(default_factory=lambda: np.array([], dtype="datetime64[M]"))
    month_code: np.ndarray = field(default_factory=lambda: np.array([], dtype=np.int32))

    def __post_init__(self) -> None:
        if len(self.months) == 0 and len(self.decision_at):
            # Every calendar month from the first decision month to the later of the last
            # decision month and the end of the data, gaps included (a month without any
            # decision point is a month with 0 MQLs, not a missing month).
            decision_month = self.decision_at.astype("datetime64[M]")
            first, last = decision_month.min(), decision_month.max()
            if not np.isnat(self.as_of):
                last = max(last, np.datetime64(self.as_of, "M"))
            self.months = np.arange(first, last + 1, dtype="datetime64[M]")
            self.month_code = (decision_month - first).astype(np.int32)

    @property
    def n(self) -> int:
        """Number of leads (rows of ``X``)."""
        return int(self.X.shape[0])

    def index(self, name: str) -> int:
        """Column of ``X`` holding feature ``name``; KeyError listing the known names."""
        try:
            return self.names.index(name)
        except ValueError:
            raise KeyError(
                f"unknown feature {name!r}; known features: {', '.join(self.names)}"
            ) from None

    def column(self, name: str) -> np.ndarray:
        """The values of feature ``name`` (a view into ``X``)."""
        return self.X[:, self.index(name)]

    @cached_property
    def _owner_factors(self) -> tuple[np.ndarray, np.ndarray]:
        codes, labels = pd.factorize(self.owner, use_na_sentinel=True)
        return codes.astype(np.int32), np.asarray(labels, dtype=object)

    @cached_property
    def _region_factors(self) -> tuple[np.ndarray, np.ndarray]:
        codes, labels = pd.factorize(self.region, use_na_sentinel=True)
        return codes.astype(np.int32), np.asarray(labels, dtype=object)

    @property
    def owner_code(self) -> np.ndarray:
        """Index of each lead's owner into :attr:`owner_labels`, -1 when unknown (int32)."""
        return self._owner_factors[0]

    @property
    def owner_labels(self) -> np.ndarray:
        """Distinct owner rep ids, in order of first appearance."""
        return self._owner_factors[1]

    @property
    def region_code(self) -> np.ndarray:
        """Index of each lead's region into :attr:`region_labels`, -1 when unknown (int32)."""
        return self._region_factors[0]

    @property
    def region_labels(self) -> np.ndarray:
        """Distinct regions, in order of first appearance."""
        return self._region_factors[1]

    def complete_months(self) -> np.ndarray:
        """Whether each month of the historical window is complete (bool per month).

        The window is :attr:`months` up to the month of :attr:`as_of`; a month is complete
        when the data reaches past its last day.

        The month holding the end of the data is partly observed, hence not complete
        (:func:`analysis.definitions.is_complete_month`).
        """
        if np.isnat(self.as_of):
            return np.zeros(0, dtype=bool)
        as_of_month = self.as_of.astype("datetime64[M]")
        window = self.months[: int(np.searchsorted(self.months, as_of_month, side="right"))]
        return window < as_of_month

    def mqls_months(self) -> np.ndarray:
        """The months "MQLs per month" averages over (bool per month of the window).

        The complete months, or every month of the window when none is complete.
        """
        complete = self.complete_months()
        return complete if complete.any() else np.ones(len(complete), dtype=bool)

    def in_mqls_months(self) -> np.ndarray:
        """True for a decided lead whose decision month is one :meth:`mqls_months` counts.

        The leads "MQLs per month" counts (per lead, bool); all False without such a month.
        """
        months = self.mqls_months()
        counted = self.decided & (self.month_code < len(months))
        counted[counted] = months[self.month_code[counted]]
        return counted

    @property
    def decided(self) -> np.ndarray:
        """True when the decision point is at or before the end of the data.

        A lead created less than ``horizon_days`` before the end of the data and not yet
        handed off has its decision point in the future: it belongs to no month of the
        historical window yet.
        """
        return self.decision_at <= self.as_of

    def reached_at(self, name: str) -> np.ndarray:
        """Time the lead reached outcome ``name`` (``'sql'``, ``'opportunity'``, ``'customer'``)."""
        _check_outcome(name)
        return getattr(self, f"{name}_at")

    def outcome(self, name: str, within_days: float | None = None) -> np.ndarray:
        """Whether each lead reached outcome ``name``, optionally within a window.

        Parameters
        ----------
        name : {'sql', 'opportunity', 'customer'}
            The stage; reaching it means the history shows it or any later stage.
        within_days : float, optional
            When given, the stage must have been reached at most this many days after the
            decision point.

        Returns
        -------
        ndarray of bool, shape (n,)
            Use together with :meth:`observed`: a False here is only meaningful where the
            outcome is observed.
        """
        _check_outcome(name)
        reached = getattr(self, f"reached_{name}")
        if within_days is None:
            return reached.copy()
        _check_window(within_days)
        limit = self.decision_at + _days(within_days)
        at = self.reached_at(name)
        return reached & (at <= limit)

    def observed(self, within_days: float | None = None) -> np.ndarray:
        """Whether the outcome of each lead is known.

        Only leads handed off to sales can have been accepted, so leads never handed off
        have no observed outcome. With a window of ``within_days`` days, a lead is also
        unobserved while its decision point is less than ``within_days`` before
        :attr:`as_of` (an immature cohort).
        """
        observed = self.handed_off.copy()
        if within_days is not None:
            _check_window(within_days)
            observed &= self.decision_at + _days(within_days) <= self.as_of
        return observed

    def frame(self, rows: np.ndarray | slice | None = None) -> pd.DataFrame:
        """The matrix as a DataFrame (lead_id, decision_at, handed_off, then features)."""
        sel = slice(None) if rows is None else rows
        out = pd.DataFrame(
            {
                "lead_id": self.lead_ids[sel],
                "decision_at": self.decision_at[sel],
                "handed_off": self.handed_off[sel],
            }
        )
        feats = pd.DataFrame(self.X[sel], columns=list(self.names))
        return pd.concat([out, feats], axis=1)

    @property
    def offered(self) -> tuple[str, ...]:
        """Feature names the lab offers: every column except the :attr:`absent` built-ins."""
        return tuple(n for n in self.names if n not in self.absent)

    def reference_levels(self) -> tuple[str, ...]:
        """The most frequent column of each one-hot group of two or more columns.

        A group's columns add up to 1 for every lead, so together with the intercept one
        of them is redundant: the model leaves the most frequent one out (0 points) and
        the others' points are relative to it.
        """
        out = []
        for cols in self.one_hot_groups.values():
            if len(cols) >= 2:
                means = [float(self.column(c).mean()) for c in cols]
                out.append(cols[int(np.argmax(means))])
        return tuple(out)

    def catalogue(self, include_absent: bool = False) -> pd.DataFrame:
        """One row per offered feature: ``feature``, ``kind``, ``description``, ``share``.

        ``share`` is the mean of the column: for a 0/1 feature the share of all leads that
        have it, for a numeric property its mean value. With ``include_absent`` the
        features not offered are listed too, with the reason as their description.
        """
        share = self.X.mean(axis=0, dtype=np.float64) if self.n else np.zeros(len(self.names))
        keep = [include_absent or n not in self.absent for n in self.names]
        text = [
            self.absent.get(n) or self.described.get(n) or _describe_extra(n) for n in self.names
        ]
        out = pd.DataFrame(
            {
                "feature": list(self.names),
                "kind": list(self.kinds),
                "description": text,
                "share": share,
            }
        )
        return out.loc[keep].reset_index(drop=True)


def _describe_extra(name: str) -> str:
    prop, _, value = name.partition("=")
    return f"{prop} is {value}"


def _days(days: float) -> np.timedelta64:
    return np.timedelta64(int(round(days * 86_400_000_000)), "us")


def _check_outcome(name: str) -> None:
    if name not in OUTCOMES:
        raise ValueError(f"outcome must be one of {', '.join(OUTCOMES)}, got {name!r}")


def _check_window(within_days: float) -> None:
    if not np.isfinite(within_days) or within_days < 0:
        raise ValueError(f"within_days must be a non-negative number of days, got {within_days}")


def _check_horizon(horizon_days: int) -> None:
    if isinstance(horizon_days, bool) or not isinstance(horizon_days, int | np.integer):
        raise TypeError(f"horizon_days must be a whole number of days, got {horizon_days!r}")
    if horizon_days <= 0:
        raise ValueError(f"horizon_days must be at least 1 day, got {horizon_days}")
