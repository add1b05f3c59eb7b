"""A self-contained HTML report: figures embedded as base64 PNG (and linked to the PNG files beside it),
tables, timings. Plain string templating (html.escape everywhere) rather than a template engine: the page is
small and this keeps the report free of extra dependencies.
"""

from __future__ import annotations

import base64
import html
import logging
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from robo_reward.data.atomic import atomic_write_text

logger = logging.getLogger(__name__)


@dataclass
class Figure:
    path: Path  # PNG file inside the report folder
    caption: str


@dataclass
class Table:
    columns: list[str]
    rows: list[list[Any]]
    caption: str = ""


@dataclass
class Section:
    title: str
    text: str = ""
    figures: list[Figure] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        if math.isnan(v) or math.isinf(v):
            return str(v)
        return f"{v:.3f}" if abs(v) < 1000 else f"{v:,.0f}"
    return str(v)


_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}
h1{margin-bottom:0} .sub{color:#666;margin-top:.2em} h2{border-bottom:1px solid #ddd;padding-bottom:.2em;margin-top:2em}
figure{margin:1em 0} figure img{max-width:100%;border:1px solid #eee} figcaption{color:#555;font-size:.9em}
table{border-collapse:collapse;margin:1em 0;font-size:.92em} th,td{border:1px solid #ddd;padding:.3em .6em;text-align:right}
th{background:#f6f6f6} td:first-child,th:first-child{text-align:left} caption{caption-side:bottom;color:#555;font-size:.85em;padding-top:.3em}
.note{background:#fff8e1;border-left:4px solid #f0c000;padding:.5em 1em}
"""


def write_report(out_dir: str | os.PathLike[str], title: str, subtitle: str, sections: Sequence[Section]) -> Path:
    """Write ``<out_dir>/report.html``. Every figure must already be a PNG inside ``out_dir``."""
    out_dir = Path(out_dir)
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'>",
        f"<title>{html.escape(title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{html.escape(title)}</h1><p class='sub'>{html.escape(subtitle)}</p>",
    ]
    for sec in sections:
        parts.append(f"<h2>{html.escape(sec.title)}</h2>")
        if sec.text:
            for para in sec.text.strip().split("\n\n"):
                parts.append(f"<p>{html.escape(para)}</p>")
        for tab in sec.tables:
            parts.append("<table>")
            if tab.caption:
                parts.append(f"<caption>{html.escape(tab.caption)}</caption>")
            parts.append("<tr>" + "".join(f"<th>{html.escape(c)}</th>" for c in tab.columns) + "</tr>")
            for row in tab.rows:
                parts.append("<tr>" + "".join(f"<td>{html.escape(_fmt(v))}</td>" for v in row) + "</tr>")
            parts.append("</table>")
        for fig in sec.figures:
            path = Path(fig.path)
            if not path.is_file():
                raise FileNotFoundError(f"report figure {path} does not exist")
            rel = os.path.relpath(path, out_dir)
            data = base64.b64encode(path.read_bytes()).decode("ascii")
            parts.append(
                f"<figure><a href='{html.escape(rel)}'><img alt='{html.escape(fig.caption)}' "
                f"src='data:image/png;base64,{data}'></a><figcaption>{html.escape(fig.caption)}</figcaption></figure>"
            )
    parts.append("</body></html>")
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "report.html"
    atomic_write_text(path, "\n".join(parts))
    logger.info("report written to %s", path)
    return path
