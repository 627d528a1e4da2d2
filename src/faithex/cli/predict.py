"""Apply a trained classifier (a run directory or an adapter folder) to new texts: one JSON line per text with the
answer, the label scores and, where the regime writes them, explanation and reasoning."""

from __future__ import annotations

from pathlib import Path

import typer

from faithex.cli.common import RichReporter, console, handle_user_errors

NAME = "predict"


@handle_user_errors
def command(
    trained: Path = typer.Argument(..., help="run directory, or a trained adapter folder inside one"),
    input: Path = typer.Option(..., "--input", "-i", help="JSONL or CSV file of texts"),
    output: Path = typer.Option(..., "--output", "-o", help="JSONL file of predictions (resumed when it exists)"),
    text_column: str = typer.Option("text", help="column or JSON key holding the text"),
    id_column: str = typer.Option(None, help="column or JSON key holding an id (default: file name and line)"),
    task: str = typer.Option(None, help="task id, when the run directory holds several"),
    regime: str = typer.Option(None, "--regime", "-r", help="regime id, when the run directory holds several"),
    seed: int = typer.Option(None, help="training seed, when the run directory holds several"),
    batch_size: int = typer.Option(32, min=1, help="texts per batch"),
) -> None:
    from faithex.io import writable_file
    from faithex.predict import find_classifier, predict, predicted_ids, read_texts

    texts = read_texts(input, text_column, id_column)
    classifier = find_classifier(trained, task, regime, seed)
    done = predicted_ids(writable_file(output))  # refuses an output that is not a predictions file
    reporter = RichReporter()
    advance = reporter.progress("predicting", total=sum(text_id not in done for text_id, _ in texts))
    try:
        written = predict(classifier, texts, output, batch_size=batch_size, on_batch=advance)
    finally:
        reporter.done()
    console.print(f"{output}: {written} new predictions ({len(texts) - written} already there)")
