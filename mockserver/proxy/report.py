"""The drift report: findings aggregated per operation (one entry per operation, kind and place, however many
exchanges showed it), with one anonymized example each; written as JSON and as a markdown page."""
from __future__ import annotations

import json
import threading
from collections import Counter
from pathlib import Path
from typing import Any

from .validate import Finding

SECTIONS = (
    ("unexpected", "What the platform answered that the spec does not allow"),
    ("missing", "What the spec requires that the platform never sent"),
    ("request", "Requests outside the spec (what the client sent)"),
)


class DriftReport:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.exchanges = 0
        self.operations: dict[str, Counter[str]] = {}  # operation -> status -> count
        self._entries: dict[tuple[str, str, str, str], dict[str, Any]] = {}

    def add(self, operation: str, status: int, findings: list[Finding], example: dict[str, Any]) -> None:
        """`example` is already anonymized: the request line and status; a finding's own value is added to it."""
        with self._lock:
            self.exchanges += 1
            self.operations.setdefault(operation, Counter())[str(status)] += 1
            for finding in findings:
                key = (operation, finding.kind, finding.where, finding.detail)
                entry = self._entries.get(key)
                if entry is None:
                    self._entries[key] = {
                        "operation": operation, "category": finding.category, "kind": finding.kind,
                        "where": finding.where, "detail": finding.detail, "count": 1,
                        "example": {**example, **({"value": finding.value} if finding.value is not None else {})},
                    }
                else:
                    entry["count"] += 1

    def drift(self, category: str | None = None) -> list[dict[str, Any]]:
        with self._lock:
            entries = sorted(self._entries.values(), key=lambda e: (e["operation"], e["kind"], e["where"]))
        return [e for e in entries if category is None or e["category"] == category]

    def to_json(self) -> dict[str, Any]:
        with self._lock:
            operations = {op: {"exchanges": sum(c.values()), "statuses": dict(sorted(c.items()))}
                          for op, c in sorted(self.operations.items())}
            exchanges = self.exchanges
        return {"format": "rescale-mockkit-drift/1", "exchanges": exchanges, "operations": operations,
                "drift": self.drift()}

    def markdown(self) -> str:
        data = self.to_json()
        lines = ["# Drift between the spec and the platform", "",
                 f"{data['exchanges']} exchanges over {len(data['operations'])} operations; "
                 f"{sum(1 for e in data['drift'] if e['category'] != 'request')} drift entries.", ""]
        for category, title in SECTIONS:
            entries = [e for e in data["drift"] if e["category"] == category]
            lines += [f"## {title}", ""]
            if not entries:
                lines += ["None.", ""]
                continue
            for operation in dict.fromkeys(e["operation"] for e in entries):
                lines += [f"### `{operation}`", "", "| kind | where | what | seen | example |", "|---|---|---|---|---|"]
                for e in (e for e in entries if e["operation"] == operation):
                    example = json.dumps(e["example"], ensure_ascii=False)[:300].replace("|", "\\|")
                    lines.append(f"| {e['kind']} | `{e['where']}` | {e['detail']} | {e['count']} | `{example}` |")
                lines.append("")
        lines += ["## Operations seen", "", "| operation | exchanges | statuses |", "|---|---|---|"]
        lines += [f"| `{op}` | {v['exchanges']} | {', '.join(f'{s}: {n}' for s, n in v['statuses'].items())} |"
                  for op, v in data["operations"].items()]
        return "\n".join(lines) + "\n"

    def write(self, path: Path) -> tuple[Path, Path]:
        """`FILE.json` and `FILE.md` side by side, whichever of the two (or neither) `path` ends with."""
        base = path.with_suffix("") if path.suffix in (".json", ".md") else path
        json_path, md_path = base.with_suffix(".json"), base.with_suffix(".md")
        base.parent.mkdir(parents=True, exist_ok=True)
        _atomic_write(json_path, json.dumps(self.to_json(), indent=1, ensure_ascii=False) + "\n")
        _atomic_write(md_path, self.markdown())
        return json_path, md_path


def _atomic_write(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)
