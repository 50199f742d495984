"""What CI systems read: summary.md (GitHub step summaries and the like) and junit.xml.

junit.xml has one ``<testsuite>`` per run with one ``<testcase>`` per claim and per checker:

- certified claim / valid checker: a passing test case;
- violated claim / invalid checker: ``<failure message=...>`` with the reason and the evidence;
- inconclusive claim / unknown checker: ``<skipped message=...>`` with the cause. Skipped, not error:
  the test ran and could not decide, and CI shows skipped tests apart from passes (yellow in most
  views). It never counts as a pass: ``chaoscert``'s exit code is 2 for it.
- an interrupted or failed run adds a ``run`` test case, skipped with what went wrong.

The layout follows the JUnit XML that Jenkins, GitLab, GitHub test reporters and Azure read
(checked against tests/data/junit.xsd).
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from typing import TYPE_CHECKING

from chaos.report.units import duration, millis, percent
from chaos.report.view import FAIL, PASS, UNKNOWN

if TYPE_CHECKING:
    from chaos.report.view import RunView

__all__ = ["junit_xml", "summary_md"]

ICONS = {PASS: "✅", FAIL: "❌", UNKNOWN: "⚠️"}
WORDS = {PASS: "PASSED", FAIL: "FAILED", UNKNOWN: "UNDECIDED"}
EVIDENCE_CHARS = 4000


def _md(text: object) -> str:
    """Text safe in a Markdown table cell."""
    return str(text).replace("|", "\\|").replace("\n", " ").replace("<", "&lt;")


def summary_md(view: RunView) -> str:
    lines = [f"## chaoscert: {_md(view.title)} — {ICONS[view.status]} {WORDS[view.status]}", ""]
    if view.interrupted:
        lines += ["> **This run was interrupted: the history is partial.**", ""]
    if view.results.get("error"):
        lines += [f"> **The run failed:** {_md(view.results['error'])}", ""]
    lines += ["| | kind | name | verdict | why |", "|---|---|---|---|---|"]
    lines += [f"| {ICONS[i.status]} | {i.kind} | {_md(i.name)} | **{_md(i.verdict)}** | {_md(i.message)} |"
              for i in view.items]
    fig = view.figures
    if fig is not None:
        a, t = fig.availability, fig.time_availability
        rto = fig.worst_rto_ns
        p99 = fig.latency_ns.get(0.99) if fig.latency_ns else None
        lines += ["", "Availability (clients' time answered) " + percent(t) + f"; ok {a.ok}/{a.n}"
                  + f"; faults {len(fig.faults)}; worst RTO {duration(rto)}"
                  + f"; downtime windows ≥ 1 s: {len(fig.downtimes)}; p99 latency {millis(p99)}."]
    seed = view.parameters.get("seed")
    lines += ["", f"Full report: `{view.run.report}`" + (f"; seed {seed}" if seed is not None else ""), ""]
    return "\n".join(lines)


def _counts(view: RunView) -> dict[str, int]:
    return {s: sum(1 for i in view.items if i.status == s) for s in (PASS, FAIL, UNKNOWN)}


def _plain(value: object) -> str:
    """A property's value as CI shows it: ``seekdb``, ``7``, ``true``; lists and maps as compact JSON."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    if isinstance(value, int | float):
        return f"{value:g}" if isinstance(value, float) else str(value)
    return json.dumps(value, default=str, separators=(",", ":"))


def _testsuite(view: RunView) -> ET.Element:
    counts = _counts(view)
    suite = ET.Element("testsuite", name=f"chaoscert {view.title}", tests=str(len(view.items)),
                       failures=str(counts[FAIL]), errors="0", skipped=str(counts[UNKNOWN]))
    props = ET.SubElement(suite, "properties")
    for key, value in view.parameters.items():
        ET.SubElement(props, "property", name=str(key), value=_plain(value))
    for item in view.items:
        case = ET.SubElement(suite, "testcase", name=item.name, classname=f"chaoscert.{item.kind}")
        if item.status == PASS:
            continue
        evidence = json.dumps(item.detail, indent=1, default=str) if item.detail is not None else ""
        if len(evidence) > EVIDENCE_CHARS:
            evidence = evidence[:EVIDENCE_CHARS] + "\n... (see results.json)"
        tag = "failure" if item.status == FAIL else "skipped"
        ET.SubElement(case, tag, message=f"{item.verdict}: {item.message}", type=item.verdict).text = evidence
    return suite


def junit_xml(*views: RunView, name: str = "chaoscert") -> str:
    """One ``<testsuite>`` per run (a suite run passes all its runs)."""
    root = ET.Element("testsuites", name=name, tests=str(sum(len(v.items) for v in views)),
                      failures=str(sum(_counts(v)[FAIL] for v in views)), errors="0")
    for view in views:
        root.append(_testsuite(view))
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
