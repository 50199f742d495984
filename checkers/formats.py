"""Reading and writing histories: Jepsen EDN, Knossos tuples, elle-cli JSON, history.txt, JSON Lines.

Every reader returns a :class:`~checkers.history.History`. EDN keywords become plain strings
(``:invoke`` -> ``"invoke"``), as elle-cli's JSON spells them; EDN sets become sorted lists.
Missing ``index`` and ``time`` are filled from file order. Anything malformed raises
:class:`HistoryFormatError`, which names the file, the line and the field.
"""

from __future__ import annotations

import bisect
import gzip
import json
import re
from collections.abc import Iterable, Iterator, Mapping
from contextlib import AbstractContextManager
from pathlib import Path
from typing import IO, Any

import edn_format

from checkers.history import OP_TYPES, History, Op

__all__ = [
    "FORMATS",
    "HistoryFormatError",
    "JsonlWriter",
    "format_of",
    "op_from_mapping",
    "op_to_edn",
    "op_to_json",
    "read_history",
    "write_history",
]

FORMATS = ("edn", "json", "jsonl", "txt")
_EXTENSIONS = {".edn": "edn", ".json": "json", ".jsonl": "jsonl", ".ndjson": "jsonl", ".txt": "txt",
               ".log": "txt"}
_CORE_FIELDS = ("index", "time", "type", "process", "f", "value", "error", "node")


class HistoryFormatError(ValueError):
    """A history file that cannot be read. ``str()`` is the one line a user sees."""

    def __init__(self, path: str | Path, line: int | None, field: str | None, message: str) -> None:
        self.path, self.line, self.field, self.message = str(path), line, field, message
        where = self.path if line is None else f"{self.path}:{line}"
        super().__init__(f"{where}: {field}: {message}" if field else f"{where}: {message}")


def format_of(path: str | Path, fmt: str | None = None) -> str:
    """The format named by ``fmt``, else by the file's extension."""
    if fmt is not None:
        if fmt not in FORMATS:
            raise HistoryFormatError(path, None, "format", f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")
        return fmt
    name = Path(path).name.lower().removesuffix(".gz")
    found = _EXTENSIONS.get(Path(name).suffix)
    if found is None:
        raise HistoryFormatError(path, None, "format",
                                 f"cannot tell the format from the extension; use --format ({', '.join(FORMATS)})")
    return found


def read_history(path: str | Path, fmt: str | None = None) -> History:
    """Read a history file in any supported format, gzip-compressed or not."""
    fmt = format_of(path, fmt)
    try:
        data = Path(path).read_bytes()
        text = (gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data).decode("utf-8")
    except (OSError, EOFError, UnicodeDecodeError) as e:
        raise HistoryFormatError(path, None, None, f"cannot read: {e}") from None
    records = {"edn": _edn_records, "json": _json_records, "jsonl": _jsonl_records, "txt": _txt_records}[fmt]
    return History.of(op_from_mapping(record, position, path, line)
                      for position, (line, record) in enumerate(records(text, path)))


def write_history(ops: Iterable[Op], path: str | Path, fmt: str | None = None) -> None:
    """Write ops as JSON Lines or EDN (one op map per line, which Jepsen and elle-cli read)."""
    fmt = format_of(path, fmt)
    encode = {"jsonl": op_to_json, "edn": op_to_edn}.get(fmt)
    if encode is None:
        raise HistoryFormatError(path, None, "format", f"cannot write {fmt}; write jsonl or edn")
    with open(path, "w", encoding="utf-8") as out:
        for op in ops:
            out.write(encode(op) + "\n")


class JsonlWriter(AbstractContextManager["JsonlWriter"]):
    """Streams ops to a JSON Lines file: each op is written and flushed as it is recorded."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._out: IO[str] = open(self.path, "a", encoding="utf-8")  # noqa: SIM115 - closed in close()

    def write(self, op: Op) -> None:
        self._out.write(op_to_json(op) + "\n")
        self._out.flush()

    def close(self) -> None:
        self._out.close()

    def __exit__(self, *exc: object) -> None:
        self.close()


# ---------------------------------------------------------------- ops from records

def op_from_mapping(record: Any, position: int, path: str | Path = "<history>", line: int | None = None) -> Op:
    """Validate one op map (or Knossos ``[process type f value]`` tuple) and build an Op."""
    if isinstance(record, list) and len(record) in (3, 4):
        record = dict(zip(("process", "type", "f", "value"), record, strict=False))
    if not isinstance(record, Mapping):
        raise HistoryFormatError(path, line, None, f"op {position} is not a map but {_describe(record)}")

    def bad(field: str, message: str) -> HistoryFormatError:
        return HistoryFormatError(path, line, field, message)

    type_ = record.get("type")
    if type_ not in OP_TYPES:
        raise bad("type", f"unknown op type {type_!r} (expected invoke, ok, fail or info)")
    index = record.get("index", position)
    if not _is_int(index):
        raise bad("index", f"not an integer: {index!r}")
    time = record.get("time", position)
    if _is_int(time):
        pass
    elif isinstance(time, float) and time == time:
        time = int(time)
    else:
        raise bad("time", f"not a number: {time!r}")
    process = record.get("process")
    if isinstance(process, (float, list, dict, bool)):
        raise bad("process", f"not an integer or name: {process!r}")
    extra = {k if isinstance(k, str) else str(k): v for k, v in record.items() if k not in _CORE_FIELDS}
    return Op(index=index, time=time, type=type_, process=process, f=record.get("f"),
              value=record.get("value"), error=record.get("error"), node=record.get("node"), extra=extra)


def _is_int(x: Any) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


def _describe(x: Any) -> str:
    text = repr(x)
    return f"{type(x).__name__} {text[:60]}{'...' if len(text) > 60 else ''}"


# ---------------------------------------------------------------- EDN

_KEYWORD_SAFE = re.compile(r"^[A-Za-z*+!_?<>=-][\w*+!_?<>=.\-/]*$")


def _from_edn(x: Any) -> Any:
    """EDN values as plain Python: keywords and symbols to str, maps to dict, colls to list."""
    if isinstance(x, (edn_format.Keyword, edn_format.Symbol)):
        return x.name
    if isinstance(x, Mapping):
        return {_from_edn(k): _from_edn(v) for k, v in x.items()}
    if isinstance(x, (tuple, list, edn_format.ImmutableList)):
        return [_from_edn(v) for v in x]
    if isinstance(x, (frozenset, set)):
        return _sorted_list(_from_edn(v) for v in x)
    if isinstance(x, edn_format.Char):
        return str(x)
    return x


def _sorted_list(items: Iterable[Any]) -> list[Any]:
    items = list(items)
    try:
        return sorted(items)
    except TypeError:
        return sorted(items, key=repr)


def _to_edn(x: Any) -> Any:
    """Python values as EDN: keyword-safe strings become keywords, as Jepsen writes them."""
    if isinstance(x, str):
        return edn_format.Keyword(x) if _KEYWORD_SAFE.match(x) and x not in ("nil", "true", "false") else x
    if isinstance(x, Mapping):
        return edn_format.ImmutableDict({_to_edn(k): _to_edn(v) for k, v in x.items()})
    if isinstance(x, (list, tuple)):
        return edn_format.ImmutableList([_to_edn(v) for v in x])
    if isinstance(x, (set, frozenset)):
        return edn_format.ImmutableList([_to_edn(v) for v in _sorted_list(x)])
    return x


def op_to_edn(op: Op) -> str:
    """One op as an EDN map on one line."""
    d = op.to_dict()
    node = d.pop("node", None)
    text = edn_format.dumps(_to_edn(d))
    if node is not None:  # node names are strings in Jepsen, never keywords
        text = text[:-1] + " :node " + edn_format.dumps(node) + "}"
    return text


def _edn_tag(value: Any) -> Any:
    return value


for _tag in ("jepsen.history.Op", "jepsen.history/Op", "knossos.op.Op"):
    edn_format.add_tag(_tag, _edn_tag)


def _edn_records(text: str, path: str | Path) -> Iterator[tuple[int | None, Any]]:
    """Top-level forms with their line numbers; a lone vector or list of ops is opened up."""
    simple = _simple_edn_forms(text)
    if simple is not None:
        forms, starts = simple
        if len(forms) == 1 and isinstance(forms[0], list) and forms[0] and isinstance(forms[0][0], (dict, list)):
            forms, starts = forms[0], _INNER_STARTS.get(id(forms[0]), [starts[0]] * len(forms[0]))
        newlines = [m.start() for m in re.finditer("\n", text)]
        for form, start in zip(forms, starts, strict=True):
            yield bisect.bisect_left(newlines, start) + 1, form
        return
    chunks = list(_split_forms(text, path, 0, len(text), 1))
    if len(chunks) == 1:
        start, end, line = chunks[0]
        if text[start] in "[(":
            inner = list(_split_forms(text, path, start + 1, end - 1, line))
            if inner and text[inner[0][0]] in "{[(":
                chunks = inner
    for start, end, line in chunks:
        try:
            form = edn_format.loads(text[start:end])
        except Exception as e:  # edn_format raises several types
            raise HistoryFormatError(path, line, None, f"invalid EDN: {e}") from None
        yield line, _from_edn(form)


_SIMPLE_TOKEN = re.compile(
    r"""[\s,]*(?:(?P<open>\#\{|[\[({])|(?P<close>[\])}])|(?P<kw>:[A-Za-z*+!_?<>=.\-][\w*+!_?<>=.\-/:]*)"""
    r"""|(?P<num>-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)(?=[\s,\])}]|$)|(?P<lit>nil|true|false)(?=[\s,\])}]|$)"""
    r"""|"(?P<str>[^"\\]*)"|(?P<comment>;[^\n]*)|(?P<end>$))"""
)
_LITERALS = {"nil": None, "true": True, "false": False}
_INNER_STARTS: dict[int, list[int]] = {}


def _simple_edn_forms(text: str) -> tuple[list[Any], list[int]] | None:
    """Fast path for the EDN that histories use: maps, vectors, lists, sets, keywords, numbers,
    nil/true/false and strings without escapes. Returns (top-level forms, their offsets), or None
    when the text has anything else, in which case edn_format reads it.
    """
    _INNER_STARTS.clear()
    stack: list[tuple[str, list[Any], list[int]]] = []
    top: list[Any] = []
    top_starts: list[int] = []
    pos, n = 0, len(text)
    match = _SIMPLE_TOKEN.match
    while True:
        m = match(text, pos)
        if m is None:
            return None
        kind = m.lastgroup
        if kind == "end":
            break
        pos = m.end()
        if kind == "comment":
            continue
        if kind == "open":
            stack.append((m.group("open"), [], []))
            value_start = m.start("open")
            if stack[:-1]:
                stack[-2][2].append(value_start)
            else:
                top_starts.append(value_start)
            continue
        if kind == "close":
            if not stack:
                return None
            opener, items, starts = stack.pop()
            close = m.group("close")
            if {"[": "]", "(": ")", "{": "}", "#{": "}"}[opener] != close:
                return None
            if opener == "{":
                if len(items) % 2:
                    return None
                try:
                    value: Any = dict(zip(items[::2], items[1::2], strict=True))
                except TypeError:
                    return None
            elif opener == "#{":
                value = _sorted_list(items)
            else:
                value = items
                _INNER_STARTS[id(items)] = starts
        else:
            if kind == "kw":
                value = m.group("kw")[1:]
            elif kind == "num":
                token = m.group("num")
                value = int(token) if token.lstrip("-").isdigit() else float(token)
            elif kind == "lit":
                value = _LITERALS[m.group("lit")]
            else:
                value = m.group("str")
            if stack:
                stack[-1][2].append(m.start(kind))
            else:
                top_starts.append(m.start(kind))
        if stack:
            stack[-1][1].append(value)
        else:
            top.append(value)
        if pos >= n:
            break
    if stack:
        return None
    return top, top_starts


def _split_forms(text: str, path: str | Path, start: int, end: int, line: int) -> Iterator[tuple[int, int, int]]:
    """Yield (start, end, line) of each top-level EDN form in text[start:end].

    Only brackets, strings, characters and comments are tracked: enough to cut the text into
    forms (each then parsed by edn_format) and to name the line of a broken one.
    """
    i, depth, form_start, form_line = start, 0, -1, line
    closers = {"]": "[", ")": "(", "}": "{"}
    stack: list[str] = []
    while i < end:
        c = text[i]
        if c == "\n":
            line += 1
        elif c == ";":
            nl = text.find("\n", i, end)
            i = end if nl < 0 else nl
            continue
        elif c == '"':
            if depth == 0 and form_start < 0:
                form_start, form_line = i, line
            j = i + 1
            while j < end and text[j] != '"':
                if text[j] == "\\":
                    j += 1
                elif text[j] == "\n":
                    line += 1
                j += 1
            if j >= end:
                raise HistoryFormatError(path, line, None, "invalid EDN: unterminated string")
            i = j + 1
            if depth == 0:
                yield form_start, i, form_line
                form_start = -1
            continue
        elif c == "\\" and i + 1 < end:
            if depth == 0 and form_start < 0:
                form_start, form_line = i, line
            i += 2
            while i < end and text[i].isalnum():
                i += 1
            continue
        elif c in "[({":
            if depth == 0 and form_start < 0:
                form_start, form_line = i - (1 if i > start and text[i - 1] == "#" else 0), line
            stack.append(c)
            depth += 1
        elif c in "])}":
            if not stack or stack[-1] != closers[c]:
                raise HistoryFormatError(path, line, None, f"invalid EDN: unexpected {c!r}")
            stack.pop()
            depth -= 1
            if depth == 0:
                yield form_start, i + 1, form_line
                form_start = -1
        elif depth == 0 and not c.isspace() and c != ",":
            if form_start < 0 and c != "#":
                form_start, form_line = i, line
                j = i
                while j < end and not text[j].isspace() and text[j] not in ",[({])}\";":
                    j += 1
                yield form_start, j, form_line
                form_start = -1
                i = j
                continue
            if form_start < 0:  # '#' starts a tagged or set form; its bracket comes next
                form_start, form_line = i, line
        i += 1
    if stack:
        raise HistoryFormatError(path, line, None, f"invalid EDN: unclosed {stack[-1]!r} (truncated file?)")


# ---------------------------------------------------------------- JSON, JSON Lines

def _from_json(x: Any) -> Any:
    """JSON map keys that are integers ("7") become ints, as the EDN they came from had."""
    if isinstance(x, dict):
        return {(int(k) if _INT_KEY.match(k) else k): _from_json(v) for k, v in x.items()}
    if isinstance(x, list):
        return [_from_json(v) for v in x]
    return x


_INT_KEY = re.compile(r"^-?\d+$")


def _json_records(text: str, path: str | Path) -> Iterator[tuple[int | None, Any]]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        if text.lstrip().startswith("{"):  # JSON Lines under a .json name
            yield from _jsonl_records(text, path)
            return
        raise HistoryFormatError(path, e.lineno, None, f"invalid JSON: {e.msg}") from None
    if not isinstance(data, list):
        data = [data]
    lines = _object_lines(text) if len(data) > 1 else [None] * len(data)
    for i, record in enumerate(data):
        yield (lines[i] if i < len(lines) else None), _from_json(record)


def _object_lines(text: str) -> list[int]:
    """Line numbers of the objects of a top-level JSON array when each starts its own line."""
    return [n for n, raw in enumerate(text.splitlines(), 1) if raw.lstrip(" [,").startswith("{")]


def _jsonl_records(text: str, path: str | Path) -> Iterator[tuple[int | None, Any]]:
    for n, raw in enumerate(text.splitlines(), 1):
        if not raw.strip():
            continue
        try:
            yield n, _from_json(json.loads(raw))
        except json.JSONDecodeError as e:
            raise HistoryFormatError(path, n, None, f"invalid JSON: {e.msg}") from None


def _to_json(x: Any) -> Any:
    if isinstance(x, (set, frozenset)):
        return _sorted_list(x)
    if isinstance(x, dict):
        return {str(k): _to_json(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_to_json(v) for v in x]
    return x


def op_to_json(op: Op) -> str:
    """One op as a JSON object on one line."""
    return json.dumps(_to_json(op.to_dict()), separators=(",", ":"), default=str)


# ---------------------------------------------------------------- Jepsen history.txt

def _txt_records(text: str, path: str | Path) -> Iterator[tuple[int | None, Any]]:
    """``process<TAB>type<TAB>f<TAB>value[<TAB>error]``; a logger prefix before the process is skipped."""
    for n, raw in enumerate(text.splitlines(), 1):
        fields = raw.rstrip("\n").split("\t")
        if len(fields) < 3:
            if raw.strip():
                raise HistoryFormatError(path, n, None, "expected process, type, f and value separated by tabs")
            continue
        process_text = fields[0].split()[-1] if fields[0].split() else ""
        values = []
        for name, field in zip(("process", "type", "f", "value", "error"), [process_text, *fields[1:5]],
                               strict=False):
            try:
                values.append(_from_edn(edn_format.loads(field)) if field.strip() else None)
            except Exception:
                raise HistoryFormatError(path, n, name, f"invalid EDN value {field!r}") from None
        yield n, dict(zip(("process", "type", "f", "value", "error"), values, strict=False))
