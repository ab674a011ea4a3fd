"""Results of live checks and their German report (text or JSON)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field

OK, FAILED, SKIPPED = "ok", "fehler", "übersprungen"


@dataclass
class Line:
    ok: bool
    text: str


@dataclass
class CheckResult:
    id: str
    title: str
    status: str = OK
    lines: list[Line] = field(default_factory=list)
    seconds: float = 0.0
    reason: str = ""  # why skipped

    def good(self, text: str) -> None:
        self.lines.append(Line(True, text))

    def bad(self, text: str) -> None:
        self.lines.append(Line(False, text))
        self.status = FAILED

    def expect(self, condition: bool, good: str, bad: str) -> bool:
        (self.good if condition else self.bad)(good if condition else bad)
        return condition

    def skip(self, reason: str) -> CheckResult:
        self.status, self.reason = SKIPPED, reason
        return self


def failed(results: list[CheckResult]) -> list[CheckResult]:
    return [r for r in results if r.status == FAILED]


def text_report(results: list[CheckResult], header: str, timings: dict[str, float]) -> str:
    out = [header, ""]
    for result in results:
        mark = {OK: "✓", FAILED: "✗", SKIPPED: "–"}[result.status]
        extra = f" – {result.reason}" if result.reason else ""
        out.append(f"{mark} {result.title} ({result.seconds:.2f} s){extra}")
        out += [f"    {'✓' if line.ok else '✗'} {line.text}" for line in result.lines]
    bad = failed(results)
    out.append("")
    if timings:
        out.append("Zeiten: " + ", ".join(f"{_TIMING_NAMES.get(k, k)} {v:.2f} s" for k, v in timings.items()))
    if bad:
        out.append(f"✗ {len(bad)} von {len(results)} Prüfungen fehlgeschlagen: {', '.join(r.title for r in bad)}")
    else:
        skipped = sum(r.status == SKIPPED for r in results)
        note = f" ({skipped} übersprungen)" if skipped else ""
        out.append(f"✓ Alle {len(results) - skipped} Prüfungen bestanden{note}.")
    return "\n".join(out)


_TIMING_NAMES = {
    "redis": "Redis-Start",
    "postgres": "Postgres-Start",
    "migration": "Migrations-Job",
    "web": "Web-Start inkl. Migration",
    "worker": "Worker-Start",
    "checks": "Prüfungen",
    "teardown": "Abbau",
    "gesamt": "gesamt",
    "images": "Images (Docker)",
    "compose_up": "Compose-Start bis gesund",
}


def json_report(results: list[CheckResult], meta: dict, timings: dict[str, float]) -> str:
    return json.dumps(
        {**meta, "ok": not failed(results), "zeiten": timings, "pruefungen": [asdict(r) for r in results]},
        ensure_ascii=False,
        indent=2,
    )
