"""The canary judge: is the canary worse than its baseline, or proven within tolerance?

The vocabulary every judge shares:

* :class:`Counts` — one analysis window's increments: canary errors and requests, baseline
  errors and requests (or, for latency, slow requests and requests). A frozen record that
  refuses counts that cannot be (negative, more errors than requests).
* :class:`Verdict` — ``fail`` (the canary is worse), ``pass`` (the canary is proven within
  tolerance), ``continue`` (a streaming judge wants more data) and ``inconclusive`` (a
  judgement over a finished range that could not decide: no data, or too little).
* :class:`JudgeKind` — the judges gate offers.

``count_judge("sequential", alpha=…, max_ratio=…)`` returns a :class:`CountJudge`: its
``update(Counts(...))`` — or ``update(canary_errors=, canary_requests=, baseline_errors=,
baseline_requests=)`` — takes one window and returns ``fail``, ``pass`` or ``continue``. A
judge keeps its own state; a new canary gets a new judge. See :mod:`gate.judge.sequential`
(error counts), :mod:`gate.judge.latency` (slow requests), :mod:`gate.judge.history` (a past
range, for ``gate judge`` and ``gate serve``) and :mod:`gate.judge.kayenta` (Kayenta's
Mann-Whitney classifier for any metric series).

This package's ``__init__`` imports only the standard library, so that importing the
vocabulary costs nothing on ``gate check``'s start-up path.
"""

from __future__ import annotations

import abc
import enum
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, overload

if TYPE_CHECKING:
    from gate.judge.sequential import RatioInterval


class Verdict(enum.StrEnum):
    PASS = "pass"  # noqa: S105 - a verdict, not a password
    FAIL = "fail"
    CONTINUE = "continue"
    INCONCLUSIVE = "inconclusive"


class JudgeKind(enum.StrEnum):
    SEQUENTIAL = "sequential"  # error counts, anytime-valid (gate.judge.sequential)
    SEQUENTIAL_LATENCY = "sequential-latency"  # slow-request counts (gate.judge.latency)
    MANN_WHITNEY = "mann-whitney"  # Kayenta's classifier on two series (gate.judge.kayenta)


_FIELDS = ("canary_errors", "canary_requests", "baseline_errors", "baseline_requests")


@dataclass(frozen=True, slots=True)
class Counts:
    """One window's (or a range's) errors and requests per arm."""

    canary_errors: int
    canary_requests: int
    baseline_errors: int
    baseline_requests: int

    def __post_init__(self) -> None:
        for name in _FIELDS:
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int):
                raise TypeError(f"{name} must be an int, not {type(value).__name__}")
            if value < 0:
                raise ValueError(f"{name} is {value}; counts cannot be negative")
        if (
            self.canary_errors > self.canary_requests
            or self.baseline_errors > self.baseline_requests
        ):
            raise ValueError("more errors than requests in a window")

    def __add__(self, other: Counts) -> Counts:
        return Counts(
            self.canary_errors + other.canary_errors,
            self.canary_requests + other.canary_requests,
            self.baseline_errors + other.baseline_errors,
            self.baseline_requests + other.baseline_requests,
        )

    @property
    def errors(self) -> int:
        return self.canary_errors + self.baseline_errors

    @property
    def requests(self) -> int:
        return self.canary_requests + self.baseline_requests

    @property
    def canary_rate(self) -> float | None:
        return self.canary_errors / self.canary_requests if self.canary_requests else None

    @property
    def baseline_rate(self) -> float | None:
        return self.baseline_errors / self.baseline_requests if self.baseline_requests else None

    def as_dict(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in _FIELDS}


NO_COUNTS = Counts(0, 0, 0, 0)


def counts_of(counts: Counts | None, keywords: Mapping[str, Any]) -> Counts:
    """The window an ``update`` call was given: a :class:`Counts`, or the four keywords."""
    if counts is not None:
        if keywords:
            raise TypeError("give update() a Counts or the four count keywords, not both")
        if not isinstance(counts, Counts):
            raise TypeError(f"update() takes a Counts, not {type(counts).__name__}")
        return counts
    if set(keywords) != set(_FIELDS):
        missing = sorted(set(_FIELDS) - set(keywords))
        unknown = sorted(set(keywords) - set(_FIELDS))
        raise TypeError(
            "update() needs a Counts or canary_errors=, canary_requests=, baseline_errors=, "
            f"baseline_requests= (missing {missing}, unknown {unknown})"
        )
    return Counts(**keywords)


class CountJudge(Protocol):
    """What a count judge offers: one window in, a verdict out."""

    @overload
    def update(self, counts: Counts, /) -> Verdict: ...

    @overload
    def update(
        self,
        *,
        canary_errors: int,
        canary_requests: int,
        baseline_errors: int,
        baseline_requests: int,
    ) -> Verdict: ...


class ProvingJudge(CountJudge, Protocol):
    """A count judge that also proves safety: what a rollout needs to end a stage early.

    ``proven`` — the canary is proven within the judge's ``max_ratio`` (stays true once
    reached; a later ``failed`` still wins in ``verdict``); ``interval`` — the anytime-valid
    bounds on the ratio; ``totals`` and ``windows`` — the data seen."""

    @property
    def failed(self) -> bool: ...

    @property
    def proven(self) -> bool: ...

    @property
    def verdict(self) -> Verdict: ...

    @property
    def interval(self) -> RatioInterval: ...

    @property
    def totals(self) -> Counts: ...

    @property
    def windows(self) -> int: ...


class WindowJudge(abc.ABC):
    """Base of count judges: ``update`` accepts a :class:`Counts` or the four keywords and
    hands a validated :class:`Counts` to :meth:`observe`."""

    @overload
    def update(self, counts: Counts, /) -> Verdict: ...

    @overload
    def update(
        self,
        *,
        canary_errors: int,
        canary_requests: int,
        baseline_errors: int,
        baseline_requests: int,
    ) -> Verdict: ...

    def update(
        self,
        counts: Counts | None = None,
        *,
        canary_errors: int | None = None,
        canary_requests: int | None = None,
        baseline_errors: int | None = None,
        baseline_requests: int | None = None,
    ) -> Verdict:
        keywords = {
            name: value
            for name, value in zip(
                _FIELDS,
                (canary_errors, canary_requests, baseline_errors, baseline_requests),
                strict=True,
            )
            if value is not None
        }
        return self.observe(counts_of(counts, keywords))

    @abc.abstractmethod
    def observe(self, counts: Counts) -> Verdict:
        """Take one window; return ``fail``, ``pass`` or ``continue``."""


def count_judge(kind: str, **params: Any) -> ProvingJudge:
    """A new count judge of ``kind`` with its own parameters. gate offers ``sequential``
    (:class:`gate.judge.sequential.SequentialCountJudge`); the judges it is compared with
    (Flagger's threshold, Argo's ratio, Kayenta per window, the oracle SPRT) live in
    ``benchmarks/judge``."""
    if kind == JudgeKind.SEQUENTIAL:
        from gate.judge.sequential import SequentialCountJudge

        return SequentialCountJudge(**params)
    raise ValueError(f"unknown count judge {kind!r}; gate offers: {JudgeKind.SEQUENTIAL}")
