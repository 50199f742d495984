"""``chaoscert serve``: a local page listing every run as a table coloured by verdict.

``/`` is the index, built afresh on every request from the results folder; every other path is a
file under the results folder (reports, timelines, histories, logs), served read-only. It listens
on 127.0.0.1 only and stops on Ctrl-C.
"""

from __future__ import annotations

import functools
from html import escape
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import quote

from chaos.report.html import STATUS_COLOURS, STYLE, badge
from chaos.report.store import RunDir, StoreError, find_runs
from chaos.report.view import FAIL, PASS, UNKNOWN, merge_status, run_items

__all__ = ["index_html", "make_server"]

FILES = ("report.html", "timeline.html", "summary.md", "junit.xml", "results.json", "history.jsonl", "history.edn",
         "run.log", "logs")
WORDS = {PASS: "passed", FAIL: "failed", UNKNOWN: "undecided"}


def _row(root: Path, run: RunDir) -> str:
    try:
        results = run.load_results()
    except StoreError as e:
        return f"<tr><td colspan=9>{escape(str(e))}</td></tr>"
    items = run_items(results)
    status = merge_status(items)
    rel = run.path.relative_to(root).as_posix()
    links = " ".join(f'<a href="/{quote(rel)}/{f}">{f}</a>' for f in FILES if (run.path / f).exists())
    detail = "; ".join(f"{i.name}: {i.verdict}" for i in items if i.status != PASS) or "all passed"
    p = results.get("parameters") or {}
    setup = "".join(f"<td>{escape(str(p.get(k, '—')))}</td>" for k in ("backend", "db", "seed"))
    return (f'<tr style="border-left:6px solid {STATUS_COLOURS[status]}"><td>{escape(run.path.parent.name)}</td>'
            f"<td>{escape(run.path.name)}</td>{setup}<td>{badge(status, WORDS[status])}</td>"
            f"<td>{'<b>interrupted</b>' if results.get('interrupted') else ''}</td>"
            f"<td>{escape(detail)}</td><td>{links}</td></tr>")


def index_html(root: Path) -> str:
    """The index page of every run under ``root``, newest first."""
    runs = find_runs(root)
    rows = "".join(_row(root, r) for r in runs)
    table = ("<table><tr><th>test</th><th>run</th><th>backend</th><th>database</th><th>seed</th><th>verdict</th>"
             "<th></th><th>not passed</th><th>files</th></tr>"
             f"{rows}</table>") if runs else f"<p>No runs under {escape(str(root))} yet.</p>"
    return ("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>chaoscert runs</title>"
            f"<style>{STYLE}</style></head><body><h1>chaoscert runs</h1>"
            f"<p class=\"muted\">{len(runs)} run{'s' if len(runs) != 1 else ''} in {escape(str(root.resolve()))}</p>"
            f"{table}</body></html>\n")


class _Handler(SimpleHTTPRequestHandler):
    root: Path

    def do_GET(self) -> None:
        if self.path in ("/", "/index.html"):
            body = index_html(self.root).encode("utf-8")
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        super().do_GET()

    def do_POST(self) -> None:  # read-only
        self.send_error(405)

    def log_message(self, format: str, *args: Any) -> None:  # quiet: one line per request is noise here
        pass

    def end_headers(self) -> None:
        self.send_header("Cache-Control", "no-store")
        super().end_headers()


def make_server(root: Path, port: int = 8080, host: str = "127.0.0.1") -> ThreadingHTTPServer:
    """A server for ``root`` on ``host:port`` (port 0: any free port); call ``serve_forever``."""
    handler = type("Handler", (_Handler,), {"root": root})
    server = ThreadingHTTPServer((host, port), functools.partial(handler, directory=str(root)))
    server.daemon_threads = True
    return server
