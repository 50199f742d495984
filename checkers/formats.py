"""Reading and writing histories: Jepsen EDN, Knossos tuples, elle-cli JSON, history.txt, JSON Lines.

Every reader returns a :class:`~checkers.history.History`. EDN keywords become plain strings
(``:invoke`` -> ``"invoke"``), as elle-cli's JSON spells them; EDN sets become sorted lists.
Checkers compare values as Python does: ``true`` equals ``1`` and ``1.0`` equals ``1`` (Clojure's
``=``, and so Jepsen, tells them apart), so a read of ``true`` matches a write of ``1``.
Missing ``index`` and ``time`` are filled from file order. Anything malformed raises
:class:`HistoryFormatError`, which names the file, the line and the field.

Speed: the file is read in chunks of whole lines, and the Ops of the common op maps are built in C
(``_ops.c``; any other record by ``op_from_mapping``). A chunk of EDN (history.txt lines are EDN
vectors once bracketed) is rewritten into JSON text in C (``_ednjson.c``: keywords quoted, ``nil``
to ``null``, separators inserted, maps to ``{"\\u0001": [k, v, ...]}``) and parsed by orjson, or by
``json.loads`` where orjson might read it otherwise; each map is built from its marker. JSON Lines
are checked in C to hold one object a line (``json_lines``) and go to orjson as one array. A chunk
the rewrite cannot express (tags, characters, symbols, ratios, ``##Inf``) is read by the general
parser below, an iterative tokenizer that is linear in the input and refuses what is not data.
"""

from __future__ import annotations

import gzip
import json
import math
import re
import sys
from array import array
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import AbstractContextManager
from pathlib import Path
from typing import IO, Any

import orjson

from checkers._ednjson import edn_as_json, json_depth, json_lines
from checkers._ops import build_ops
from checkers.collector import collector_paused
from checkers.history import NO_EXTRA, OP_TYPES, History, HistoryProblem, Op

__all__ = [
    "FORMATS",
    "MAX_DEPTH",
    "HistoryFormatError",
    "JsonlWriter",
    "format_of",
    "op_from_mapping",
    "op_to_edn",
    "op_to_json",
    "parse_edn",
    "read_history",
    "write_history",
]

FORMATS = ("edn", "json", "jsonl", "txt")
_EXTENSIONS = {".edn": "edn", ".json": "json", ".jsonl": "jsonl", ".ndjson": "jsonl", ".txt": "txt",
               ".log": "txt"}
_CORE_FIELDS = frozenset({"index", "time", "type", "process", "f", "value", "error", "node"})
MAX_DEPTH = 100  # nesting deeper than this is refused before any recursive code sees it
MAX_INT_DIGITS = 4300  # Python's int/str conversion limit
# bytes of EDN read at a time: a file of ops over several lines is read fast if it fits in one chunk
# (such files are small: the largest in the corpus is 38 KB); bigger chunks only cost memory (a
# 16 MB chunk doubled the peak of reading a 36 MB file, 509 MB against 248 MB, and its system time)
_CHUNK = 1 << 20
_LINE_CHUNK = 1 << 18  # for JSON Lines and history.txt, one op per line: small chunks stay in the cache

# Problems that make a file not a history: refused (exit 255) unless ``lenient``.
REFUSED = frozenset({"unpaired-completion", "double-invoke", "no-process", "duplicate-index", "negative-index",
                     "index-backwards", "time-backwards", "f-mismatch"})


class HistoryFormatError(ValueError):
    """A history file that cannot be read. ``str()`` is the one line a user sees."""

    def __init__(self, path: str | Path, line: int | None, field: str | None, message: str) -> None:
        self.path, self.line, self.field, self.message = str(path), line, field, message
        where = self.path if line is None else f"{self.path}:{line}"
        super().__init__(f"{where}: {field}: {message}" if field else f"{where}: {message}")


def format_of(path: str | Path, fmt: str | None = None, head: str = "") -> str:
    """The format named by ``fmt``, else the one the content shows, else the file's extension."""
    if fmt is not None:
        if fmt not in FORMATS:
            raise HistoryFormatError(path, None, "format", f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")
        return fmt
    by_extension = _EXTENSIONS.get(Path(Path(path).name.lower().removesuffix(".gz")).suffix)
    found = _sniff(head) or by_extension
    if found is None:
        raise HistoryFormatError(path, None, "format",
                                 f"cannot tell the format from the extension; use --format ({', '.join(FORMATS)})")
    return found


_TXT_LINE = re.compile(r"^(?:[^\n]*?[ \t])??(?P<op>[^\s\[\]{}]+[ \t]+:(?:invoke|ok|fail|info)(?:[ \t][^\n]*)?)$", re.M)


def _sniff(head: str) -> str | None:
    """The format the first bytes of a file show, or None when they do not tell."""
    text = head.lstrip("\ufeff \t\r\n")
    while text.startswith(";"):  # EDN comment lines
        text = text.partition("\n")[2].lstrip()
    first = text.partition("\n")[0]
    if re.match(r"^[\[(]?\s*(?:#[\w.\-/]*)?\{\s*:", text) or re.match(r"^[\[(]\s*[\[(]", text):
        return "edn"
    if re.match(r"^\[\s*\{\s*\"", text):
        return "json"
    if re.match(r"^\{\s*\"", text):  # one object alone, or EDN with string keys: the extension says
        return "jsonl" if "\n" in text.strip() and _is_json(first) else None
    if _TXT_LINE.match(first):
        return "txt"
    return None


def _is_json(line: str) -> bool:
    try:
        json.loads(line)
    except ValueError:
        return False
    return True


def read_history(path: str | Path, fmt: str | None = None, *, lenient: bool = False) -> History:
    """Read a history file in any supported format.

    Problems that make the file no history (a completion without invocation, a process invoking
    twice, duplicate, negative or decreasing indices, time going backwards) raise HistoryFormatError naming
    the op's line; with ``lenient`` they become the history's ``warnings`` instead.
    """
    try:
        with _open(path) as f:
            head = f.read(4096).decode("utf-8", errors="replace")
    except (OSError, EOFError) as e:
        raise HistoryFormatError(path, None, None, f"cannot read: {getattr(e, 'strerror', None) or e}") from None
    fmt = format_of(path, fmt, head)
    reader = {"edn": _edn_records, "json": _json_records, "jsonl": _jsonl_records, "txt": _txt_records}[fmt]
    ops: list[Op] = []
    lines = array("q")
    sharing = new_sharing()
    with collector_paused():
        for numbers, records in reader(path):
            _add_ops(ops, records, numbers, path, sharing)
            lines.extend(numbers if None not in numbers else [-1 if n is None else n for n in numbers])
        history = History(tuple(ops), lines=lines)
        problems = [p for p in history.problems() if p.kind in REFUSED]
    if problems and not lenient:
        first = problems[0]
        raise HistoryFormatError(path, history.line_of(first.index), first.field, first.message)
    if problems:
        history = History(history.ops, lines=lines, warnings=tuple(_warning(path, history, p) for p in problems))
    return history


def _add_ops(ops: list[Op], records: list[Any], numbers: list[int | None], path: str | Path,
             sharing: Sharing) -> None:
    """Append the Ops of ``records`` (file lines ``numbers``) to ``ops``: in C (``_ops.c``) for the
    common op maps, by op_from_mapping for the others, which builds them or refuses them. ``sharing``:
    the history's one object per distinct atom, last invocation per process and last list per key
    in its values, so that equal parts of values are one object (see ``_ops.c``)."""
    start = 0
    while start < len(records):
        built, stop = build_ops(records, start, len(ops), _OP_FIELDS, sharing)
        ops += built
        if stop < len(records):
            ops.append(op_from_mapping(records[stop], len(ops), path, numbers[stop]))
        start = stop + 1


def _warning(path: str | Path, history: History, problem: HistoryProblem) -> str:
    line = history.line_of(problem.index)
    return f"{path}{'' if line is None else f':{line}'}: {problem.field}: {problem.message}"


def _open(path: str | Path) -> IO[bytes]:
    """The file's bytes, decompressed when it is gzip (``history.jsonl.gz``)."""
    with open(path, "rb") as f:
        gzipped = f.read(2) == b"\x1f\x8b"
    return gzip.open(path, "rb") if gzipped else open(path, "rb")


def _chunks(path: str | Path, size: int) -> Iterator[tuple[int, str]]:
    """(first line number, text) of successive runs of whole lines, about ``size`` bytes each."""
    line, rest = 1, b""
    with _open(path) as f:
        while True:
            data = f.read(size)
            if not data:
                break
            data = rest + data
            cut = data.rfind(b"\n") + 1
            if cut == 0:
                rest = data
                continue
            rest = data[cut:]
            yield line, _decode(path, line, data[:cut])
            line += data.count(b"\n", 0, cut)
        if rest:
            yield line, _decode(path, line, rest)


def _decode(path: str | Path, line: int, data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise HistoryFormatError(path, line + data.count(b"\n", 0, e.start), None,
                                 "not UTF-8 text") from None


def write_history(ops: Iterable[Op], path: str | Path, fmt: str | None = None) -> None:
    """Write ops as JSON Lines or EDN (one op map per line, which Jepsen and elle-cli read)."""
    fmt = format_of(path, fmt)
    encode = {"jsonl": op_to_json, "edn": op_to_edn}.get(fmt)
    if encode is None:
        raise HistoryFormatError(path, None, "format", f"cannot write {fmt}; write jsonl or edn")
    try:
        with open(path, "w", encoding="utf-8") as out:
            for op in ops:
                out.write(encode(op) + "\n")
    except OSError as e:
        raise HistoryFormatError(path, None, None, f"cannot write: {e.strerror or e}") from None


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

_TUPLE_FIELDS = ("process", "type", "f", "value", "error")
_SHARED: dict[Any, Any] = {}  # one str object per distinct f and process name
_OP_TYPES = {t: t for t in OP_TYPES}  # one str object per op type
Sharing = tuple[dict[Any, Any], dict[Any, Any], dict[Any, Any], dict[Any, Any]]  # atoms, invoked, reads, lists: _ops.c


def new_sharing() -> Sharing:
    """A history's own dicts for sharing equal parts of its values (one set per history read)."""
    return {}, {}, {}, {}


_OP_FIELDS = (Op, _OP_TYPES, _SHARED, NO_EXTRA)  # what _ops.c needs to build Ops as op_from_mapping does


def op_from_mapping(record: Any, position: int, path: str | Path = "<history>", line: int | None = None) -> Op:
    """Validate one op map (or Knossos ``[process type f value]`` tuple) and build an Op."""
    if record.__class__ is not dict:
        if isinstance(record, list) and 3 <= len(record) <= 5:
            record = dict(zip(_TUPLE_FIELDS, record, strict=False))
        if not isinstance(record, dict):
            raise HistoryFormatError(path, line, None, f"op {position} is not a map but {_describe(record)}")
    get = record.get
    given = get("type")
    type_ = _OP_TYPES.get(given) if given.__class__ is str else None
    if type_ is None:
        _refuse_symbol(record, path, line)
        raise HistoryFormatError(path, line, "type",
                                 f"unknown op type {_short(given)} (expected invoke, ok, fail or info)")
    index = get("index", position)
    if index.__class__ is not int:
        raise HistoryFormatError(path, line, "index", f"not an integer: {_short(index)}")
    time = get("time", position)
    if time.__class__ is not int:
        if time.__class__ is float and math.isfinite(time):
            time = int(time)
        else:
            raise HistoryFormatError(path, line, "time", f"not a finite number: {_short(time)}")
    process = get("process")
    if process.__class__ not in (int, str) and process is not None:
        _refuse_symbol(record, path, line)
        raise HistoryFormatError(path, line, "process", f"not an integer or name: {_short(process)}")
    f = get("f")
    if f.__class__ is str:
        f = _SHARED.setdefault(f, f)
    elif f is not None and (f.__class__ is not int or isinstance(f, Symbol)):
        _refuse_symbol(record, path, line)
        raise HistoryFormatError(path, line, "f", f"not a name: {_short(f)}")
    if process.__class__ is str:
        process = _SHARED.setdefault(process, process)
    extra = ({k if isinstance(k, str) else str(k): v for k, v in record.items() if k not in _CORE_FIELDS}
             if len(record) > 3 and not _CORE_FIELDS.issuperset(record) else NO_EXTRA)
    return Op(index, time, type_, process, f, get("value"), get("error"), get("node"), extra)


def _refuse_symbol(record: dict[Any, Any], path: str | Path, line: int | None) -> None:
    for name in ("type", "f", "process"):
        if isinstance(record.get(name), Symbol):
            raise HistoryFormatError(path, line, name, f"bare symbol {record[name][:40]} (write :{record[name][:40]})")


def _describe(x: Any) -> str:
    return f"{type(x).__name__} {_short(x)}"


def _short(x: Any) -> str:
    if isinstance(x, int) and not isinstance(x, bool) and abs(x) > 10**60:
        return f"an integer of {len(str(abs(x)))} digits"
    text = repr(x)
    return text[:60] + ("..." if len(text) > 60 else "")


# ---------------------------------------------------------------- EDN: the fast path

_KEYWORD_SAFE = re.compile(r"^[A-Za-z*+!_?<>=-][\w*+!_?<>=.\-/]*$")
_MAP, _SET = "\x01", "\x02"  # the keys of the marker objects edn_as_json writes for maps and sets


class Symbol(str):
    """A bare EDN symbol (``java.sql.SQLException`` in an exception map). Held as text in values;
    refused where an op's own fields need a keyword (``{:type invoke}``)."""


class _Refused(ValueError):
    """A form the fast path parsed but that is no data (duplicate map key, collection as key...)."""


def _build(pairs: list[tuple[str, Any]]) -> Any:
    """json's object_pairs_hook: our marker objects back to EDN maps and sets."""
    if len(pairs) != 1:
        raise _Refused("a JSON object where EDN was expected")
    return _unmark(*pairs[0])


def _unmark(kind: str, items: Any) -> Any:
    """The EDN map or set a marker object ``{kind: items}`` stands for."""
    if items.__class__ is not list or kind not in (_MAP, _SET):
        raise _Refused("a JSON object where EDN was expected")
    try:
        if kind == _MAP:
            if len(items) % 2:
                raise _Refused(f"a map with an odd number of forms ({len(items)})")
            built = dict(zip(items[::2], items[1::2], strict=True))
            if len(built) * 2 != len(items):
                raise _Refused(f"duplicated map key {_short(_duplicate(items[::2]))}")
            return built
        unique = set(items)
        if len(unique) != len(items):
            raise _Refused(f"duplicated set element {_short(_duplicate(items))}")
        return _sorted_list(items)
    except TypeError:
        raise _Refused("a collection used as a map key or set element") from None


def _duplicate(items: list[Any]) -> Any:
    seen: set[Any] = set()
    for x in items:
        if x in seen:
            return x
        seen.add(x)
    return None


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _Refused(f"number {text[:40]} is out of range")
    return value


def _json_array(text: str, hook: Callable[[list[tuple[str, Any]]], Any]) -> list[Any]:
    """json.loads with nesting limited to MAX_DEPTH (RecursionError past it) and finite floats only."""
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(_stack_depth() + 2 * MAX_DEPTH + 20)
    try:
        return json.loads(text, object_pairs_hook=hook, parse_float=_finite_float, strict=False)
    finally:
        sys.setrecursionlimit(limit)


def _quick_json(data: bytes, written_by_c: bool = False) -> list[Any] | None:
    """``data`` (a JSON array) read by orjson, which is about twice as fast as json; None where
    orjson might read it otherwise than :func:`_json_array` does or refuses it (json decides then):
    an integer of 20 digits or more or a negative one of 19 (orjson makes them floats), nesting
    deeper than MAX_DEPTH (orjson allows 1,024), ``NaN``, control characters, lone surrogates.
    ``written_by_c``: ``data`` comes from edn_as_json or json_lines, which refuse forms nested past
    MAX_DEPTH, so its nesting (at most 2 * MAX_DEPTH + 1, maps being two levels) needs no count."""
    digits = data.translate(_DIGIT_CLASS)
    if b"00000000000000000000" in digits or b"-0000000000000000000" in digits:
        return None
    if not written_by_c and not 0 <= json_depth(data) <= MAX_DEPTH:
        return None
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        return None


_DIGIT_CLASS = bytes(48 if 48 <= b <= 57 else b if b == 45 else 32 for b in range(256))  # digits to 0, - kept


def _stack_depth() -> int:
    frame, depth = sys._getframe(), 0
    while frame is not None:
        frame, depth = frame.f_back, depth + 1
    return depth


def _fast_forms(text: str) -> tuple[list[Any], list[int]] | None:
    """The forms of ``text`` by the fast path, and the line (from 0) each starts on; None when it
    cannot say (the general path will)."""
    converted = edn_as_json(text, True)
    if converted is None:
        return None
    data, keys, marked, starts = converted
    if marked is not None:  # the op maps as JSON objects: fine unless a key was duplicated
        forms = _quick_json(data, written_by_c=True)
        if forms is not None and sum(map(len, forms)) == keys:  # entries of the maps, items of the vectors
            try:
                for n in marked:
                    form = forms[n]
                    forms[n] = {k: _unmarked(v) for k, v in form.items()} if form.__class__ is dict else _unmarked(form)
                return forms, starts
            except (_Refused, RecursionError):  # json (below) reads deep nesting with a raised limit
                pass
        data, _, _, starts = edn_as_json(text, False)
    try:  # every map a marker: a top-level set, scalar or map without keyword keys, a duplicated key, deep nesting
        return _json_array(data.decode(), _build), starts
    except (ValueError, RecursionError):
        return None


def _unmarked(x: Any) -> Any:
    """``x`` with the marker objects in it made maps and sets (nesting is at most MAX_DEPTH)."""
    if x.__class__ is list:
        return [_unmarked(item) for item in x]
    if x.__class__ is dict:
        if len(x) != 1:
            raise _Refused("a JSON object where EDN was expected")
        kind, items = x.popitem()
        return _unmark(kind, _unmarked(items))
    return x


Batch = tuple[list[int | None], list[Any]]  # the file lines of some records, and the records (op maps)


def _edn_records(path: str | Path) -> Iterator[Batch]:
    """Top-level op forms with their line numbers; a lone vector or list of ops is opened up.

    The fast path reads chunk by chunk (ops over several lines too). A chunk it cannot express is
    read line by line, the general parser taking the lines the fast path cannot; where a line holds
    no single form (an op over several lines, one with a tagged literal), the general parser reads
    the whole file.
    """
    closer, read = None, 0
    for number, (line0, text, last) in enumerate(_with_last(_chunks(path, _CHUNK))):
        if number == 0:
            opener = re.match(r"(?:\s|;[^\n]*)*([\[(])\s*(?=[\[({#])", text)
            if opener is not None:  # one vector of ops: drop its brackets, read what is inside
                closer = {"[": "]", "(": ")"}[opener.group(1)]
                text = text[:opener.start(1)] + " " + text[opener.end(1):]
        if closer is not None and last:
            end = text.rstrip(" \t\r\n,")
            if not end.endswith(closer):
                yield from _edn_records_general(path, line0, read, closer is not None)
                return
            text = end[:-1] + text[len(end):]
        converted = _fast_forms(text)
        if converted is not None:
            forms, starts = converted
        else:  # something the fast path cannot express: line by line, the general parser for those lines
            lines = text.split("\n")
            starts = [n for n, raw in enumerate(lines) if raw.strip(" \t\r,") and not raw.lstrip().startswith(";")]
            forms = []
            for n in starts:
                one = _fast_forms(lines[n])
                found = one[0] if one is not None else []
                if len(found) != 1:
                    try:
                        found = [form for _, form in parse_edn(lines[n], path, line0 + n)]
                    except HistoryFormatError:
                        found = []
                if len(found) != 1:  # a form over several lines, or several on one: the general way
                    yield from _edn_records_general(path, line0, read, closer is not None)
                    return
                forms.append(found[0])
        yield [line0 + n for n in starts], forms
        read += len(forms)


def _with_last(chunks: Iterator[tuple[int, str]]) -> Iterator[tuple[int, str, bool]]:
    previous = next(chunks, None)
    for chunk in chunks:
        assert previous is not None
        yield (*previous, False)
        previous = chunk
    if previous is not None:
        yield (*previous, True)


def _edn_records_general(path: str | Path, from_line: int = 1, read: int = 0,
                         vector: bool = False) -> Iterator[Batch]:
    """The whole file by the general parser; only the forms from ``from_line`` on: the fast path has
    yielded the ``read`` forms before it, each chunk's forms whole (taking the file for one vector of
    ops if ``vector``, which the general parser must then find too)."""
    records = parse_edn("".join(t for _, t in _chunks(path, _CHUNK)), path, open_first=True)
    if vector and sum(1 for line, _ in records if line < from_line) != read:
        raise HistoryFormatError(path, records[1][0] if len(records) > 1 else None, None,
                                 "the file opens with a vector but is not one vector of ops")
    rest = [(line, form) for line, form in records if line >= from_line]
    yield [line for line, _ in rest], [form for _, form in rest]


# ---------------------------------------------------------------- EDN: the general parser

_TOKEN = re.compile(r"""
  (?P<ws>[\s,]+)
| (?P<comment>;[^\n]*)
| (?P<open>\#\{|[\[({])
| (?P<close>[\])}])
| (?P<str>"(?:[^"\\]|\\.)*")
| (?P<discard>\#_)
| (?P<special>\#\#[^\s,\[\](){}";]*)
| (?P<tag>\#[A-Za-z][^\s,\[\](){}";]*)
| (?P<char>\\(?:newline|space|tab|return|backspace|formfeed|u[0-9a-fA-F]{4}|[^\s]))
| (?P<num>[+-]?\d+(?:\.\d*)?(?:[eE][+-]?\d+)?[NM]?(?:/\d+)?)(?=[\s,\[\](){}";]|\Z)
| (?P<word>[^\s,\[\](){}";\\]+)
""", re.X | re.S)
_CLOSERS = {"[": "]", "(": ")", "{": "}", "#{": "}"}
_CHARS = {"newline": "\n", "space": " ", "tab": "\t", "return": "\r", "backspace": "\b", "formfeed": "\f"}
_WORDS = {"nil": None, "true": True, "false": False}


def parse_edn(text: str, path: str | Path = "<edn>", line0: int = 1, *,
              open_first: bool = False) -> list[tuple[int, Any]]:
    """Every top-level form of ``text`` with the line it starts on, as plain Python values.

    Linear in the text and iterative (no recursion), nesting limited to MAX_DEPTH. Tagged
    literals give their value; ``#_`` discards; symbols become :class:`Symbol`; ``##Inf``,
    ``##NaN``, out-of-range numbers, duplicated map keys and collections as keys are refused.
    With ``open_first`` the elements of the first top-level collection are returned instead (a
    file holding one vector of ops).
    """
    # a frame: [opener, items, item lines, forms to discard, line it opened on]
    top: list[Any] = [None, [], [], 0, line0]
    stack = [top]
    inner_lines: list[list[int]] = []  # item lines of each top-level collection
    line, counted, pos, n = line0, 0, 0, len(text)
    match = _TOKEN.match

    def refuse(message: str, at: int) -> HistoryFormatError:
        return HistoryFormatError(path, line0 + text.count("\n", 0, at), None, f"invalid EDN: {message}")

    while pos < n:
        m = match(text, pos)
        if m is None:
            raise refuse(f"unexpected {text[pos]!r}", pos)
        kind, start, pos = m.lastgroup, pos, m.end()
        if kind in ("ws", "comment", "tag"):
            continue
        line += text.count("\n", counted, start)
        counted = start
        frame = stack[-1]
        if kind == "discard":
            frame[3] += 1
            continue
        if kind == "open":
            if len(stack) > MAX_DEPTH:
                raise refuse(f"nested deeper than {MAX_DEPTH} levels", start)
            stack.append([m.group(), [], [], 0, line])
            frame[2].append(line)
            continue
        if kind == "close":
            if len(stack) == 1 or _CLOSERS[frame[0]] != m.group():
                raise refuse(f"unexpected {m.group()!r}", start)
            stack.pop()
            value = _collection(frame[0], frame[1], refuse, start)
            parent = stack[-1]
            if parent[3]:
                parent[3] -= 1
                parent[2].pop()
            else:
                parent[1].append(value)
                if parent is top:
                    inner_lines.append(frame[2])
            continue
        value = _scalar(kind, m.group(), refuse, start)
        if frame[3]:
            frame[3] -= 1
        else:
            frame[1].append(value)
            frame[2].append(line)
    if len(stack) > 1:
        raise HistoryFormatError(path, stack[-1][4], None,
                                 f"invalid EDN: unclosed {stack[-1][0]!r} (truncated file?)")
    if open_first and len(top[1]) == 1 and isinstance(top[1][0], list) and top[1][0] and \
            isinstance(top[1][0][0], (dict, list)):
        return list(zip(inner_lines[0], top[1][0], strict=True))
    return list(zip(top[2], top[1], strict=True))


def _collection(opener: str, items: list[Any], refuse: Callable[[str, int], Exception], at: int) -> Any:
    if opener in ("[", "("):
        return items
    try:
        return _build([(_MAP if opener == "{" else _SET, items)])
    except _Refused as e:
        raise refuse(str(e), at) from None


def _scalar(kind: str | None, token: str, refuse: Callable[[str, int], Exception], at: int) -> Any:
    if kind == "str":
        try:
            return json.loads(token, strict=False)
        except ValueError:
            raise refuse(f"bad escape in string {token[:40]}", at) from None
    if kind == "num":
        return _number(token, refuse, at)
    if kind == "char":
        name = token[1:]
        return _CHARS.get(name) or (chr(int(name[1:], 16)) if len(name) == 5 and name[0] == "u" else name)
    if kind == "word":
        if token in _WORDS:
            return _WORDS[token]
        if token.startswith(":") and len(token) > 1:
            return token[1:]
        return Symbol(token)
    raise refuse(f"{token[:40]} is not a value a history can hold", at)


def _number(token: str, refuse: Callable[[str, int], Exception], at: int) -> Any:
    digits = token.lstrip("+-")
    if len(digits) > MAX_INT_DIGITS and digits.rstrip("NM").isdigit():
        raise refuse(f"an integer of {len(digits)} digits is too large", at)
    try:
        if "/" in token:
            num, _, den = token.partition("/")
            value: Any = int(num) / int(den)
        elif token[-1] == "N" or token.lstrip("+-").isdigit():
            value = int(token.rstrip("N"))
        else:
            value = float(token.rstrip("M"))
    except (ValueError, ZeroDivisionError, OverflowError):
        raise refuse(f"bad number {token[:40]}", at) from None
    if isinstance(value, float) and not math.isfinite(value):
        raise refuse(f"number {token[:40]} is out of range", at)
    return value


def _sorted_list(items: Iterable[Any]) -> list[Any]:
    items = list(items)
    try:
        return sorted(items)
    except TypeError:
        return sorted(items, key=repr)


# ---------------------------------------------------------------- EDN: writing

def _edn(x: Any) -> str:
    """A Python value as EDN: keyword-safe strings become keywords, as Jepsen writes them."""
    if x is None:
        return "nil"
    if x is True or x is False:
        return "true" if x else "false"
    if isinstance(x, str):
        return f":{x}" if _KEYWORD_SAFE.match(x) and x not in ("nil", "true", "false") else json.dumps(x)
    if isinstance(x, (int, float)):
        return repr(x)
    if isinstance(x, Mapping):
        return "{" + ", ".join(f"{_edn(k)} {_edn(v)}" for k, v in x.items()) + "}"
    if isinstance(x, (set, frozenset)):
        return "#{" + " ".join(_edn(v) for v in _sorted_list(x)) + "}"
    if isinstance(x, (list, tuple)):
        return "[" + " ".join(_edn(v) for v in x) + "]"
    return json.dumps(str(x))


def op_to_edn(op: Op) -> str:
    """One op as an EDN map on one line (node names stay strings, as in Jepsen)."""
    d = op.to_dict()
    node = d.pop("node", None)
    text = _edn(d)
    return text if node is None else f"{text[:-1]}, :node {json.dumps(str(node))}}}"


# ---------------------------------------------------------------- JSON, JSON Lines

def _json_object(pairs: list[tuple[str, Any]]) -> dict[Any, Any]:
    """json's object_pairs_hook: duplicated keys refused; integer keys written as JSON writes an int
    ("7", "-3"; not "07" or "-0", which would merge with another key) become ints, as the EDN they
    came from had."""
    built = dict(pairs)
    if len(built) != len(pairs):
        raise _Refused(f"duplicated key {_short(_duplicate([k for k, _ in pairs]))}")
    if all(map(str.isidentifier, built)):
        return built
    return {(int(k) if _INT_KEY.fullmatch(k) else k): v for k, v in built.items()}  # canonical: none merge


_INT_KEY = re.compile(r"0|-?[1-9][0-9]{0,999}", re.ASCII)


def _refuse_deep(text: str, path: str | Path, line: int | None, outer: int) -> None:
    """Refuse JSON text whose ops (``outer`` levels down: 1 inside a top-level array) nest deeper than
    MAX_DEPTH, as EDN ops are refused; json itself, with its raised recursion limit, reads about twice that."""
    if json_depth(text.encode()) - outer > MAX_DEPTH:
        raise HistoryFormatError(path, line, None, f"invalid JSON: nested deeper than {MAX_DEPTH} levels")


def _load_json(text: str, path: str | Path, line: int | None) -> list[Any]:
    try:
        return _json_array(text, _json_object)
    except json.JSONDecodeError as e:
        at = e.lineno - 1 + (line or 1) if line is not None else e.lineno
        raise HistoryFormatError(path, at, None, f"invalid JSON: {e.msg}") from None
    except RecursionError:
        raise HistoryFormatError(path, line, None, f"invalid JSON: nested deeper than {MAX_DEPTH} levels") from None
    except ValueError as e:  # _Refused, or an integer past Python's digit limit
        message = str(e) if isinstance(e, _Refused) else "an integer too large to read"
        raise HistoryFormatError(path, line, None, f"invalid JSON: {message}") from None


def _json_records(path: str | Path) -> Iterator[Batch]:
    text = "".join(t for _, t in _chunks(path, _CHUNK))
    stripped = text.strip()
    if stripped.startswith("{") and "\n" in stripped and _sniff(text) == "jsonl":  # JSON Lines named .json
        yield from _jsonl_records(path)
        return
    data = _quick_objects(text) if stripped.startswith("[") else None
    if data is None:
        _refuse_deep(text, path, None, outer=int(stripped.startswith("[")))
        values = _load_json(f"[{text}]", path, None)
        if len(values) > 1:
            raise HistoryFormatError(path, None, None, f"{len(values)} JSON values; expected one array of ops")
        data = values[0] if values else []
    if not isinstance(data, list):
        data = [data]
    lines: list[int | None] = _object_lines(text) if len(data) > 1 else []  # type: ignore[assignment]
    if len(lines) != len(data):
        lines = [None] * len(data)
    yield lines, data


def _object_lines(text: str) -> list[int]:
    """Line numbers of the objects of a top-level JSON array when each starts its own line."""
    return [n for n, raw in enumerate(text.splitlines(), 1) if raw.lstrip(" [,").startswith("{")]


def _jsonl_records(path: str | Path) -> Iterator[Batch]:
    for line0, text in _chunks(path, _LINE_CHUNK):
        yield _jsonl_chunk(text, line0, path)


def _jsonl_chunk(text: str, line0: int, path: str | Path) -> Batch:
    """The objects of JSON Lines ``text`` (whose first line is ``line0``) with their lines: as one JSON
    array by orjson when every line holds exactly one object (``json_lines``, in C), the objects that
    hold objects by json; every line by json when a line is not so, or orjson might read it otherwise."""
    split = json_lines(text)
    if split is not None:
        data, starts, keys, nested = split
        records = _quick_json(data, written_by_c=True)
        if records is not None and sum(map(len, records)) == keys:  # no key duplicated (orjson keeps the last)
            records = [record if record.keys() <= _CORE_FIELDS else _json_object(list(record.items()))
                       for record in records]
            for n, line in nested:  # keys duplicated inside: json refuses them
                records[n] = _one_json_object(line, path, line0 + starts[n])
            return [line0 + n for n in starts], records
    lines = text.split("\n")
    starts = [n for n, raw in enumerate(lines) if raw.strip()]
    return [line0 + n for n in starts], [_one_json_object(lines[n], path, line0 + n) for n in starts]


def _one_json_object(line: str, path: str | Path, number: int) -> Any:
    _refuse_deep(line, path, number, outer=0)
    values = _load_json(f"[{line}]", path, number)
    if len(values) != 1:
        raise HistoryFormatError(path, number, None, "expected one JSON object per line")
    return values[0]


def _quick_objects(joined: str) -> list[Any] | None:
    """A JSON array of op objects (an elle-cli file), by orjson, which keeps the last of duplicated
    keys: so only where the text holds as many keys as the top-level objects have (no duplicates, no
    nested objects, no ``":`` in a string); otherwise None."""
    records = _quick_json(joined.encode())
    if records is None or not all(record.__class__ is dict for record in records):
        return None
    if _keys_in(joined) != sum(map(len, records)):
        return None
    return [record if record.keys() <= _CORE_FIELDS else _json_object(list(record.items())) for record in records]


def _keys_in(text: str) -> int:
    """How often a string is followed by a colon: the keys of JSON text, more if a string holds ``":``."""
    return text.count('":') if _SPACED_KEY.search(text) is None else len(_KEY.findall(text))


_KEY = re.compile(r'"\s*:')
_SPACED_KEY = re.compile(r'"\s+:')


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

def _txt_records(path: str | Path) -> Iterator[Batch]:
    """``process type f value [error]`` per line, separated by tabs or spaces (Jepsen wrote both);
    a logger prefix before the process is skipped. Each line is read as the EDN vector it is."""
    for line0, text in _chunks(path, _LINE_CHUNK):
        lines = text.split("\n")
        starts = [n for n, raw in enumerate(lines) if raw.strip()]
        ops = _TXT_LINE.findall(text)  # at most one op a line, none on a blank one
        if len(ops) != len(starts):
            n = next(n for n in starts if _TXT_LINE.match(lines[n]) is None)
            raise HistoryFormatError(path, line0 + n, None,
                                     "expected process, type, f and value separated by tabs or spaces")
        converted = _fast_forms("[" + "]\n[".join(ops) + "]")
        forms = converted[0] if converted is not None else None
        if forms is None or len(forms) != len(ops):
            forms = []
            for n, op in zip(starts, ops, strict=True):
                fields = [form for _, form in parse_edn(op, path, line0 + n)]
                forms.append(fields)
        for n, fields in zip(starts, forms, strict=True):
            if not 3 <= len(fields) <= 5:
                raise HistoryFormatError(path, line0 + n, None, f"{len(fields)} fields; expected process, "
                                         "type, f, value and an optional error")
        yield [line0 + n for n in starts], [dict(zip(_TUPLE_FIELDS, fields, strict=False)) for fields in forms]
