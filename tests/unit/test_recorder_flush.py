"""The recorder writes whole lines, and gets them to disk without waiting for the next op."""

import time

from chaos.recorder import Recorder
from checkers.formats import read_history
from checkers.history import Op


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
