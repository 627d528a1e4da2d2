"""`report.html`: one self-contained page per run directory (inline CSS and JavaScript, figures as inline SVG; no
network), written beside report.md by `faithex report`, at the end of `faithex run` and of every `faithex demo`.

The page is made of sections (`faithex.report.sections`): each registers what it draws from a run directory and
returns nothing when the run has no data for it, so a run shows only its own sections and a new study adds one
without touching the others.

Everything a model or a dataset wrote reaches the page as text: Python escapes it (`text`) before it enters the
markup (the page itself is a Jinja2 template with autoescape on); the examples travel as JSON inside a
`<script type="application/json">` element with every `<`, `>` and `&` written as a JSON escape (`script_json`:
no output can close that element); and the page's script puts them into the document with `textContent` only,
never as HTML.
"""

from __future__ import annotations

import io
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ASSETS = Path(__file__).parent / "assets"
FIGURES = "figures"


def text(value: Any) -> str:
    """`value` as HTML text (quotes escaped too: safe in attribute values)."""
    from markupsafe import escape

    return str(escape(str(value)))


def script_json(data: Any) -> str:
    """JSON that can sit inside `<script type="application/json">`: "</script>" in a model's output is written
    `\\u003c/script\\u003e` and cannot end the element; NaN and infinities become null (JSON.parse refuses them)."""
    encoded = json.dumps(_finite(data), ensure_ascii=True, separators=(",", ":"), allow_nan=False)
    return encoded.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _finite(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


def table(headers: list[str] | None, rows: list[list[str]], row_classes: list[str] | None = None) -> str:
    """An HTML table of text cells (every cell escaped); no header row when `headers` is None."""
    head = "<thead><tr>" + "".join(f"<th>{text(h)}</th>" for h in headers) + "</tr></thead>" if headers else ""
    body = []
    for i, row in enumerate(rows):
        css = f' class="{text(row_classes[i])}"' if row_classes and row_classes[i] else ""
        body.append(f"<tr{css}>" + "".join(f"<td>{text(v)}</td>" for v in row) + "</tr>")
    return f'<table>{head}<tbody>{"".join(body)}</tbody></table>'


@dataclass
class ReportContext:
    """What a section draws from: the run's results.json, its directory, and where figures are written."""

    results: dict[str, Any]
    run_dir: Path | None = None
    written: list[Path] = field(default_factory=list)
    """The PNG and SVG files written for the figures."""

    def figure(self, fig, name: str, caption: str) -> str:
        """`fig` inline as SVG, and as `figures/<name>.png` and `.svg` in the run directory."""
        if self.run_dir is not None:
            from faithex.analysis.plots import save_figure

            self.written += save_figure(fig, self.run_dir / FIGURES / name)
        buffer = io.StringIO()
        fig.savefig(buffer, format="svg")
        svg = buffer.getvalue()
        svg = svg[svg.index("<svg"):]  # the XML declaration and doctype do not belong inside HTML
        return f'<figure class="plot">{svg}<figcaption>{text(caption)}</figcaption></figure>'


def render(results: dict[str, Any], run_dir: str | Path | None = None) -> tuple[str, ReportContext]:
    """The page for `results` (and the run directory's samples and analyses, when given)."""
    from jinja2 import Environment, FileSystemLoader
    from markupsafe import Markup

    from faithex.report.sections import SECTIONS

    context = ReportContext(results, Path(run_dir) if run_dir is not None else None)
    shown = []
    for section in sorted(SECTIONS.values(), key=lambda s: s.order):
        body = section.render(context)
        if body:
            shown.append({"name": section.name, "title": section.title, "body": Markup(body)})  # escaped within
    environment = Environment(loader=FileSystemLoader(ASSETS), autoescape=True, keep_trailing_newline=True)
    page = environment.get_template("page.html.j2").render(
        title=f"faithex: {results.get('experiment', 'run')}", sections=shown,
        style=Markup((ASSETS / "report.css").read_text(encoding="utf-8")),
        script=Markup((ASSETS / "report.js").read_text(encoding="utf-8")))
    return page, context
