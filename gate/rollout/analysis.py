"""One analysis interval: run every metric's queries at once and judge each measurement.

A measurement is a success, failure, inconclusive or error:

* an empty result or NaN is *no data*, handled by the metric's ``onNoData`` (inconclusive by
  default; ``fail``; or ``pass`` as an explicit choice) and never a silent success;
* ``+Inf`` fails a ``max`` and passes a ``min`` (``-Inf`` the other way round), and fails
  a mann-whitney metric watching that direction (an infinite baseline is an error);
* several series are an error unless the metric says how to ``aggregate`` them;
* a provider failure is an error; errors in a row past ``consecutiveErrorLimit`` fail.

Limits follow Argo Rollouts: a metric fails the rollout when its failures exceed
``failureLimit`` (0: the first failure), pauses or fails it when its inconclusive measurements
exceed ``inconclusiveLimit``, and fails it when errors in a row exceed ``consecutiveErrorLimit``.
A stage only ends when the last measurement of every metric, taken once the stage's time is
up, succeeded, so an analysis in which every measurement errored, or saw no data, can never
pass.
"""

from __future__ import annotations

import dataclasses
import enum
import math
import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, wait
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from gate.errors import ProviderError
from gate.judge import CountJudge, Counts, Verdict
from gate.providers.metrics.interface import MetricsProvider, QueryResult
from gate.rollout.spec import COUNT_QUERIES, Analysis, Direction, Metric, MetricJudge
from gate.rollout.templates import render
from gate.secrets import redact


class Outcome(enum.StrEnum):
    SUCCESS = "success"
    FAILURE = "failure"
    INCONCLUSIVE = "inconclusive"
    ERROR = "error"


@dataclass(frozen=True)
class Measurement:
    metric: str
    outcome: Outcome
    value: float | None = None
    baseline: float | None = None
    limit: str = ""
    message: str = ""
    dry_run: bool = False
    evidence: float | None = None  # the judge's statistic as a share of what fails: >= 1 fails

    def describe(self) -> str:
        value = "no data" if self.value is None else f"{self.value:.4g}"
        base = f" (baseline {self.baseline:.4g})" if self.baseline is not None else ""
        limit = f" [{self.limit}]" if self.limit else ""
        note = f": {self.message}" if self.message else ""
        return f"{self.metric}={value}{base}{limit} {self.outcome.value}{note}"


JudgeFactory = Callable[[Metric], CountJudge]


def _share_of_limit(
    value: float, baseline: float | None, high: float | None, m: Metric
) -> float | None:
    """How close a value is to failing its limits: 1 is the limit itself."""
    shares = []
    if high is not None and high > 0:
        shares.append(value / high)
    if m.min is not None and value > 0:
        shares.append(m.min / value)
    if m.max_ratio is not None and baseline:
        shares.append(value / baseline / m.max_ratio)
    return max(shares) if shares else None


def _share_of_evidence(judge: object) -> float | None:
    """A sequential judge's log e-value over log(1/α), the level it fails at (0 when none)."""
    log_e, alpha = getattr(judge, "log_evidence", None), getattr(judge, "alpha", None)
    if isinstance(log_e, float) and isinstance(alpha, float) and 0 < alpha < 1:
        return max(0.0, log_e / math.log(1 / alpha))
    return None


def default_judge_factory(metric: Metric) -> CountJudge:
    from gate.judge import count_judge

    judge: CountJudge = count_judge("sequential", alpha=metric.alpha)
    return judge


class _NoData(Exception):
    pass


def _times(n: int, what: str) -> str:
    return f"{what} {'once' if n == 1 else 'twice' if n == 2 else f'{n} times'}"


def _aggregate(how: str, values: list[float]) -> float:
    if how == "max":
        return max(values)
    if how == "min":
        return min(values)
    total = math.fsum(values)
    return total if how == "sum" else total / len(values)


def _value(result: QueryResult, aggregate: str) -> float:
    """The single value of ``result``; raises _NoData or ValueError (several series)."""
    values = [s.value for s in result.samples]
    if not values:
        raise _NoData("the query returned no series")
    if len(values) > 1:
        if aggregate == "error":
            raise ValueError(
                f"the query returned {len(values)} series; aggregate it in PromQL (sum, max) "
                "or set `aggregate`"
            )
        finite = [v for v in values if not math.isnan(v)]
        if not finite:
            raise _NoData("every series is NaN")
        values = [_aggregate(aggregate, finite)]
    if math.isnan(values[0]):
        raise _NoData("the value is NaN")
    return values[0]


@dataclass
class Analyzer:
    """Measures one interval and keeps the counts the limits are judged on."""

    analysis: Analysis
    provider: MetricsProvider
    template_values: Mapping[str, str]
    judge_factory: JudgeFactory = default_judge_factory
    failures: dict[str, int] = field(default_factory=dict)
    inconclusives: dict[str, int] = field(default_factory=dict)
    errors_in_a_row: dict[str, int] = field(default_factory=dict)
    last_outcome: dict[str, Outcome] = field(default_factory=dict)  # in this stage
    now: Callable[[], datetime] = lambda: datetime.now(UTC)
    _judges: dict[str, CountJudge] = field(default_factory=dict)
    _latency_judges: dict[str, Any] = field(default_factory=dict)
    _proof: dict[str, Any] = field(default_factory=dict)  # this stage's proving judges
    _series: dict[str, tuple[list[float], list[float]]] = field(default_factory=dict)
    _origin: datetime | None = None  # when the first stage's traffic was set
    _window_start: dict[str, datetime] = field(default_factory=dict)
    _carry: dict[str, dict[str, float]] = field(default_factory=dict)

    def queries(self) -> list[tuple[str, str]]:
        """Every (metric, rendered query) pair, for the start-up check."""
        return [(m.name, render(text, self.template_values))
                for m in self.analysis.metrics for text in m.queries()]  # fmt: skip

    def new_stage(self) -> None:
        self.last_outcome = {}
        self._proof = {}  # a canary is proven again at every traffic level
        self._series = {}
        if self._origin is None:
            self._origin = self.now()

    def stage_has_evidence(self) -> bool:
        """Whether the last measurement of every acting metric in this stage succeeded: a
        measurement that errored, saw no data or could not be read is never evidence, and
        a stage never ends on one."""
        return all(
            self.last_outcome.get(m.name) is Outcome.SUCCESS
            for m in self.analysis.metrics
            if not m.dry_run
        )

    def measure(
        self, error_threshold: float | None, stop: Callable[[], bool] = lambda: False
    ) -> list[Measurement] | None:
        """Measure every metric at once. ``stop`` is asked every quarter second while queries
        are in flight; when it says so, the measurement is abandoned (None) — the queries end
        on their own deadlines, nothing waits for them."""
        futures = [self._start(m, error_threshold) for m in self.analysis.metrics]
        pending = set(futures)
        while pending:
            _, pending = wait(pending, timeout=0.25)
            if pending and stop():
                return None
        return [f.result() for f in futures]

    def _start(self, m: Metric, error_threshold: float | None) -> Future[Measurement]:
        """Measure ``m`` in a daemon thread: one that is abandoned (on abort or interrupt)
        ends on its own deadline and never holds the process at exit, as the non-daemon
        workers of a thread pool would."""
        future: Future[Measurement] = Future()

        def work() -> None:
            future.set_running_or_notify_cancel()
            try:
                future.set_result(self._measure(m, error_threshold))
            except BaseException as exc:  # noqa: BLE001 - handed to the waiting caller
                future.set_exception(exc)

        threading.Thread(target=work, name=f"measure-{m.name}", daemon=True).start()
        return future

    def _query(self, text: str) -> QueryResult:
        return self.provider.query(render(text, self.template_values), at=self.now())

    def _measure(self, m: Metric, error_threshold: float | None) -> Measurement:
        try:
            return self._judge(m, error_threshold)
        except Exception as exc:  # noqa: BLE001 - an answer gate cannot use is a failed measurement
            return Measurement(
                m.name,
                Outcome.ERROR,
                limit=m.limit_text(error_threshold),
                message=redact(f"the answer could not be used ({type(exc).__name__}: {exc})"),
                dry_run=m.dry_run,
            )

    def _judge(self, m: Metric, error_threshold: float | None) -> Measurement:
        limit = m.limit_text(error_threshold)

        def result(
            outcome: Outcome,
            value: float | None = None,
            baseline: float | None = None,
            message: str = "",
            evidence: float | None = None,
        ) -> Measurement:
            return Measurement(
                m.name, outcome, value, baseline, limit, message, m.dry_run, evidence
            )

        try:
            if m.judge == "sequential":
                return self._sequential(m, result)
            if m.judge == "sequential-latency":
                return self._latency(m, result)
            if m.judge is MetricJudge.MANN_WHITNEY:
                return self._series_measure(m, result)
            if m.anomaly is not None and m.max is None and m.min is None and m.max_ratio is None:
                return self._anomaly(m, result)
            try:
                value = _value(self._query(m.query), m.aggregate)
            except _NoData as exc:
                return self._no_data(m, result, str(exc))
            baseline = None
            if m.baseline_query:
                try:
                    baseline = _value(self._query(m.baseline_query), m.aggregate)
                except _NoData as exc:
                    return self._no_data(m, result, f"baseline: {exc}", value)
        except ProviderError as exc:
            return result(Outcome.ERROR, message=redact(str(exc)))
        except ValueError as exc:
            return result(Outcome.ERROR, message=redact(str(exc)))
        high = error_threshold if (error_threshold is not None and m.error_metric) else m.max
        share = _share_of_limit(value, baseline, high, m)
        if high is not None and value > high:
            return result(Outcome.FAILURE, value, baseline, f"above {high:g}", share)
        if m.min is not None and value < m.min:
            return result(Outcome.FAILURE, value, baseline, f"below {m.min:g}", share)
        if m.max_ratio is not None and baseline is not None:
            if not math.isfinite(baseline):  # inf/inf is NaN, which passes every limit
                return result(
                    Outcome.ERROR,
                    value,
                    baseline,
                    "the baseline's value is infinite: no comparison",
                )
            if baseline == 0:
                if value > 0:
                    return result(
                        Outcome.FAILURE, value, baseline, "baseline is 0 and canary is not"
                    )
            elif value / baseline > m.max_ratio:
                return result(
                    Outcome.FAILURE,
                    value,
                    baseline,
                    f"{value / baseline:.3g}× baseline, above {m.max_ratio:g}×",
                    share,
                )
        if m.anomaly is not None:
            return self._anomaly(m, result)
        return result(Outcome.SUCCESS, value, baseline, evidence=share)

    def _anomaly(self, m: Metric, result: Callable[..., Measurement]) -> Measurement:
        """The metric against its own history at this time of week, with the period before
        the rollout setting today's level: an anomaly fails, too little history is
        inconclusive — never a pass."""
        from gate.anomaly import Verdict as Anomaly
        from gate.anomaly import assess

        assert m.anomaly is not None
        settings = dataclasses.replace(
            m.anomaly, query=render(m.anomaly.query, self.template_values)
        )
        try:
            found = assess(self.provider, settings, at=self.now(), since=self._origin)
        except (ProviderError, ValueError) as exc:
            return result(Outcome.ERROR, message=redact(f"history: {exc}"))
        outcome = {
            Anomaly.ANOMALY: Outcome.FAILURE,
            Anomaly.NORMAL: Outcome.SUCCESS,
            Anomaly.INCONCLUSIVE: Outcome.INCONCLUSIVE,
        }[found.verdict]
        return result(outcome, found.value, found.expected, found.message, found.evidence)

    def _no_data(
        self, m: Metric, result: Callable[..., Measurement], why: str, value: float | None = None
    ) -> Measurement:
        outcome = {
            "inconclusive": Outcome.INCONCLUSIVE,
            "fail": Outcome.FAILURE,
            "pass": Outcome.SUCCESS,
        }[m.on_no_data]
        return result(outcome, value, None, f"no data ({why}); onNoData: {m.on_no_data}")

    def _partitioned(self, m: Metric) -> dict[str, int]:
        """The four counters' increases over exactly the time since this metric's previous
        measurement, evaluated at this one's timestamp: windows never overlap and leave no
        gap (a failed measurement leaves its time to the next window), counter resets are
        handled by increase(), and fractional (extrapolated) increases are carried over to
        the next window instead of being rounded away."""
        at = self.now()
        since = self._window_start.get(m.name) or self._origin or at
        millis = max(1, round((at - since).total_seconds() * 1000))
        raw: dict[str, float] = {}
        for key, selector in m.counters.items():
            query = f"sum(increase({render(selector, self.template_values)}[{millis}ms]))"
            try:
                value = _value(self.provider.query(query, at=at), "sum")
            except _NoData:
                value = 0.0
            if not math.isfinite(value) or value < 0:
                raise ValueError(f"{key} increased by {value}; expected a count")
            raw[key] = value
        carry = dict(self._carry.get(m.name, {}))
        counts: dict[str, int] = {}
        for key, value in raw.items():
            total = value + carry.get(key, 0.0)
            counts[key] = math.floor(total + 1e-9)
            carry[key] = total - counts[key]
        for errors, requests in (("canaryErrors", "canaryRequests"),
                                 ("baselineErrors", "baselineRequests")):  # fmt: skip
            if counts[errors] > counts[requests]:  # rounding apart: never more errors than calls
                carry[errors] += counts[errors] - counts[requests]
                counts[errors] = counts[requests]
        self._window_start[m.name] = at
        self._carry[m.name] = carry
        return counts

    def _sequential(self, m: Metric, result: Callable[..., Measurement]) -> Measurement:
        counts: dict[str, int] = {}
        if m.counters:
            counts = self._partitioned(m)
        for key in () if m.counters else COUNT_QUERIES:
            try:
                raw = _value(self._query(m.count_queries[key]), "sum")
            except _NoData:
                raw = 0.0
            if math.isinf(raw) or raw < 0:
                raise ValueError(f"{key} is {raw}; expected a count")
            counts[key] = round(raw)
        if counts["canaryErrors"] > counts["canaryRequests"] or (
            counts["baselineErrors"] > counts["baselineRequests"]
        ):
            raise ValueError(f"more errors than requests: {counts}")
        judge = self._judges.get(m.name)
        if judge is None:
            judge = self._judges[m.name] = self.judge_factory(m)
        window = Counts(
            counts["canaryErrors"],
            counts["canaryRequests"],
            counts["baselineErrors"],
            counts["baselineRequests"],
        )
        verdict = judge.update(window)
        proof = self._prove(m, window)
        rate = (
            counts["canaryErrors"] / counts["canaryRequests"] if counts["canaryRequests"] else None
        )
        base = (
            counts["baselineErrors"] / counts["baselineRequests"]
            if counts["baselineRequests"]
            else None
        )
        evidence = _share_of_evidence(judge)
        if verdict == "fail":
            return result(
                Outcome.FAILURE, rate, base, "canary errors significantly above baseline", evidence
            )
        if counts["canaryRequests"] == 0:
            return self._no_data(m, result, "no canary requests in the interval")
        if counts["baselineRequests"] == 0:  # nothing to compare with: the judge learnt nothing
            return self._no_data(m, result, "no baseline requests in the interval", rate)
        return result(Outcome.SUCCESS, rate, base, proof, evidence=evidence)

    def _buckets(self, query: str) -> dict[float, float]:
        out: dict[float, float] = {}
        for sample in self._query(query).samples:
            le = sample.labels.get("le")
            if le is None:
                raise ValueError(
                    "a histogram query must keep the `le` label: "
                    "sum by (le) (increase(..._bucket[...]))"
                )
            out[math.inf if le in ("+Inf", "Inf") else float(le)] = sample.value
        return out

    def _latency(self, m: Metric, result: Callable[..., Measurement]) -> Measurement:
        from gate.judge.latency import LatencyJudge, slower_than

        assert m.threshold is not None
        canary = self._buckets(m.count_queries["canaryHistogram"])
        baseline = self._buckets(m.count_queries["baselineHistogram"])
        judge = self._latency_judges.get(m.name)
        if judge is None:
            judge = self._latency_judges[m.name] = LatencyJudge(
                threshold=m.threshold, alpha=m.alpha
            )
        verdict = judge.update(canary_buckets=canary, baseline_buckets=baseline)
        proof = ""
        if m.proves:
            stage = self._proof.get(m.name)
            if stage is None:
                stage = self._proof[m.name] = LatencyJudge(
                    threshold=m.threshold, alpha=m.alpha, max_ratio=m.max_ratio
                )
            stage.update(canary_buckets=canary, baseline_buckets=baseline)
            proof = self._proof_text(m, stage)
        slow_c, all_c = slower_than(canary, m.threshold)
        slow_b, all_b = slower_than(baseline, m.threshold)
        share = slow_c / all_c if all_c else None
        base = slow_b / all_b if all_b else None
        if verdict == "fail":
            return result(
                Outcome.FAILURE,
                share,
                base,
                f"canary significantly slower than {m.threshold:g}s more often",
            )
        if all_c == 0:
            return self._no_data(m, result, "no canary requests in the interval")
        if all_b == 0:  # nothing to compare with: the judge learnt nothing
            return self._no_data(m, result, "no baseline requests in the interval", share)
        return result(Outcome.SUCCESS, share, base, proof)

    # -- proof and stage-end judgements --------------------------------------------------------

    def _prove(self, m: Metric, window: Counts) -> str:
        """Feed this stage's proving judge; a few words on the proof so far."""
        if not m.proves:
            return ""
        from gate.judge import count_judge

        stage = self._proof.get(m.name)
        if stage is None:
            stage = self._proof[m.name] = count_judge(
                "sequential", alpha=m.alpha, max_ratio=m.max_ratio
            )
        stage.update(window)
        return self._proof_text(m, stage)

    @staticmethod
    def _proof_text(m: Metric, judge: Any) -> str:
        upper = judge.interval.upper
        bound = "unbounded" if not math.isfinite(upper) else f"≤ {upper:.3g}"
        state = "proven" if judge.proven else "not yet proven"
        return (
            f"ratio {bound} with {1 - m.alpha:.0%} confidence in this stage: {state} within "
            f"{m.max_ratio:g}×"
        )

    def stage_proven(self) -> bool:
        """Whether every acting metric is proven within its tolerance in this stage."""
        acting = [m for m in self.analysis.metrics if not m.dry_run]
        return bool(acting) and all(
            m.proves and m.name in self._proof and self._proof[m.name].proven for m in acting
        )

    def _series_measure(self, m: Metric, result: Callable[..., Measurement]) -> Measurement:
        """mann-whitney: collect one canary and one baseline value for the stage's test."""
        try:
            value = _value(self._query(m.query), m.aggregate)
            baseline = _value(self._query(m.baseline_query or ""), m.aggregate)
        except _NoData as exc:
            return self._no_data(m, result, str(exc))
        if not math.isfinite(value):  # beyond any baseline, and no shift can be computed
            way = Direction.INCREASE if value > 0 else Direction.DECREASE
            bad = m.direction in (way, Direction.EITHER)
            outcome = Outcome.FAILURE if bad else Outcome.ERROR
            return result(outcome, value, baseline, "the canary's value is infinite")
        if not math.isfinite(baseline):
            return result(
                Outcome.ERROR, value, baseline, "the baseline's value is infinite: no comparison"
            )
        canary_series, baseline_series = self._series.setdefault(m.name, ([], []))
        canary_series.append(value)
        baseline_series.append(baseline)
        return result(
            Outcome.SUCCESS,
            value,
            baseline,
            f"{len(canary_series)} pair(s) for the stage's test",
        )

    def finish_stage(self) -> tuple[Verdict, str]:
        """The stage-end judgements: Kayenta's Mann-Whitney classification of each
        mann-whitney metric's canary series against its baseline series (a fixed-horizon
        test, so it is run once per stage, never at every interval)."""
        from gate.judge.kayenta import Label, MannWhitneyClassifier

        for m in self.analysis.metrics:
            if m.judge is not MetricJudge.MANN_WHITNEY or m.dry_run:
                continue
            canary, baseline = self._series.get(m.name, ([], []))
            if min(len(canary), len(baseline)) < m.min_samples:
                return (
                    Verdict.INCONCLUSIVE,
                    f"{m.name}: {len(canary)} canary/baseline pair(s) in the stage, "
                    f"{m.min_samples} needed for the Mann-Whitney test",
                )
            classifier = MannWhitneyClassifier(tolerance=m.tolerance, conf_level=m.confidence)
            found = classifier.classify(baseline, canary, direction=m.direction, name=m.name)
            if found.classification in (Label.HIGH, Label.LOW):
                shift = found.interval
                detail = (
                    f" (shift {shift.lower:.3g} to {shift.upper:.3g}, estimate "
                    f"{shift.estimate:.3g}, at {m.confidence:.0%})"
                    if shift is not None
                    else ""
                )
                return (
                    Verdict.FAIL,
                    f"{m.name}: the canary is {found.classification} against its baseline "
                    f"over {len(canary)} intervals{detail}",
                )
            if found.classification is not Label.PASS:
                return Verdict.INCONCLUSIVE, f"{m.name}: {found.classification}"
        return Verdict.CONTINUE, ""

    def record(self, measurements: Sequence[Measurement]) -> tuple[Verdict, str]:
        """Count ``measurements`` and say whether the limits are passed."""
        a = self.analysis
        worst: tuple[Verdict, str] = (Verdict.CONTINUE, "")
        for m in measurements:
            if m.dry_run:
                continue
            if m.outcome is Outcome.ERROR:
                self.errors_in_a_row[m.metric] = self.errors_in_a_row.get(m.metric, 0) + 1
            else:
                self.errors_in_a_row[m.metric] = 0
            self.last_outcome[m.metric] = m.outcome
            if m.outcome is Outcome.FAILURE:
                self.failures[m.metric] = self.failures.get(m.metric, 0) + 1
                if self.failures[m.metric] > a.failure_limit:
                    worst = (
                        Verdict.FAIL,
                        f"{m.describe()} ({_times(self.failures[m.metric], 'failed')}; "
                        f"failureLimit allows {a.failure_limit})",
                    )
            elif m.outcome is Outcome.INCONCLUSIVE:
                self.inconclusives[m.metric] = self.inconclusives.get(m.metric, 0) + 1
                if (
                    self.inconclusives[m.metric] > a.inconclusive_limit
                    and worst[0] is not Verdict.FAIL
                ):
                    worst = (
                        Verdict.INCONCLUSIVE,
                        f"{m.describe()} ({_times(self.inconclusives[m.metric], 'inconclusive')}"
                        f"; inconclusiveLimit allows {a.inconclusive_limit})",
                    )
            if self.errors_in_a_row.get(m.metric, 0) > a.consecutive_error_limit:
                worst = (
                    Verdict.FAIL,
                    f"{m.describe()} ({self.errors_in_a_row[m.metric]} errors "
                    f"in a row, limit {a.consecutive_error_limit})",
                )
        return worst
