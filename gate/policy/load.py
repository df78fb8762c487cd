"""Load policies (bundled and the user's) into :class:`~gate.policy.model.Policy` records."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from gate.change import Scope
from gate.checks.registry import parse_checks
from gate.config.loader import Document, PathKey, load_file
from gate.config.node import Node
from gate.config.validate import raw_schema, validate
from gate.config.values import check_year, parse_datetime, parse_duration
from gate.errors import ConfigError
from gate.policy.model import Policy, Rule
from gate.policy.windows import (
    DAY_NAMES,
    Cron,
    Dates,
    Holidays,
    Matcher,
    Weekly,
    Window,
    parse_clock,
)

POLICY_SUFFIXES = (".yaml", ".yml", ".json")
MAX_WINDOW = 31 * 86400.0  # a window longer than a month is a typo (a freeze uses dates)
DEFAULT_POLICY = "default.yaml"


def bundled_policy_dir() -> Path:
    """The folder of bundled policies shipped with the package."""
    return Path(str(resources.files("gate").joinpath("bundled_policies")))


def _is_policy_file(path: Path) -> bool:
    return path.suffix.lower() in POLICY_SUFFIXES and path.is_file()


def policy_files(paths: Sequence[str], *, include_default: bool = True) -> list[Path]:
    """The default bundled policy (unless excluded), then each path: a file or a directory.
    A file named twice (or the bundled policy itself, by way of a checkout's ``policies/``)
    is applied once."""
    files: list[Path] = []
    if include_default:
        files.append(bundled_policy_dir() / DEFAULT_POLICY)
    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            try:
                found = sorted(f for f in p.iterdir() if _is_policy_file(f))
                nested = sorted(
                    d.name
                    for d in p.iterdir()
                    if d.is_dir()
                    and not d.name.startswith(".")
                    and any(map(_is_policy_file, d.rglob("*")))
                )
            except PermissionError:
                raise ConfigError("permission denied", file=raw) from None
            if nested:  # never apply part of the policies a directory holds
                raise ConfigError(
                    f"{nested[0]}/ holds policies, and a directory's subdirectories are not "
                    "read: give it with its own --policy",
                    file=raw,
                )
            if not found:
                raise ConfigError("directory holds no .yaml, .yml or .json policy", file=raw)
            files.extend(found)
        else:
            files.append(p)
    unique: list[Path] = []
    seen: set[Path] = set()
    for f in files:
        key = f.resolve() if f.exists() else f
        if key not in seen:
            seen.add(key)
            unique.append(f)
    return unique


def load_policies(paths: Sequence[str], *, include_default: bool = True) -> list[Policy]:
    return [
        parse_policy(load_file(f)) for f in policy_files(paths, include_default=include_default)
    ]


def zone(name: str, doc: Document, path: PathKey) -> ZoneInfo:
    try:
        if not name or name.startswith(("/", ".")) or ".." in name:
            raise ValueError(name)
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise doc.error(
            path, f"unknown time zone {name!r}; use an IANA name such as Europe/Berlin or UTC"
        ) from None


def _scope(raw: Mapping[str, Any] | None) -> Scope:
    raw = raw or {}
    return Scope(
        environments=frozenset(raw.get("environments", ())),
        services=frozenset(raw.get("services", ())),
    )


def _change_field(name: str, doc: Document, path: PathKey) -> dict[str, Any]:
    """The change-request schema of field ``name``; a name no change request can have is the
    policy's mistake (a rule on it would never apply, or never find anything)."""
    import difflib

    fields: dict[str, Any] = raw_schema("change-request")["properties"]
    if name not in fields:
        hint = difflib.get_close_matches(name, list(fields), n=1, cutoff=0.5)
        tail = f"; did you mean {hint[0]!r}?" if hint else ""
        raise doc.error(path, f"a change request has no field {name!r}{tail}")
    schema: dict[str, Any] = fields[name]
    return schema


def _condition(
    raw: Mapping[str, Any] | None, doc: Document, path: PathKey
) -> dict[str, tuple[Any, ...]]:
    """``when`` / ``unless``: each field must be a change-request field and each value one it
    can hold, or the condition would silently never match."""
    out: dict[str, tuple[Any, ...]] = {}
    for name, value in (raw or {}).items():
        schema = _change_field(name, doc, (*path, name))
        if "object" in (schema.get("type"), schema.get("items", {}).get("type")):
            raise doc.error(
                (*path, name), f"{name} holds mappings, which a condition never matches"
            )
        values = tuple(value) if isinstance(value, list) else (value,)
        if not values:
            raise doc.error((*path, name), "lists no value, so the condition never matches")
        for v in values:
            options = schema.get("enum")
            if options is not None and v not in options:
                raise doc.error(
                    (*path, name), f"{v!r} is never a {name}; one of: {', '.join(options)}"
                )
            if schema.get("type") == "boolean" and not isinstance(v, bool):
                raise doc.error((*path, name), f"{v!r} is never a {name}; true or false")
        out[name] = values
    return out


KIND_PARAMS = {
    "field": {"field", "required", "minLength", "minItems", "pattern", "allowedValues", "equals"},
    "approvals": {"minimum"},
    "days": {"days"},
    "hours": {"start", "end"},
    "services": {"services"},
}
KIND_REQUIRED = {"field": ("field",), "approvals": ("minimum",), "days": ("days",),
                 "hours": ("start", "end"), "services": ("services",)}  # fmt: skip
ALL_PARAMS = set().union(*KIND_PARAMS.values())


def _rule(raw: Mapping[str, Any], doc: Document, path: PathKey, policy: str) -> Rule:
    kind = raw["kind"]
    for key in raw:
        if key in ALL_PARAMS and key not in KIND_PARAMS[kind]:
            raise doc.error((*path, key), f"not a setting of a {kind!r} rule")
    for key in KIND_REQUIRED[kind]:
        if key not in raw:
            raise doc.error(path, f"a {kind!r} rule needs {key!r}")
    params = {k: v for k, v in raw.items() if k in KIND_PARAMS[kind]}
    if "field" in params:
        _change_field(params["field"], doc, (*path, "field"))
    if "pattern" in params:
        import regex  # matched with a time bound: a pattern cannot hang gate check

        try:
            params["pattern"] = regex.compile(params["pattern"])
        except (regex.error, OverflowError, RecursionError, ValueError) as exc:
            raise doc.error((*path, "pattern"), f"invalid regular expression: {exc}") from None
    if "days" in params:
        params["days"] = frozenset(DAY_NAMES[d] for d in params["days"])
    for key in ("start", "end"):
        if key in params:
            params[key] = parse_clock(params[key])
    return Rule(
        id=raw["id"],
        kind=kind,
        policy=policy,
        file=doc.file,
        line=doc.line_of(path),
        enforcement=raw.get("enforcement", "block"),
        risk_points=raw.get("riskPoints", 0),
        bypassable=raw.get("bypassable", False),
        message=raw.get("message", ""),
        remediation=raw.get("remediation", ""),
        when=_condition(raw.get("when"), doc, (*path, "when")),
        unless=_condition(raw.get("unless"), doc, (*path, "unless")),
        scope=_scope(raw.get("scope")),
        params=params,
        enabled=raw.get("enabled", True),
    )


def _window_time(text: str, tz: ZoneInfo, doc: Document, path: PathKey, *, end: bool) -> datetime:
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            check_year(day.year, text)
            if end:
                day += timedelta(days=1)
            return datetime(day.year, day.month, day.day, tzinfo=tz)
        parsed = parse_datetime(text, require_offset=False)
    except ValueError as exc:
        if "years" in str(exc):
            raise doc.error(path, str(exc)) from None
        raise doc.error(path, f"{text!r} is not a date (YYYY-MM-DD) or ISO date-time") from None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=tz)


def _matcher(raw: Mapping[str, Any], tz: ZoneInfo, doc: Document, path: PathKey) -> Matcher:
    forms = [
        name
        for name, present in (
            ("weekly", any(k in raw for k in ("days", "start", "end"))),
            ("cron", "cron" in raw or "duration" in raw),
            ("dates", "dates" in raw),
            ("holidays", "holidays" in raw),
        )
        if present
    ]
    if len(forms) != 1:
        what = " and ".join(forms) if forms else "nothing"
        raise doc.error(
            path,
            f"a window is exactly one of days/start/end, cron+duration, dates or holidays; "
            f"this one has {what}",
        )
    form = forms[0]
    if form == "weekly":
        if ("start" in raw) != ("end" in raw):
            raise doc.error(path, "give both 'start' and 'end', or neither")
        days = frozenset(DAY_NAMES[d] for d in raw.get("days", DAY_NAMES))
        start = parse_clock(raw.get("start", "00:00"))
        end = parse_clock(raw.get("end", "24:00"))
        return Weekly(tz=tz, days=days, start=start, end=end)
    if form == "cron":
        if "cron" not in raw or "duration" not in raw:
            raise doc.error(path, "a cron window needs both 'cron' and 'duration'")
        from croniter import croniter

        if not croniter.is_valid(raw["cron"]):
            raise doc.error((*path, "cron"), f"{raw['cron']!r} is not a valid cron expression")
        try:
            croniter(raw["cron"], datetime.now(tz)).get_next(datetime)
        except (ValueError, KeyError, OverflowError):  # croniter's "failed to find next date"
            raise doc.error((*path, "cron"), f"{raw['cron']!r} never fires") from None
        try:
            duration = timedelta(
                seconds=parse_duration(raw["duration"], minimum=60, maximum=MAX_WINDOW)
            )
        except ValueError as exc:
            raise doc.error((*path, "duration"), str(exc)) from None
        return Cron(tz=tz, expression=raw["cron"], duration=duration)
    if form == "dates":
        dates = raw["dates"]
        begin = _window_time(dates["start"], tz, doc, (*path, "dates", "start"), end=False)
        stop = _window_time(dates["end"], tz, doc, (*path, "dates", "end"), end=True)
        if stop <= begin:
            raise doc.error((*path, "dates", "end"), "end is before start")
        return Dates(tz=tz, start=begin, end=stop)
    spec = raw["holidays"]
    matcher = Holidays(tz=tz, country=spec["country"], subdivision=spec.get("subdivision"))
    try:
        matcher.active(datetime.now(UTC))
    except NotImplementedError:
        raise doc.error(
            (*path, "holidays"),
            f"no holiday calendar for {spec['country']}"
            + (f" subdivision {spec['subdivision']!r}" if spec.get("subdivision") else ""),
        ) from None
    return matcher


def _window(raw: Mapping[str, Any], default_tz: ZoneInfo, doc: Document, path: PathKey) -> Window:
    tz = zone(raw["timezone"], doc, (*path, "timezone")) if "timezone" in raw else default_tz
    return Window(
        name=raw["name"],
        kind=raw["type"],
        matcher=_matcher(raw, tz, doc, path),
        enforcement=raw.get("enforcement", "block"),
        risk_points=raw.get("riskPoints", 0),
        bypassable=raw.get("bypassable", True),
        remediation=raw.get("remediation", ""),
        description=raw.get("description", ""),
        line=doc.line_of(path),
        scope=_scope(raw.get("scope")),
    )


def _unique(items: Iterable[tuple[str, PathKey]], doc: Document, what: str) -> None:
    seen: dict[str, PathKey] = {}
    for name, path in items:
        if name in seen:
            first = doc.line_of(seen[name])
            raise doc.error(path, f"duplicate {what} {name!r} (first on line {first})")
        seen[name] = path


def parse_policy(doc: Document) -> Policy:
    if not isinstance(doc.data, dict):
        raise doc.error((), "expected a mapping at the top level (apiVersion, kind, spec)")
    validate(doc, raw_schema("policy"))
    data: dict[str, Any] = doc.data
    name = data["metadata"]["name"]
    spec: dict[str, Any] = data["spec"]
    tz = (
        zone(spec["timezone"], doc, ("spec", "timezone")) if "timezone" in spec else ZoneInfo("UTC")
    )
    rules_raw = spec.get("rules", [])
    _unique(
        ((r["id"], ("spec", "rules", i, "id")) for i, r in enumerate(rules_raw)), doc, "rule id"
    )
    windows_raw = spec.get("windows", [])
    _unique(
        ((w["name"], ("spec", "windows", i, "name")) for i, w in enumerate(windows_raw)),
        doc,
        "window name",
    )
    bypass = spec.get("bypass", {})
    return Policy(
        name=name,
        file=doc.file,
        timezone=tz,
        scope=_scope(spec.get("scope")),
        risk_threshold=spec.get("riskThreshold"),
        risk_threshold_line=doc.line_of(("spec", "riskThreshold")),
        bypass_emergency=bypass.get("emergency", True),
        bypass_override=bypass.get("override", True),
        rules=tuple(_rule(r, doc, ("spec", "rules", i), name) for i, r in enumerate(rules_raw)),
        windows=tuple(
            _window(w, tz, doc, ("spec", "windows", i)) for i, w in enumerate(windows_raw)
        ),
        checks=parse_checks(list(Node(doc, ("spec", "checks")).items()), name)
        if "checks" in spec
        else (),
    )
