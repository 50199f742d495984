import copy
import json
import math
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from checkers import formats
from checkers.formats import HistoryFormatError, JsonlWriter, read_history, write_history
from checkers.history import Op


def corpus_files(corpus: Path) -> list[Path]:
    return sorted(p for p in corpus.rglob("*") if p.suffix in (".edn", ".json"))


# a parser test of elle-cli's (comments in EDN) whose ops have no process and overlap: which completion
# is whose is unknown, so as a history it is refused, and read only with --lenient
WITHOUT_PROCESSES = {"comments.edn"}


def test_every_corpus_file_parses(corpus):
    files = corpus_files(corpus)
    assert len(files) > 140
    for path in files:
        history = read_history(path, lenient=path.name in WITHOUT_PROCESSES)
        assert len(history) > 0, path
        assert history.stats()["ops"] == len(history), path
        assert bool(history.warnings) == (path.name in WITHOUT_PROCESSES), path


def test_ops_without_a_process_that_overlap_are_refused(corpus, tmp_path):
    """Without processes ops pair one after another: a write invoked while a read is open took the read's
    completion, so a read of 7 that nobody wrote was checked as a write of 7, and the history was true.
    Refused at the overlap; with --lenient both problems are warnings (the read's completion, ignored,
    once turned invoke read, invoke write 1, ok write 1, ok read 7 into true too)."""
    path = tmp_path / "h.edn"
    path.write_text("{:type :invoke, :f :write, :value 5}\n{:type :ok, :f :write, :value 5}\n"
                    "{:type :invoke, :f :read, :value nil}\n{:type :invoke, :f :write, :value 1}\n"
                    "{:type :ok, :f :read, :value 7}\n")
    with pytest.raises(HistoryFormatError, match=r"h\.edn:4: process: invoked without a process while op 2, also"):
        read_history(path)
    comments = corpus / "elle-cli/histories/custom/comments.edn"
    with pytest.raises(HistoryFormatError, match=r"comments\.edn:2: process: invoked without a process while op 1"):
        read_history(comments)
    warnings = read_history(comments, lenient=True).warnings
    assert any(":6: process: ok without a process has no invocation" in w for w in warnings)


def test_edn_and_json_versions_of_the_same_history_agree(corpus):
    base = corpus / "elle-cli" / "histories"
    for name in ("jepsen/bank", "jepsen/counter", "jepsen/set_full", "elle/paper-example", "knossos/mutex/bad/etcd"):
        edn, js = read_history(base / f"{name}.edn"), read_history(base / f"{name}.json")
        assert [o.to_dict() for o in edn] == [o.to_dict() for o in js], name


def test_comments_and_tuples_and_bare_sequences(corpus):
    h = read_history(corpus / "elle-cli/histories/custom/comments.edn", lenient=True)
    assert h.ops[0].type == "invoke"
    multi = read_history(corpus / "knossos/data/multi-register/good/multi-register.edn")
    assert multi.ops[0].value == [["read", "x", None]]


def test_knossos_tuples(tmp_path):
    p = tmp_path / "t.edn"
    p.write_text("[0 :invoke :write 3]\n[0 :ok :write 3]\n[1 :invoke :read nil]\n[1 :ok :read 3]\n")
    h = read_history(p)
    assert [(o.process, o.type, o.f, o.value) for o in h] == [
        (0, "invoke", "write", 3), (0, "ok", "write", 3), (1, "invoke", "read", None), (1, "ok", "read", 3)]
    assert [o.index for o in h] == [0, 1, 2, 3]


def test_history_txt_with_and_without_logger_prefix(tmp_path):
    p = tmp_path / "history.txt"
    p.write_text("0\t:invoke\t:write\t3\n"
                 "INFO  jepsen.util - 0\t:ok\t:write\t3\n"
                 ":nemesis\t:info\t:start\tnil\n"
                 "1 :invoke  :read nil\n"
                 "1\t:info\t:read\tnil\t:timed-out\n")
    h = read_history(p)
    assert [(o.process, o.type, o.f, o.value, o.error) for o in h] == [
        (0, "invoke", "write", 3, None), (0, "ok", "write", 3, None), ("nemesis", "info", "start", None, None),
        (1, "invoke", "read", None, None), (1, "info", "read", None, "timed-out")]


def test_set_values_and_tagged_ops(tmp_path):
    p = tmp_path / "t.edn"
    p.write_text('#jepsen.history.Op{:index 0 :type :ok :process 0 :f :read :value #{3 1 2} :s "a \\"q\\""}\n')
    op = read_history(p, lenient=True).ops[0]
    assert op.value == [1, 2, 3]
    assert op.extra == {"s": 'a "q"'}


@pytest.mark.parametrize(("name", "text", "line", "field"), [
    ("truncated.edn", "{:type :invoke :f :read}\n{:type :ok :f :read :value [1 2", 2, None),
    ("bad.json", '[{"type": "invoke", "f": "read"},\n {"type": "ok" "f": "read"}]', 2, None),
    ("badtype.edn", "{:type :invoke :f :read}\n{:type :done :f :read}\n", 2, "type"),
    ("badindex.jsonl", '{"type":"invoke","f":"r","index":0}\n{"type":"ok","f":"r","index":"x"}\n', 2, "index"),
    ("notamap.edn", "{:type :invoke :f :read}\n:oops\n", 2, None),
])
def test_malformed_input_names_file_line_and_field(tmp_path, name, text, line, field):
    p = tmp_path / name
    p.write_text(text)
    with pytest.raises(HistoryFormatError) as e:
        read_history(p)
    assert e.value.line == line
    assert e.value.field == field
    assert str(e.value).startswith(f"{p}:{line}: ")


def test_unknown_extension_asks_for_format(tmp_path):
    p = tmp_path / "h.dat"
    p.write_text("{}")
    with pytest.raises(HistoryFormatError, match="--format"):
        read_history(p)


# Values a history holds: EDN scalars, keywords (as str), vectors, maps with keyword or int keys.
scalars = st.one_of(st.none(), st.booleans(), st.integers(-10**12, 10**12),
                    st.sampled_from(["read", "write", "cas", "r", "append", "timed-out", "a b", "x\"y", "ns/kw"]))
values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4),
    st.dictionaries(st.one_of(st.sampled_from(["from", "to", "amount"]), st.integers(0, 9)), inner, max_size=3)),
    max_leaves=12)
ops = st.builds(
    Op, index=st.integers(0, 10**6), time=st.integers(0, 10**15),
    type=st.sampled_from(["invoke", "ok", "fail", "info"]), process=st.one_of(st.integers(0, 50), st.just("nemesis")),
    f=st.sampled_from(["read", "write", "txn", "start-partition"]), value=values,
    error=st.one_of(st.none(), st.sampled_from(["timed-out", "connection refused"])),
    node=st.one_of(st.none(), st.sampled_from(["n1", "n2"])),
    extra=st.dictionaries(st.sampled_from(["key", "debug"]), scalars, max_size=2))


@settings(max_examples=150, deadline=None)
@given(st.lists(ops, min_size=1, max_size=12))
def test_edn_jsonl_edn_round_trip_keeps_every_op(tmp_path_factory, generated):
    d = tmp_path_factory.mktemp("rt")
    write_history(generated, d / "a.edn")
    from_edn = read_history(d / "a.edn", lenient=True).ops
    write_history(from_edn, d / "b.jsonl")
    from_jsonl = read_history(d / "b.jsonl", lenient=True).ops
    write_history(from_jsonl, d / "c.edn")
    again = read_history(d / "c.edn", lenient=True).ops
    assert list(from_edn) == list(generated)
    assert list(from_jsonl) == list(generated)
    assert list(again) == list(generated)


def test_corpus_round_trips_through_jsonl_and_edn(corpus, tmp_path):
    for path in corpus_files(corpus)[:40]:
        lenient = path.name in WITHOUT_PROCESSES
        original = read_history(path, lenient=lenient).ops
        write_history(original, tmp_path / "h.jsonl")
        write_history(read_history(tmp_path / "h.jsonl", lenient=lenient).ops, tmp_path / "h.edn")
        assert read_history(tmp_path / "h.edn", lenient=lenient).ops == original, path


def test_jsonl_writer_streams_each_op(tmp_path):
    p = tmp_path / "h.jsonl"
    with JsonlWriter(p) as w:
        w.write(Op(0, 5, "invoke", 0, "read"))
        assert read_history(p).ops[0].time == 5  # on disk before the writer closes
        w.write(Op(1, 9, "ok", 0, "read", 3))
    assert len(read_history(p)) == 2


def test_history_txt_with_tabs_or_spaces_reads_the_same_and_checks_true():
    from chaos.cli.main import main

    data = Path(__file__).parent.parent / "data" / "history-txt"
    tabs = read_history(data / "etcd-register-tabs.history.txt")
    spaces = read_history(data / "etcd-register-spaces.history.txt")
    assert len(tabs) == 108 and [o.to_dict() for o in tabs] == [o.to_dict() for o in spaces]
    assert any(o.type == "info" for o in tabs)
    with pytest.raises(SystemExit) as e:
        main(["check", "-m", "cas-register", str(data / "etcd-register-tabs.history.txt"),
              str(data / "etcd-register-spaces.history.txt")])
    assert e.value.code == 0


def test_content_is_sniffed_not_only_the_extension(tmp_path):
    p = tmp_path / "kv.txt"  # EDN maps in a .txt file
    p.write_text("{:index 0, :type :invoke, :process 0, :f :read, :value nil}\n"
                 "{:index 1, :type :ok, :process 0, :f :read, :value 3}\n")
    assert [o.value for o in read_history(p)] == [None, 3]


def test_edn_with_string_keys_is_not_taken_for_json_lines(tmp_path):
    """A first line that starts like a JSON object but is no JSON leaves the choice to the extension."""
    p = tmp_path / "h.edn"
    p.write_text('{"type" :invoke, "process" 0, "f" :read}\n{"type" :ok, "process" 0, "f" :read, "value" 1}\n')
    assert [(o.type, o.value) for o in read_history(p)] == [("invoke", None), ("ok", 1)]


def test_reading_and_checking_leave_the_garbage_collector_as_they_found_it(tmp_path):
    """Both pause the collector while they run (checkers.collector); it must be on again after, also
    when they refuse the input, and stay off when the caller had turned it off."""
    import gc

    from checkers import CheckOptions, get_checker
    from checkers.shapes import ShapeError

    good, bad_line, bad_shape = tmp_path / "good.jsonl", tmp_path / "bad-line.jsonl", tmp_path / "bad-shape.jsonl"
    ops = ['{"type":"invoke","process":0,"f":"write","value":1}', '{"type":"ok","process":0,"f":"write","value":1}']
    good.write_text("\n".join(ops) + "\n")
    bad_line.write_text(ops[1] + "\n")  # a completion without its invocation
    bad_shape.write_text("\n".join(op.replace('"value":1', '"value":{"a":1}') for op in ops) + "\n")
    check = get_checker("cas-register")
    assert gc.isenabled()
    assert check(read_history(good), CheckOptions()).valid is True
    assert gc.isenabled()
    with pytest.raises(HistoryFormatError):
        read_history(bad_line)
    assert gc.isenabled()
    with pytest.raises(ShapeError):
        check(read_history(bad_shape), CheckOptions())
    assert gc.isenabled()
    gc.disable()
    try:
        check(read_history(good), CheckOptions())
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_an_op_over_several_lines_after_the_first_chunk_is_read_once(tmp_path, monkeypatch):
    """The fast path reads chunk by chunk; a later chunk it cannot read sends the file to the general
    parser, which must not yield again the ops of the chunks already read (they came out twice)."""
    import checkers.formats

    monkeypatch.setattr(checkers.formats, "_CHUNK", 4096)
    lines = []
    for i in range(0, 400, 2):
        lines.append(f"{{:type :invoke, :f :write, :value {i % 5}, :process 0, :index {i}, :time {i}}}")
        lines.append(f"{{:type :ok, :f :write, :value {i % 5}, :process 0, :index {i + 1}, :time {i + 1}}}")
    lines.append("{:type :invoke, :f :read, :value nil,\n :process 0, :index 400, :time 400}")
    lines.append("{:type :ok, :f :read, :value 4, :process 0, :index 401, :time 401}")
    path = tmp_path / "mixed.edn"
    path.write_text("\n".join(lines) + "\n")
    history = read_history(path)
    assert [op.index for op in history] == list(range(402))
    assert history.line_of(401) == 403


edn_atoms = st.one_of(
    st.integers(-10**25, 10**25).map(str),
    st.floats(allow_nan=False, allow_infinity=False).map(repr),
    st.text(max_size=4).map(json.dumps),
    st.sampled_from([":type", ":invoke", ":a/b:c", ":x-y?", ":1", "::a", "nil", "true", "false", "nil?", "foo",
                     "#inst", "#_", "##Inf", "\\c", "1N", "1.5M", "1/2", "01", "1.", "+1", "-", "-a", "1e", "1[2]",
                     ":k\"x\"", ";c\n", ",", "]", "(", "#{", "\x01", "é", '"a\\\\"', '"\\u00e9"',
                     '"two\nlines"']))
edn_texts = st.lists(st.recursive(edn_atoms, lambda inner: st.one_of(
    st.lists(inner, max_size=4).map(lambda xs: "[" + " ".join(xs) + "]"),
    st.lists(inner, max_size=4).map(lambda xs: "(" + ",".join(xs) + ")"),
    st.lists(inner, max_size=4).map(lambda xs: "{" + " ".join(xs) + "}"),
    st.lists(inner, max_size=4).map(lambda xs: "#{" + " ".join(xs) + "}")), max_leaves=12), max_size=4).map("\n".join)


@settings(max_examples=1500, deadline=None)
@given(edn_texts)
def test_the_fast_path_reads_edn_as_the_general_parser_does(text):
    """Whatever the C rewrite and orjson read, they read as parse_edn does (or leave it to it), and
    each form starts on the line parse_edn says."""
    fast = formats._fast_forms(text)
    try:
        general = formats.parse_edn(text, line0=0)
    except HistoryFormatError:
        general = None
    if fast is not None:
        assert general is not None
        assert fast == ([form for _, form in general], [line for line, _ in general])


@settings(max_examples=1000, deadline=None)
@given(st.text(alphabet=st.sampled_from(list('[](){}#:;"\\,. \n\t-+019eEnilruefaN/M\x00\x01é')), max_size=40))
def test_the_c_rewrite_takes_any_text(text):
    """Any text, however broken, is rewritten or left to the general parser: no crash, no exception,
    and what the fast path reads, parse_edn reads the same."""
    fast = formats._fast_forms(text)
    if fast is not None:
        general = formats.parse_edn(text, line0=0)
        assert fast == ([form for _, form in general], [line for line, _ in general])


json_atoms = st.one_of(st.integers(-10**25, 10**25), st.floats(allow_nan=False, allow_infinity=False),
                       st.text(max_size=3), st.none(), st.booleans())
json_values = st.recursive(json_atoms, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(st.sampled_from(["a", "7", "b c", '":']), inner, max_size=2)),
    max_leaves=8)
json_objects = st.tuples(st.lists(st.tuples(st.sampled_from(["type", "f", "value", "x", "7"]), json_values),
                                   max_size=4), st.sampled_from([":", " :", ": ", "\t:"])).map(
    lambda object_: "{" + ",".join(json.dumps(k) + object_[1] + json.dumps(v) for k, v in object_[0]) + "}")
json_lines_texts = st.lists(st.one_of(
    json_objects, json_objects, json_objects,
    st.tuples(json_objects, json_objects).map(" ".join),  # two on one line
    json_objects.map(lambda o: o.replace(",", ",\n", 1)),  # one over two lines
    st.sampled_from(["", "  ", "[1, 2]", "7", '{"a": "x', 'y"}', "{", "}"])), min_size=1, max_size=5).map("\n".join)


def _each_line_by_json(text):
    try:
        return [(n, formats._one_json_object(line, "h.jsonl", n)) for n, line in enumerate(text.split("\n"), 1)
                if line.strip()]
    except HistoryFormatError as e:
        return str(e)


@settings(max_examples=2000, deadline=None)
@given(json_lines_texts)
def test_json_lines_are_read_as_json_reads_each_line(text):
    """The fast path (the C splitter and orjson) reads JSON Lines as json reads each line alone: the same
    objects on the same lines (duplicated keys refused, integer keys), or the same refusal naming the line."""
    try:
        numbers, records = formats._jsonl_chunk(text, 1, "h.jsonl")
        fast = list(zip(numbers, records, strict=True))
    except HistoryFormatError as e:
        fast = str(e)
    assert fast == _each_line_by_json(text)


@pytest.mark.parametrize("line", [
    '{"type":"invoke","f":"read","process":0,"value":' + "[" * 300 + "]" * 300 + "}",
    "{:type :invoke, :f :read, :process 0, :value " + "[" * 300 + "]" * 300 + "}"])
def test_nesting_orjson_reads_but_json_refuses_is_refused(tmp_path, line):
    """orjson nests up to 1,024 levels; the fast path leaves anything possibly past MAX_DEPTH to json."""
    path = tmp_path / ("h.jsonl" if line.startswith('{"') else "h.edn")
    path.write_text(line + "\n")
    with pytest.raises(HistoryFormatError, match="nested deeper than 100 levels"):
        read_history(path)


def test_the_callers_garbage_cycles_stay_collectable(tmp_path):
    """Reading moves what it made into the oldest generation at once (checkers.collector); a cycle the
    caller left as garbage before must not go there with it, where nothing but a full collection
    would ever free it."""
    import gc
    import weakref

    path = tmp_path / "h.jsonl"
    path.write_text('{"type":"invoke","process":0,"f":"read"}\n{"type":"ok","process":0,"f":"read","value":1}\n')

    class Node:
        pass

    freed = 0
    for _ in range(20):
        node = Node()
        node.self = node  # a cycle: only the collector frees it
        alive = weakref.ref(node)
        del node
        read_history(path)
        freed += alive() is None
    assert gc.isenabled() and freed == 20


def test_a_vector_of_ops_followed_by_another_form_is_refused(tmp_path, monkeypatch):
    """A file opening with a vector of ops read chunk by chunk, then found by the general parser not to
    be one vector (an op after its closing bracket): refused, not read with the last chunk's ops lost."""
    monkeypatch.setattr(formats, "_CHUNK", 4096)
    ops = [f"{{:index {i}, :type :invoke, :process {i}, :f :read, :value nil}}" for i in range(300)]
    path = tmp_path / "h.edn"
    path.write_text("[" + "\n".join(ops) + "]\n{:index 300, :type :invoke, :process 300, :f :read}\n")
    with pytest.raises(HistoryFormatError, match="not one vector of ops"):
        read_history(path)


def test_json_lines_that_do_not_line_up_are_refused_not_shifted(tmp_path):
    """One op over two lines and two ops on another: no op is read from a line it is not on."""
    path = tmp_path / "h.jsonl"
    path.write_text('{"type":"invoke","process":0,"f":"r","value":["a\\":","b\\":","c\\":",1\n'
                    '2],"x":0,"y":0,"z":0}\n'
                    '{"type":"info","process":"nemesis","f":"start"},{"type":"info","process":"nemesis","f":"stop",'
                    '"value":"p\\":q"}\n')
    with pytest.raises(HistoryFormatError) as refused:
        read_history(path, lenient=True)
    assert refused.value.line in (1, 3)


def test_brackets_inside_strings_do_not_hide_nesting(tmp_path):
    """A value nested 300 deep whose strings hold the brackets that would balance it: still refused."""
    value = "1"
    for _ in range(300):
        value = f'["]", {value}, "["]'
    path = tmp_path / "h.jsonl"
    path.write_text('{"type":"invoke","process":0,"f":"write","value":' + value + "}\n")
    with pytest.raises(HistoryFormatError, match="nested deeper"):
        read_history(path)


def test_a_json_file_with_a_form_feed_before_its_array_is_refused_as_json_refuses_it(tmp_path):
    path = tmp_path / "h.json"
    path.write_text('\x0c[{"type":"invoke","process":0,"f":"read"}]')
    with pytest.raises(HistoryFormatError):
        read_history(path)


def test_deep_nesting_read_from_deep_in_the_stack_is_no_recursion_error():
    """The markers of an op holding 49 nested maps are rebuilt recursively; called with 60 frames left
    before the recursion limit that overflows, and json takes over instead of a RecursionError escaping."""
    import sys

    text = "{:type :invoke, :process 0, :f :write, :value " + "{:a " * 49 + "1" + "}" * 49 + "}"

    def deep(n):
        return deep(n - 1) if n else formats._fast_forms(text)

    forms, _ = deep(sys.getrecursionlimit() - formats._stack_depth() - 60)
    assert forms == [form for _, form in formats.parse_edn(text)]


_FIELD_VALUES = st.one_of(st.none(), st.booleans(), st.integers(-3, 3), st.integers(2**62, 2**70),
                          st.floats(allow_nan=True, allow_infinity=True), st.sampled_from(["invoke", "ok", "fail",
                          "info", "read", "nemesis", "x"]), st.builds(formats.Symbol, st.sampled_from(["ok", "f"])),
                          st.lists(st.integers(0, 3), max_size=2), st.dictionaries(st.sampled_from(["a", "b"]),
                          st.integers(0, 2), max_size=1))
_ATOMS = st.sampled_from([None, 1, 1.0, True, 2**70, "x"])
_TXNS = st.lists(st.lists(st.one_of(st.sampled_from(["r", "append"]), _ATOMS), min_size=2, max_size=2).flatmap(
    lambda fk: st.one_of(_ATOMS, st.lists(_ATOMS, max_size=3)).map(lambda x: [*fk, x])), max_size=3)
_FIELD_VALUES = st.one_of(_FIELD_VALUES, _TXNS)
_RECORDS = st.one_of(
    st.dictionaries(st.sampled_from(["index", "time", "type", "process", "f", "value", "error", "node", "extra-key"]),
                    _FIELD_VALUES, max_size=9),
    st.fixed_dictionaries({"type": st.sampled_from(["invoke", "ok", "fail", "info"]), "f": _FIELD_VALUES,
                           "process": _FIELD_VALUES, "value": _FIELD_VALUES},
                          optional={"index": _FIELD_VALUES, "time": _FIELD_VALUES, "error": _FIELD_VALUES,
                                    "node": _FIELD_VALUES}),
    st.lists(_FIELD_VALUES, max_size=5),
)


def _python_op(record, position):
    try:
        return formats.op_from_mapping(record, position)
    except HistoryFormatError as e:
        return str(e)


@settings(max_examples=2000, deadline=None)
@given(st.lists(_RECORDS, max_size=6), st.integers(0, 10))
@example([{"type": "ok", "time": math.inf}, {"type": "ok", "time": math.nan}, {"type": "ok", "time": True}], 0)
@example([{"type": "ok", "process": True}, {"type": "ok", "f": False}, {"type": "ok", "index": None}], 0)
@example([{"type": formats.Symbol("ok")}, {"type": "ok", "f": formats.Symbol("read")}, {"type": "ok", "x": 1}], 0)
@example([{"type": "ok", "process": 0, "f": "read", "value": 1, "final": True}], 0)
@example([{"type": "ok", "process": 0, "f": "read", 7: "seven", formats.Symbol("s"): 1}, {"type": "ok", 2: 3}], 0)
@example([{"type": "ok", "index": 2**70, "time": -1.5, "process": "nemesis", "f": 3}, ["ok", 1, "read"]], 4)
def test_ops_built_in_c_are_the_ops_python_builds(records, position):
    """The C op builder (``_ops.c``) builds exactly the Op op_from_mapping builds, or leaves the record
    to it; it never builds one op_from_mapping refuses. Sharing equal parts of values never changes a
    value, not even 1 into 1.0 or True, nor one of an op built before."""
    from checkers._ops import build_ops

    untouched = copy.deepcopy(records)
    start, sharing, built_ops = 0, formats.new_sharing(), []
    while start < len(records):
        built, stop = build_ops(records, start, position + start, formats._OP_FIELDS, sharing)
        assert len(built) == stop - start
        for i, op in enumerate(built):
            expected = _python_op(untouched[start + i], position + start + i)
            assert isinstance(expected, Op) and op == expected and repr(op.value) == repr(expected.value)
            assert type(op.f) is type(expected.f) and type(op.time) is int and op.extra == expected.extra
            built_ops.append((op, expected))
        start = stop + 1
    assert all(repr(op.value) == repr(expected.value) for op, expected in built_ops)


_ELEMENTS = st.sampled_from([1, 1.0, True, 2**70, "x"])
_SHARED_TXNS = st.lists(st.builds(lambda f, k, x: [f, k, x], st.sampled_from(["r", "append"]),
                                  st.sampled_from([1, "x"]),
                                  st.one_of(st.none(), _ELEMENTS, st.lists(_ELEMENTS, max_size=2))), max_size=3)
_TXN_RECORDS = st.lists(st.builds(lambda t, p, v: {"type": t, "process": p, "f": "txn", "value": v},
                                  st.sampled_from(["invoke", "ok", "fail", "info"]), st.sampled_from([0, 1]),
                                  _SHARED_TXNS), max_size=8)


@settings(max_examples=1000, deadline=None)
@given(_TXN_RECORDS)
@example([{"type": "ok", "process": 0, "f": "txn", "value": [["r", 1, [1]]]},
          {"type": "ok", "process": 0, "f": "txn", "value": [["r", 1, [1.0]]]}])
@example([{"type": "invoke", "process": 0, "f": "txn", "value": [["r", 1, None]]},
          {"type": "ok", "process": 0, "f": "txn", "value": [["r", 1, 1]]}])
def test_sharing_equal_parts_of_values_changes_no_value(records):
    """Atoms, micro-ops a completion repeats from its invocation, reads as invoked and lists read of a key
    become one object each (``_ops.c``), and no value changes, not even 1 into 1.0 or True."""
    untouched = copy.deepcopy(records)
    built, stop = formats.build_ops(records, 0, 0, formats._OP_FIELDS, formats.new_sharing())
    assert stop == len(records) and [repr(op.value) for op in built] == [repr(r["value"]) for r in untouched]


def test_the_common_op_maps_are_built_in_c(tmp_path):
    """A Jepsen op map with the usual fields goes through C, whatever the format."""
    from checkers._ops import build_ops

    record = {"index": 3, "time": 7.5, "type": "ok", "process": 1, "f": "read", "value": [1], "node": "n1"}
    (op,), stop = build_ops([record], 0, 0, formats._OP_FIELDS, formats.new_sharing())
    assert stop == 1 and op == Op(3, 7, "ok", 1, "read", [1], None, "n1", {})
    assert op.f is formats._SHARED["read"]


def test_a_transactions_names_and_keys_are_one_object_each():
    """Micro-op names and keys, each parsed anew per op, are shared across the history; a read's list,
    one level deeper, is left alone, and so are atoms of another type that compare equal (True, 1.0)."""
    text = "\n".join(json.dumps({"type": "ok", "process": 0, "f": "txn", "value": value}) for value in (
        [["append", 10**9, 300], ["r", 10**9, [300, 10**6]]], [["append", 10**9, 10**6], ["r", True, 1.0]]))
    first, second = formats._jsonl_chunk(text, 1, "h.jsonl")[1]
    sharing = formats.new_sharing()
    atoms = sharing[0]
    (a, b), _ = formats.build_ops([first, second], 0, 0, formats._OP_FIELDS, sharing)
    assert a.value[0][1] is b.value[0][1] is a.value[1][1]
    assert a.value[0][0] is b.value[0][0] and a.value[0][2] is atoms[300]
    assert a.value[1][2][1] is not b.value[0][2]  # 10**6 in a read's list and in an append: not shared
    assert type(b.value[1][1]) is bool and type(b.value[1][2]) is float


def test_json_lines_out_of_step_with_their_lines_are_refused_at_the_first_bad_line(tmp_path):
    """An op over two lines, and two ops on the next: joined with commas they make a valid array of as
    many objects as there are lines, which was read; no line but the first holds one object: refused
    at line 2."""
    path = tmp_path / "h.jsonl"
    path.write_text('{"type":"invoke","process":0,"f":"read","value":null}\n{"type":"ok","process":0\n'
                    '"f":"read","value":1},{"type":"invoke","process":1,"f":"read","value":null}\n')
    with pytest.raises(HistoryFormatError, match=r"h\.jsonl:2: invalid JSON"):
        read_history(path)


_PARTS = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-2, 2), st.floats(), st.sampled_from(["r", "append", "w", "read",
              "write", "x", "ok"]), st.builds(formats.Symbol, st.sampled_from(["r", "append"])),
              st.dictionaries(st.just("a"), st.integers(0, 1), max_size=1)),
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.tuples(inner, inner, inner)), max_leaves=12)


@settings(max_examples=3000, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["invoke", "ok", "fail", "info", "nemesis"]),
                          st.sampled_from(["txn", "read", None]), _PARTS), max_size=5),
       st.sampled_from(["list-append", "rw-register", "multi-register"]))
@example([("ok", "txn", [["r", 1, [1, [2]]]]), ("ok", "txn", [["r", 1, [1, {"a": 1}]]])], "list-append")
@example([("ok", "txn", [["r", 1, [1]]]), ("ok", "txn", [["w", [1], 2]]), ("ok", "txn", [["x", 1, 2]])], "rw-register")
@example([("ok", "txn", [["r", 1, 2, 3]]), ("ok", "txn", [("r", 1, 2)]), ("ok", "txn", ("r", 1, 2))], "list-append")
def test_transactions_passed_in_c_are_ones_the_shape_rule_passes(ops, model):
    """The C pass of shapes (``txn_unsure`` in ``_ops.c``) lets through only what the Python rule lets
    through; the rule decides every op it leaves."""
    from checkers import shapes

    history = [Op(i, i, typ, 0, f, value) for i, (typ, f, value) in enumerate(ops)]
    left = {op.index for op in shapes._unsure(history, *shapes._TXNS[model][:2])}
    rule = shapes.SHAPES[model]
    for op in history:
        if op.index not in left:
            assert rule(op, op.f, op.value) is None, op


def test_the_common_transactions_are_passed_in_c():
    from checkers._ops import txn_unsure

    ok = Op(0, 0, "ok", 1, "txn", [["append", 1, 2], ["r", 1, [1, 2]], ["r", 2, None], ["append", "k", "v"]])
    invoke = Op(1, 0, "invoke", 1, "txn", [["r", 1, None], ["append", 1, 2.5]])
    assert txn_unsure([ok, invoke], 0, Op, frozenset({"append", "r"}), True) == 2
    rw = Op(2, 0, "ok", 1, "txn", [["r", 1, 3], ["w", 1, 4], ["r", 2, None]])
    assert txn_unsure((rw,), 0, Op, frozenset({"r", "w"}), False) == 1
    assert txn_unsure([ok, rw, ok], 0, Op, frozenset({"append", "r"}), True) == 1


@pytest.mark.parametrize("depth", [99, 100])
def test_nesting_up_to_max_depth_is_read_as_the_general_parsers_read_it(tmp_path, depth):
    """The C producers refuse nesting past MAX_DEPTH, so orjson reads their output uncounted (maps are two
    JSON levels there): at the limit, with maps and vectors, it reads what parse_edn and json read; EDN one
    level past it is refused."""
    inner = depth - 1  # the op map is the first level
    value = "".join("[" if i % 2 else "{:a " for i in range(inner)) + "1" + "".join(
        "]" if i % 2 else "}" for i in reversed(range(inner)))
    text = "{:type :invoke, :process 0, :f :write, :value " + value + "}"
    forms, lines = formats._fast_forms(text)
    assert forms == [form for _, form in formats.parse_edn(text)] and lines == [0]
    jsonl = '{"type":"invoke","process":0,"f":"write","value":' + "[" * inner + "1" + "]" * inner + "}"
    assert formats._jsonl_chunk(jsonl, 1, "h.jsonl") == ([1], [json.loads(jsonl)])
    path = tmp_path / "h.edn"
    path.write_text(text.replace(":value ", ":value [")[:-1] + "]}\n")
    if depth == 100:
        with pytest.raises(HistoryFormatError, match="nested deeper than 100 levels"):
            read_history(path)
    else:
        assert read_history(path).ops[0].value == [forms[0]["value"]]


@pytest.mark.parametrize("suffix", [".jsonl", ".json"])
def test_json_integer_keys_are_read_as_ints_only_as_json_writes_them(tmp_path: Path, suffix: str) -> None:
    """A bank read {"1": 5, "01": 10, "2": 10} is three accounts; "01" became 1, the two merged, and
    a total of 25 read as 20 (bank: true). "-0" merged with "0" the same way, and "1\\n" with "1"; "1" and
    a Unicode zero became 10; a 19-digit account id written by `history convert` came back a string."""
    op = ('{"index": 0, "time": 0, "type": "invoke", "process": 0, "f": "read", '
          '"value": {"1": 5, "01": 10, "-0": 1, "0": 2, "1\\n": 3, "1\\u0660": 4, "1000000000000000000": 6}}')
    path = tmp_path / f"h{suffix}"
    path.write_text(op + "\n" if suffix == ".jsonl" else f"[{op}]")
    (read,) = read_history(path).ops
    assert read.value == {1: 5, "01": 10, "-0": 1, 0: 2, "1\n": 3, "1\u0660": 4, 10**18: 6}
