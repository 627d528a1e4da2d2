"""The sections of report.html. Each module registers its sections with `register_section`; a section's function
gets the `ReportContext` and returns its HTML (text already escaped) or None when the run has nothing for it, so a
run shows only the sections it has data for, and a new study adds a module here without touching the others."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from faithex.registry import Registry
from faithex.report.html import ReportContext

Render = Callable[[ReportContext], "str | None"]


@dataclass(frozen=True)
class Section:
    name: str
    """The HTML id (and the link in the page's navigation)."""
    title: str
    order: int
    """Sections appear by increasing order."""
    render: Render


SECTIONS: Registry[Section] = Registry("report section")


def register_section(name: str, title: str, order: int) -> Callable[[Render], Render]:
    def decorate(render: Render) -> Render:
        SECTIONS.add(name, Section(name, title, order, render))
        return render

    return decorate


from faithex.report.sections import (  # noqa: F401  (they register)
    battery,
    examples,
    overview,
    paper1,
    paper2,
    paper3,
    verdicts,
)
