"""The recorder writes whole lines, the ops as they were when recorded, in index order, and gets
them to disk without waiting for the next op."""

import threading
import time
from itertools import pairwise

from hypothesis import given, settings
from hypothesis import strategies as st

from chaos.run.recorder import Recorder
from checkers.formats import op_to_json, read_history
from checkers.history import Op
from tests.unit.test_formats import ops


def test_ops_reach_disk_without_a_later_op_and_in_whole_lines(tmp_path):
    path = tmp_path / "history.jsonl"
    with Recorder(path, flush_every_s=0.02) as recorder:
        recorder.record(Op(0, 0, "invoke", 0, "write", 1))
        recorder.record(Op(0, 0, "ok", 0, "write", 1))
        deadline = time.monotonic() + 5
        while path.stat().st_size == 0 and time.monotonic() < deadline:
            time.sleep(0.01)
        text = path.read_text()
        assert text.endswith("\n") and text.count("\n") == 2
        assert [op.type for op in read_history(path)] == ["invoke", "ok"]
    assert len(read_history(path)) == 2


@settings(max_examples=150, deadline=None)
@given(st.lists(ops, min_size=1, max_size=12))
def test_each_line_is_op_to_json_of_the_stamped_op(tmp_path_factory, generated):
    path = tmp_path_factory.mktemp("rec") / "history.jsonl"
    with Recorder(path) as recorder:
        stamped = [recorder.record(op) for op in generated]
    assert [(s.index, s.type, s.value, s.extra) for s in stamped] == [
        (i, o.type, o.value, o.extra) for i, o in enumerate(generated)]
    assert path.read_text().splitlines() == [op_to_json(s) for s in stamped]


def test_a_value_changed_after_recording_does_not_change_the_history(tmp_path):
    path = tmp_path / "history.jsonl"
    value = [["append", 1, 2], ["r", 1, None]]
    with Recorder(path) as recorder:
        op = recorder.record(Op(0, 0, "invoke", 0, "txn", value))
        value[1][2] = [2]  # a client filling in its reads in place
        recorder.record(Op(op.index, op.time, "ok", 0, "txn", value))
    assert [o.value for o in read_history(path)] == [[["append", 1, 2], ["r", 1, None]],
                                                     [["append", 1, 2], ["r", 1, [2]]]]


def test_threads_recording_while_batches_are_written_keep_index_and_time_order(tmp_path):
    path = tmp_path / "history.jsonl"
    with Recorder(path, flush_every_s=0.001) as recorder:
        def record(process):
            for i in range(3000):
                recorder.record(Op(0, 0, "invoke", process, "write", i))
                if i % 500 == 0:
                    recorder.flush()

        threads = [threading.Thread(target=record, args=(p,)) for p in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    recorded = read_history(path, lenient=True).ops  # invocations only: not a history, but in order
    assert [o.index for o in recorded] == list(range(12_000))
    assert all(a.time <= b.time for a, b in pairwise(recorded))
    for p in range(4):
        assert [o.value for o in recorded if o.process == p] == list(range(3000))
