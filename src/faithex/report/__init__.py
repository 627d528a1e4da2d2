"""Reports: results tables (terminal and Markdown), figures, `Results` (a run directory as an object), and
report.md + report.html for a run directory (`write_reports`)."""

from faithex.report.plots import depth_figure, paper1_figure
from faithex.report.results import Results
from faithex.report.tables import PAPER1_COLUMNS, markdown_table, paper1_rows, rich_tables
from faithex.report.write import write_markdown_report, write_reports

__all__ = ["PAPER1_COLUMNS", "Results", "depth_figure", "markdown_table", "paper1_figure", "paper1_rows",
           "rich_tables", "write_markdown_report", "write_reports"]
