"""Reports: paper 1's results table, in the terminal and as Markdown, and the same results as a figure."""

from faithex.report.plots import paper1_figure
from faithex.report.tables import PAPER1_COLUMNS, markdown_table, paper1_rows, rich_table

__all__ = ["PAPER1_COLUMNS", "markdown_table", "paper1_figure", "paper1_rows", "rich_table"]
