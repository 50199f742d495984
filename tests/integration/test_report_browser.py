"""Reports as people see them: rendered by headless Chromium, screenshotted, pixels and text checked."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from PIL import Image

from chaos.cli.main import main
from chaos.report.browser import chromium, dump_dom, screenshot
from chaos.report.html import STATUS_COLOURS
from chaos.report.outputs import write_run_outputs
from chaos.report.serve import make_server
from chaos.report.store import RunDir
from tests.conftest import require
from tests.unit.test_reports import RESULTS, make_run

pytestmark = pytest.mark.browser

FAULT_SHADE = (239, 232, 245)  # matplotlib's 15 % purple fault band over white
OK_GREEN, FAIL_RED = (46, 157, 62), (214, 39, 40)  # op colours in plots and the timeline
NEMESIS_PURPLE = (106, 81, 163)  # the timeline's nemesis ops


def _rgb(hex_colour: str) -> tuple[int, int, int]:
    return tuple(int(hex_colour[i:i + 2], 16) for i in (1, 3, 5))  # type: ignore[return-value]


def _count(png: Path, colour: tuple[int, int, int], tolerance: int = 4) -> int:
    image = Image.open(png).convert("RGB")
    return sum(n for n, px in image.getcolors(maxcolors=1 << 24)
               if all(abs(a - b) <= tolerance for a, b in zip(px, colour, strict=True)))


def _distinct_colours(png: Path) -> int:
    return len(Image.open(png).convert("RGB").getcolors(maxcolors=1 << 24))


@pytest.fixture
def run(tmp_path: Path) -> RunDir:
    require(chromium() is not None, "Chromium is not installed (apt-get install chromium)")
    run = make_run(tmp_path / "results", RESULTS)
    write_run_outputs(run.path)
    return run


def test_report_shows_verdicts_and_plots(run: RunDir, tmp_path: Path) -> None:
    png = screenshot(run.report, tmp_path / "report.png", 1200, 3600)
    assert _distinct_colours(png) > 200  # text, tables and plots, not a blank page
    assert _count(png, _rgb(STATUS_COLOURS["fail"])) > 5000  # the red FAILED banner and violated badges
    assert _count(png, _rgb(STATUS_COLOURS["pass"])) > 300  # the green certified / true badges
    assert _count(png, _rgb(STATUS_COLOURS["unknown"])) > 100  # the amber unknown badges
    assert _count(png, FAULT_SHADE, 3) > 2000  # the plots rendered, fault periods shaded
    dom = dump_dom(run.report)
    for text in ("FAILED", "INTERRUPTED", "violated", "certified", "Plots", 'alt="latency"', 'alt="availability"'):
        assert text in dom, text
    assert dom.count('src="data:image/png;base64,') == 4


def test_timeline_draws_ops(run: RunDir, tmp_path: Path) -> None:
    png = screenshot(run.timeline, tmp_path / "timeline.png", 1200, 400)
    assert _count(png, OK_GREEN, 6) > 100 and _count(png, FAIL_RED, 6) > 50  # 20 ok and 10 failed bars
    assert _count(png, NEMESIS_PURPLE, 6) > 50  # the partition's start and stop, in their own colour


def test_pdf(run: RunDir) -> None:
    with pytest.raises(SystemExit) as e:
        main(["report", str(run.path), "--pdf"])
    assert e.value.code == 0
    pdf = run.path / "report.pdf"
    assert pdf.read_bytes()[:5] == b"%PDF-" and pdf.stat().st_size > 50_000


def test_serve_page_shows_runs_coloured_by_verdict(run: RunDir, tmp_path: Path) -> None:
    passing = make_run(tmp_path / "results", {"test": "green", "checkers": {"stats": {"valid?": True}}}, "green")
    write_run_outputs(passing.path)
    server = make_server(tmp_path / "results", 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/"
        png = screenshot(url, tmp_path / "serve.png", 1400, 600)
        dom = dump_dom(url)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
    assert "demo" in dom and "green" in dom and "2 runs" in dom
    assert _count(png, _rgb(STATUS_COLOURS["fail"])) > 100
    assert _count(png, _rgb(STATUS_COLOURS["pass"])) > 100
