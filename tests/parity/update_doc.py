"""Rewrite the measured-errors table of docs/keras-parity.md from parity_results.json.

    MINICNN_RECORD_PARITY=1 python -m pytest tests/parity -q   # writes parity_results.json
    python tests/parity/update_doc.py                           # updates the table
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
DOC = HERE.parents[1] / "docs" / "keras-parity.md"
START, END = "<!-- parity-results:start -->", "<!-- parity-results:end -->"


def table(results: dict) -> str:
    lines = [
        f"Recorded {results['recorded']} with TensorFlow {results['tensorflow']}, "
        f"Keras {results['keras']}, TF_ENABLE_ONEDNN_OPTS={results['onednn']} "
        f"({results['machine']}).",
        "",
        "| check | worst error | worst case |",
        "|---|---|---|",
    ]
    for name, entry in results["checks"].items():
        lines.append(f"| `{name}` | {entry['worst']:.2e} | `{entry['case']}` |")
    return "\n".join(lines)


def main() -> int:
    results = json.loads((HERE / "parity_results.json").read_text())
    text = DOC.read_text()
    if START not in text or END not in text:
        print(f"{DOC} lacks the {START} / {END} markers", file=sys.stderr)
        return 1
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    DOC.write_text(f"{head}{START}\n{table(results)}\n{END}{tail}")
    print(f"updated {DOC}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
