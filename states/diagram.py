"""Diagrams of the lifecycle generated from the compiled machine's table.

`mermaid()` always works (committed as docs/lifecycle.mmd and shown in README); `dot()` emits
Graphviz DOT (hand-written, so no pygraphviz is needed) and `render_svg()` runs the ``dot``
program when it is installed. ``python -m states.diagram [DIR]`` writes lifecycle.mmd (and
lifecycle.svg when ``dot`` exists) into DIR (default: docs).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

from states.lifecycle import ORTHOGONAL_TRIGGERS, CaseState, Lifecycle, lifecycle

__all__ = ["dot", "mermaid", "render_svg", "write"]


def _grouped(lc: Lifecycle) -> dict[tuple[CaseState, CaseState], list[str]]:
    groups: dict[tuple[CaseState, CaseState], list[str]] = defaultdict(list)
    for edge in lc.edges():
        if edge.trigger in ORTHOGONAL_TRIGGERS:
            continue
        label = edge.trigger + (f" [{', '.join(edge.guards)}]" if edge.guards else "")
        if label not in groups[edge.source, edge.dest]:
            groups[edge.source, edge.dest].append(label)
    order = {s: i for i, s in enumerate(lc.states)}
    return dict(sorted(groups.items(), key=lambda kv: (order[kv[0][0]], order[kv[0][1]])))


def _orthogonal_note(lc: Lifecycle) -> str:
    names = sorted({e.trigger for e in lc.edges() if e.trigger in ORTHOGONAL_TRIGGERS})
    return "in every working state: " + ", ".join(names) + " (state unchanged)"


def mermaid(lc: Lifecycle | None = None) -> str:
    """Mermaid ``stateDiagram-v2`` text of the lifecycle (deterministic)."""
    lc = lc or lifecycle()
    lines = ["stateDiagram-v2", f"    [*] --> {lc.initial.value}"]
    for (src, dst), labels in _grouped(lc).items():
        lines.append(f"    {src.value} --> {dst.value} : {'<br/>'.join(labels)}")
    for final in sorted(lc.finals):
        lines.append(f"    {final.value} --> [*]")
    lines.append(f"    note right of {lc.initial.value} : {_orthogonal_note(lc)}")
    return "\n".join(lines) + "\n"


def dot(lc: Lifecycle | None = None) -> str:
    """Graphviz DOT text of the lifecycle (deterministic)."""
    lc = lc or lifecycle()
    lines = [
        "digraph lifecycle {",
        "  rankdir=LR;",
        '  node [shape=box, style=rounded, fontname="Helvetica"];',
        '  edge [fontname="Helvetica", fontsize=10];',
        '  __start [shape=point, label=""];',
    ]
    for state in lc.states:
        shape = ", peripheries=2" if state in lc.finals else ""
        lines.append(f'  {state.value} [label="{state.value}"{shape}];')
    lines.append(f"  __start -> {lc.initial.value};")
    for (src, dst), labels in _grouped(lc).items():
        lines.append(f'  {src.value} -> {dst.value} [label="{chr(92) + "n".join(labels)}"];')
    lines.append(f'  __note [shape=note, label="{_orthogonal_note(lc)}"];')
    lines.append("}")
    return "\n".join(lines) + "\n"


def render_svg(dot_text: str) -> bytes | None:
    """SVG rendered by Graphviz ``dot``; None when ``dot`` is not installed."""
    exe = shutil.which("dot")
    if exe is None:
        return None
    result = subprocess.run(
        [exe, "-Tsvg"], input=dot_text.encode(), capture_output=True, check=True, timeout=60
    )
    return result.stdout


def write(directory: Path) -> list[Path]:
    """Write lifecycle.mmd (and lifecycle.svg when possible) into ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    written = [directory / "lifecycle.mmd"]
    written[0].write_text(mermaid(), encoding="utf-8")
    svg = render_svg(dot())
    if svg is not None:
        (directory / "lifecycle.svg").write_bytes(svg)
        written.append(directory / "lifecycle.svg")
    return written


if __name__ == "__main__":  # pragma: no cover - thin CLI
    for path in write(Path(sys.argv[1] if len(sys.argv) > 1 else "docs")):
        print(path)
