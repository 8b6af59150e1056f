"""The `fundstelle` command: index, serve, ask, delete, eval."""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Annotated

import typer

from indexer.config import Settings
from indexer.errors import IndexProblem, WriteBusy

app = typer.Typer(help="Fundstelle: ask questions about news articles, get cited passages.",
                  no_args_is_help=True, add_completion=False)

IndexDir = Annotated[Path | None, typer.Option("--index-dir", help="Index folder [env: FUNDSTELLE_INDEX_DIR]")]


def _settings(**overrides) -> Settings:
    return Settings(**{k: v for k, v in overrides.items() if v is not None})


def _engine(settings: Settings, create: bool = False):
    from service.engine import Engine

    try:
        return Engine(settings, create=create)
    except IndexProblem as exc:
        typer.secho(f"error: {exc}", fg="red", err=True)
        raise typer.Exit(2) from None


@app.command()
def index(
    paths: Annotated[list[Path] | None, typer.Argument(help="Files or folders (.txt, .md, .jsonl); default: the bundled corpus")] = None,
    index_dir: IndexDir = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar")] = False,
) -> None:
    """Add or update articles (upsert by doc_id; unchanged articles are skipped)."""
    from indexer.readers import read_articles

    settings = _settings(index_dir=index_dir)
    engine = _engine(settings, create=True)
    try:
        report = engine.indexer.run(read_articles(paths or [settings.corpus_dir]), progress=not quiet)
    except WriteBusy as exc:
        typer.secho(f"error: {exc}", fg="red", err=True)
        raise typer.Exit(3) from None
    for error in report.errors:
        typer.secho(f"skipped {error.origin}: {error.reason}", fg="yellow", err=True)
    documents, passages = engine.index.counts()
    typer.echo(
        f"{len(report.added)} added, {len(report.updated)} updated, {len(report.unchanged)} unchanged, "
        f"{len(report.errors)} skipped; {report.passages} passages embedded in {report.seconds:.1f}s. "
        f"Index {settings.index_dir}: {documents} articles, {passages} passages."
    )
    if report.errors and not (report.added or report.updated or report.unchanged):
        raise typer.Exit(1)


@app.command()
def delete(
    doc_ids: Annotated[list[str], typer.Argument(help="doc_ids to delete")],
    index_dir: IndexDir = None,
) -> None:
    """Delete articles by doc_id."""
    engine = _engine(_settings(index_dir=index_dir))
    try:
        deleted = engine.indexer.delete(doc_ids)
    except WriteBusy as exc:
        typer.secho(f"error: {exc}", fg="red", err=True)
        raise typer.Exit(3) from None
    for doc_id in doc_ids:
        typer.echo(f"{'deleted' if doc_id in deleted else 'not found'}: {doc_id}")
    if len(deleted) < len(doc_ids):
        raise typer.Exit(1)


@app.command()
def serve(
    index_dir: IndexDir = None,
    host: Annotated[str | None, typer.Option(help="[env: FUNDSTELLE_HOST]")] = None,
    port: Annotated[int | None, typer.Option(help="[env: FUNDSTELLE_PORT]")] = None,
) -> None:
    """Serve the HTTP API and the chat page."""
    import uvicorn

    from service.app import create_app

    settings = _settings(index_dir=index_dir, host=host, port=port)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    uvicorn.run(create_app(settings), host=settings.host, port=settings.port, log_level="info")


@app.command()
def ask(
    question: Annotated[str, typer.Argument(help="The question, in German or English")],
    index_dir: IndexDir = None,
    top_k: Annotated[int, typer.Option("--top-k", min=1, max=50)] = 5,
    as_json: Annotated[bool, typer.Option("--json", help="Print the same JSON as POST /api/ask")] = False,
) -> None:
    """Answer a question from the index."""
    from pydantic import ValidationError

    from service.schemas import AskRequest

    try:
        request = AskRequest(question=question, top_k=top_k)
    except ValidationError as exc:
        typer.secho(f"error: {exc.errors()[0]['msg']}", fg="red", err=True)
        raise typer.Exit(2) from None
    response = _engine(_settings(index_dir=index_dir)).searcher.run(request.question, request.top_k)
    if as_json:
        typer.echo(response.model_dump_json(indent=2))
        return
    if not response.passages:
        typer.echo("No passage found.")
    for hit in response.passages:
        c = hit.citation
        meta = ", ".join(x for x in (c.source, c.published) if x)
        typer.secho(f"[{hit.rank}] {c.title}" + (f" ({meta})" if meta else ""), bold=True)
        typer.echo(f"    {c.doc_id} ¶{c.paragraph} chars {c.char_start}-{c.char_end}  score {hit.score:.4f}")
        text = hit.text
        for h in sorted(hit.highlights, key=lambda h: h.start, reverse=True):
            text = text[: h.start] + "»" + text[h.start : h.end] + "«" + text[h.end :]
        typer.echo(f"    {text}\n")
    typer.echo(f"({response.took_ms:.0f} ms)", err=True)


@app.command(name="eval", add_help_option=False,
             context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def evaluate(ctx: typer.Context) -> None:
    """Measure retrieval quality on a SQuAD-format file (see `fundstelle eval --help`)."""
    from service.evaluate import main as run_eval

    raise typer.Exit(run_eval(ctx.args))


def main() -> None:  # pragma: no cover
    app()


if __name__ == "__main__":
    sys.exit(app())
