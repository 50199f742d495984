"""Headless Chromium, for PDFs of reports and for tests that look at the rendered pages.

Every call runs one short-lived ``chromium --headless`` with a throw-away profile, no network
services (sync, component updates, background networking) and a time limit.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

__all__ = ["BrowserError", "chromium", "dump_dom", "print_pdf", "screenshot"]

NAMES = ("chromium", "chromium-browser", "google-chrome", "chrome")
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--hide-scrollbars")
TIMEOUT_S = 90


class BrowserError(RuntimeError):
    """Chromium is missing or failed; ``str()`` is one line."""


def chromium() -> str | None:
    """The path of a Chromium-like browser, or None."""
    return next((p for p in map(shutil.which, NAMES) if p), None)


def _run(url: str, *flags: str) -> str:
    exe = chromium()
    if exe is None:
        raise BrowserError("Chromium is not installed (Debian: apt-get install chromium; "
                           "or run scripts/setup.sh)")
    with tempfile.TemporaryDirectory(prefix="chaoscert-chromium-") as profile:
        argv = [exe, *FLAGS, f"--user-data-dir={profile}", *flags, url]
        try:
            done = subprocess.run(argv, capture_output=True, text=True, timeout=TIMEOUT_S, check=False)
        except subprocess.TimeoutExpired:
            raise BrowserError(f"Chromium took more than {TIMEOUT_S} s on {url}") from None
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise BrowserError(f"Chromium failed on {url} (exit {done.returncode}): {last}")
    return done.stdout


def _url(page: str | Path) -> str:
    return page if isinstance(page, str) else Path(page).resolve().as_uri()


def print_pdf(page: str | Path, pdf: Path) -> Path:
    _run(_url(page), "--no-pdf-header-footer", f"--print-to-pdf={pdf.resolve()}")
    if not pdf.exists() or pdf.stat().st_size == 0:
        raise BrowserError(f"Chromium wrote no PDF to {pdf}")
    return pdf


def screenshot(page: str | Path, png: Path, width: int = 1200, height: int = 2400) -> Path:
    _run(_url(page), f"--window-size={width},{height}", f"--screenshot={png.resolve()}")
    if not png.exists():
        raise BrowserError(f"Chromium wrote no screenshot to {png}")
    return png


def dump_dom(page: str | Path) -> str:
    """The page's DOM after its scripts ran, as HTML."""
    return _run(_url(page), "--virtual-time-budget=5000", "--dump-dom")
