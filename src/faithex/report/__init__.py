"""Reports: results tables (terminal and Markdown) and the verdicts on the papers' claims, figures, `Results` (a run
directory as an object), and report.md + report.html for a run directory (`write_reports`)."""

from faithex.report.plots import depth_figure, paper1_figure
from faithex.report.results import Results
from faithex.report.tables import PAPER1_COLUMNS, markdown_table, paper1_rows, rich_tables, verdict_lines, verdict_table
from faithex.report.write import write_markdown_report, write_reports

__all__ = ["PAPER1_COLUMNS", "Results", "depth_figure", "markdown_table", "paper1_figure", "paper1_rows",
           "rich_tables", "verdict_lines", "verdict_table", "write_markdown_report", "write_reports"]
