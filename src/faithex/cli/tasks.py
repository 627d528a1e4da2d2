"""List the registered tasks and paper 1's training configurations."""

from __future__ import annotations

from faithex.cli.common import console

NAME = "tasks"


def command() -> None:
    from rich.table import Table

    from faithex.regimes import CONFIGURATIONS
    from faithex.tasks import list_tasks

    table = Table(title="tasks")
    table.add_column("name")
    table.add_column("description")
    for name, description in list_tasks():
        table.add_row(name, description)
    console.print(table)
    configs = Table(title="configurations (paper 1)")
    configs.add_column("name")
    configs.add_column("protocol")
    configs.add_column("description")
    for config in CONFIGURATIONS.values():
        configs.add_row(config.name, config.protocol, config.description)
    console.print(configs)
