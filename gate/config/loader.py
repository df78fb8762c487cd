"""Read YAML or JSON into plain data while keeping the line of every value.

Every problem becomes a :class:`~gate.errors.ConfigError` naming the file and line: syntax
errors, duplicate keys, empty or binary files, files too large, and alias bombs.
"""

from __future__ import annotations

import os
import stat
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import yaml

from gate.errors import ConfigError

MAX_FILE_BYTES = 4 * 1024 * 1024
MAX_EXPANDED_NODES = 100_000

PathKey = tuple[str | int, ...]


@dataclass(frozen=True)
class Document:
    """One loaded file: its data and the 1-based line of every path in it."""

    file: str
    data: Any
    lines: dict[PathKey, int] = field(default_factory=dict)

    def line_of(self, path: PathKey) -> int | None:
        """The line of ``path``, or of its nearest parent that has one."""
        p = tuple(path)
        while True:
            if p in self.lines:
                return self.lines[p]
            if not p:
                return None
            p = p[:-1]

    def error(self, path: PathKey, message: str) -> ConfigError:
        return ConfigError(message, file=self.file, line=self.line_of(path), field=dotted(path))


def dotted(path: PathKey) -> str:
    """``("stages", 0, "weight")`` → ``stages[0].weight``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


class _Loader(yaml.SafeLoader):
    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        # per mapping node: the keys merged in by ``<<`` (flattening happens once per node,
        # and an alias visits the same node again)
        self.merged_in: dict[int, frozenset[int]] = {}

    def merged_keys(self, node: yaml.MappingNode) -> frozenset[int]:
        """Flatten ``<<`` merges into ``node``; the ids of the key nodes they brought in."""
        if id(node) not in self.merged_in:
            own = {id(k) for k, _ in node.value if k.tag != "tag:yaml.org,2002:merge"}
            self.flatten_mapping(node)
            self.merged_in[id(node)] = frozenset(id(k) for k, _ in node.value) - own
        return self.merged_in[id(node)]


def _no_timestamps() -> None:
    # Keep YAML timestamps as strings: time parsing (with offsets and zones) is ours.
    resolvers = _Loader.yaml_implicit_resolvers
    for ch, items in list(resolvers.items()):
        resolvers[ch] = [(tag, rx) for tag, rx in items if tag != "tag:yaml.org,2002:timestamp"]


_Loader.yaml_implicit_resolvers = {
    k: list(v) for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_no_timestamps()


def _count_nodes(node: yaml.Node, memo: dict[int, int]) -> int:
    key = id(node)
    if key in memo:
        return memo[key]
    memo[key] = 1  # guards recursive aliases
    total = 1
    if isinstance(node, yaml.SequenceNode):
        for child in node.value:
            total += _count_nodes(child, memo)
    elif isinstance(node, yaml.MappingNode):
        for k, v in node.value:
            total += _count_nodes(k, memo) + _count_nodes(v, memo)
    total = min(total, MAX_EXPANDED_NODES + 1)
    memo[key] = total
    return total


_PLAIN_TAGS: dict[type[yaml.Node], str] = {
    yaml.MappingNode: "tag:yaml.org,2002:map",
    yaml.SequenceNode: "tag:yaml.org,2002:seq",
}


def _construct(
    node: yaml.Node,
    path: PathKey,
    doc_file: str,
    lines: dict[PathKey, int],
    loader: _Loader,
    depth: int = 0,
) -> Any:
    lines.setdefault(path, node.start_mark.line + 1)
    if depth > 200:
        raise ConfigError("nesting too deep", file=doc_file, line=node.start_mark.line + 1)
    plain = _PLAIN_TAGS.get(type(node))
    if plain is not None and node.tag != plain:
        # a scalar's tag is the constructor's to refuse; a collection's would be dropped
        tag = node.tag.replace("tag:yaml.org,2002:", "!!")
        raise ConfigError(
            f"the tag {tag} is not allowed: gate reads plain mappings and lists",
            file=doc_file,
            line=node.start_mark.line + 1,
            field=dotted(path) or None,
        )
    if isinstance(node, yaml.MappingNode):
        merged = loader.merged_keys(node)
        # a key merged in by ``<<`` gives way to the mapping's own (YAML's merge rule); two of
        # the mapping's own keys with one name are a mistake
        chosen: dict[str, tuple[yaml.Node, yaml.Node]] = {}
        own: set[str] = set()
        for key_node, value_node in node.value:
            key = _scalar(key_node, path, doc_file, loader)
            line = key_node.start_mark.line + 1
            if not isinstance(key, (str, int, float, bool)) or key is None:
                raise ConfigError(
                    "mapping keys must be plain scalars",
                    file=doc_file,
                    line=line,
                    field=dotted(path) or None,
                )
            skey = str(key)
            if id(key_node) in merged:
                chosen[skey] = (key_node, value_node)
                continue
            if skey in own:
                first = chosen[skey][0].start_mark.line + 1
                raise ConfigError(
                    f"duplicate key {skey!r} (first defined on line {first})",
                    file=doc_file,
                    line=line,
                    field=dotted((*path, skey)),
                )
            own.add(skey)
            chosen[skey] = (key_node, value_node)
        result: dict[str, Any] = {}
        for skey, (key_node, value_node) in chosen.items():
            lines[(*path, skey)] = key_node.start_mark.line + 1
            result[skey] = _construct(value_node, (*path, skey), doc_file, lines, loader, depth + 1)
        return result
    if isinstance(node, yaml.SequenceNode):
        return [
            _construct(child, (*path, i), doc_file, lines, loader, depth + 1)
            for i, child in enumerate(node.value)
        ]
    return _scalar(node, path, doc_file, loader)


def _scalar(node: yaml.Node, path: PathKey, doc_file: str, loader: _Loader) -> Any:
    try:
        value = loader.construct_object(node, deep=True)
    except ValueError:  # e.g. an integer of more digits than Python converts
        raise ConfigError(
            "cannot read this value (a number too long?)",
            file=doc_file,
            line=node.start_mark.line + 1,
            field=dotted(path) or None,
        ) from None
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            value = _joined_surrogates(value, node, path, doc_file)
        if "\x00" in value:  # written as \0 or \x00: no argument, path or header can hold it
            raise ConfigError(
                "holds a NUL character (\\0), which no argument, path or header can hold",
                file=doc_file,
                line=node.start_mark.line + 1,
                field=dotted(path) or None,
            )
    return value


def _joined_surrogates(value: str, node: yaml.Node, path: PathKey, doc_file: str) -> str:
    """``\\uD83D\\uDE80`` escapes one character as a UTF-16 pair (JSON writers do so past the
    BMP); YAML keeps two halves, which no text output can write. Join the pairs; a lone half
    is bad input."""
    try:
        return value.encode("utf-16-le", "surrogatepass").decode("utf-16-le")
    except UnicodeDecodeError as exc:
        half = value.encode("utf-16-le", "surrogatepass")[exc.start : exc.start + 2]
        raise ConfigError(
            f"holds \\u{int.from_bytes(half, 'little'):04x}, half of a UTF-16 surrogate pair: "
            "not text",
            file=doc_file,
            line=node.start_mark.line + 1,
            field=dotted(path) or None,
        ) from None


def load_text(text: str, file: str) -> Document:
    """Parse ``text`` (YAML or JSON) from ``file``; raise ConfigError on any problem."""
    if "\x00" in text:
        raise ConfigError("binary file: expected YAML or JSON text", file=file, line=1)
    if not text.strip():
        raise ConfigError("file is empty", file=file, line=1)
    if text.lstrip("\ufeff \t\r\n")[:1] in ("{", "["):
        # JSON: a literal tab can only be whitespace there (JSON strings escape theirs), and
        # YAML refuses tabs it would read as indentation
        text = text.replace("\t", " ")
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            raise ConfigError("file holds no document", file=file, line=1)
        if _count_nodes(node, {}) > MAX_EXPANDED_NODES:
            raise ConfigError(
                f"document expands to more than {MAX_EXPANDED_NODES} values (alias bomb?)",
                file=file,
                line=1,
            )
        lines: dict[PathKey, int] = {}
        data = _construct(node, (), file, lines, loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        what = exc.problem or exc.context or "invalid YAML"
        raise ConfigError(f"invalid YAML: {what}", file=file, line=line) from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"invalid YAML: {exc}", file=file) from None
    except RecursionError:
        raise ConfigError("nesting too deep", file=file) from None
    finally:
        loader.dispose()
    return Document(file=file, data=data, lines=lines)


def load_file(path: str | Path) -> Document:
    """Read and parse one file (``-`` is standard input); a missing, unreadable, special,
    binary or huge file is a ConfigError. Only regular files are read, opened without
    blocking, so a FIFO or a device never hangs gate; the size cap holds while reading."""
    name = str(path)
    if not name.isascii():
        try:
            name.encode("utf-8")
        except UnicodeEncodeError:
            raise ConfigError("the file name is not UTF-8 text", file=name) from None
    if name == "-":
        raw = _read_capped(sys.stdin.buffer, "<stdin>")
        name = "<stdin>"
    else:
        try:
            fd = os.open(name, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY)
        except FileNotFoundError:
            raise ConfigError("no such file", file=name) from None
        except PermissionError:
            raise ConfigError("permission denied", file=name) from None
        except IsADirectoryError:
            raise ConfigError("is a directory, expected a file", file=name) from None
        except OSError as exc:
            raise ConfigError(f"cannot read: {exc.strerror or exc}", file=name) from None
        try:
            info = os.fstat(fd)
            if stat.S_ISDIR(info.st_mode):
                raise ConfigError("is a directory, expected a file", file=name)
            if not stat.S_ISREG(info.st_mode):
                raise ConfigError("not a regular file (a device, FIFO or socket)", file=name)
            if info.st_size > MAX_FILE_BYTES:
                raise ConfigError(
                    f"file is {info.st_size} bytes, more than {MAX_FILE_BYTES}", file=name
                )
            with os.fdopen(fd, "rb", closefd=False) as fh:
                raw = _read_capped(fh, name)
        except OSError as exc:
            raise ConfigError(f"cannot read: {exc.strerror or exc}", file=name) from None
        finally:
            os.close(fd)
    if b"\x00" in raw:
        raise ConfigError("binary file: expected YAML or JSON text", file=name, line=1)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ConfigError("not UTF-8 text", file=name, line=line) from None
    return load_text(text, name)


def _read_capped(stream: BinaryIO, name: str) -> bytes:
    raw = stream.read(MAX_FILE_BYTES + 1)
    if len(raw) > MAX_FILE_BYTES:
        raise ConfigError(f"more than {MAX_FILE_BYTES} bytes", file=name)
    return raw
