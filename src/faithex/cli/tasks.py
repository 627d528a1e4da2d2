"""List the registered tasks, regimes and protocols."""

from __future__ import annotations

from faithex.cli.common import console

NAME = "tasks"


def command() -> None:
    from rich.table import Table
    from rich.text import Text

    from faithex.protocols import PROTOCOLS
    from faithex.regimes import REGIMES
    from faithex.tasks import list_tasks

    def table(title: str, headers: list[str], rows: list[list[str]]) -> Table:
        out = Table(title=title)
        for header in headers:
            out.add_column(header, overflow="fold")  # names are what the user types: folded, never cut
        for row in rows:
            out.add_row(*[Text(value) for value in row])  # Text, not markup: `[w.x > 0]` must print as it is
        return out

    console.print(table("tasks", ["name", "description"], [list(row) for row in list_tasks()]))
    regimes = [REGIMES.get(name) for name in REGIMES.names()]
    console.print(table("regimes (paper 1 calls its regimes configurations)", ["name", "adapters", "protocol",
                                                                               "description"],
                        [[r.name, ", ".join(r.adapters) or "-", r.default_protocol, r.description] for r in regimes]))
    protocols = [PROTOCOLS.get(name) for name in PROTOCOLS.names()]
    console.print(table("protocols", ["name", "description"], [[p.name, p.description] for p in protocols]))
