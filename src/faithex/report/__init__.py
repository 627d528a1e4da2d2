"""Reports: results tables (terminal and Markdown), paper 1's figure, and `Results`, a run directory as an object."""

from faithex.report.plots import depth_figure, paper1_figure
from faithex.report.results import Results
from faithex.report.tables import PAPER1_COLUMNS, markdown_table, paper1_rows, rich_tables

__all__ = ["PAPER1_COLUMNS", "Results", "depth_figure", "markdown_table", "paper1_figure", "paper1_rows",
           "rich_tables"]
