"""The ``briefing`` command: the flows (run, ingest, digest, serve) and one command per stage.

Stage commands follow ``STAGE-CLI``: inputs are files/folders or ``--jsonl``,
output is JSON Lines on stdout in input order, logs go to stderr, a bad record
becomes ``{"id", "error"}`` and exit code 1; bad usage or config exits 2.
Only here do ``BriefingError``s become messages and exit codes. Prefect is
imported only by the flow commands, so stage commands start fast.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NoReturn

import click

from briefing.exceptions import BriefingError, ConfigError, ExtractionError, UsageError

DEFAULT_CONFIG = "config/briefing.yaml"

config_option = click.option(
    "--config", "config_path", envvar="BRIEFING_CONFIG", default=DEFAULT_CONFIG, show_default=True,
    type=click.Path(dir_okay=False), help="Config file (env BRIEFING_CONFIG).")


def _fail(exc: BriefingError) -> NoReturn:
    _die(str(exc), 2 if isinstance(exc, (ConfigError, UsageError)) else 1)


def _die(message: str, code: int) -> NoReturn:
    """One line on stderr, whatever the message held (a YAML mark, a pasted value), then exit."""
    click.echo("error: " + " ".join(message.split()), err=True)
    sys.exit(code)


class _Group(click.Group):
    """Any ``BriefingError`` a command lets through is one line on stderr and exit 1 (2: config), not a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except BriefingError as exc:
            _fail(exc)


def _prefect_env() -> None:
    """Quiet, offline-friendly Prefect defaults; the user's own settings win."""
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("PREFECT_LOGGING_EXTRA_LOGGERS", "briefing")
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "90")


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-v", "--verbose", is_flag=True, help="Log debug details to stderr.")
def main(verbose: bool) -> None:
    """Briefing: ingest news, keep the topic, digest it by email.

    \b
    Quick start:
      briefing run --config config/briefing.yaml
      briefing extract ../shared/seeds/*.txt
    """
    logging.basicConfig(level=logging.DEBUG if verbose else logging.WARNING, stream=sys.stderr,
                        format="%(levelname)s %(name)s: %(message)s")


# --- flows -----------------------------------------------------------------

def _load(config_path: str) -> Any:
    from briefing.config import load_config
    try:
        return load_config(config_path)
    except ConfigError as exc:
        _fail(exc)


def _check_store(config: Any) -> None:
    """Open the store before a flow starts, so a damaged or too-new one is one line, not a failed run's traceback.

    A store that is refused is left as it is (see ``briefing.store``).
    """
    from briefing.store import Store

    with Store.open(config):
        pass


def _load_checked(config_path: str) -> Any:
    """The config with its topic and folders checked: every mistake is one line before a flow starts."""
    from briefing.config import check_config

    config = _load(config_path)
    try:
        check_config(config)
    except ConfigError as exc:
        _fail(exc)
    return config


def _say_failures(healths: Sequence[Any], sources: int) -> bool:
    """Each failed source and why, one line each on stderr; True when all ``sources`` failed."""
    failed = [h for h in healths if h.status == "failed"]
    for h in failed:
        click.echo(f"error: source {h.source} failed: {' '.join((h.error or 'no reason given').split())}", err=True)
    return sources > 0 and len(failed) >= sources


def _run_flow(call: Callable[[], Any], progress: bool = False, stop_on_signals: bool = True) -> Any:
    """Run a flow; SIGTERM/SIGINT stop it within seconds, exit status 128 + signal (see ``briefing.stopping``).

    Without ``PREFECT_API_URL`` the run gets a temporary Prefect server that ends with the command, even
    on SIGKILL (``flows.server``); it is stopped after the flow run's final state is recorded.
    ``stop_on_signals=False`` is ``serve``: signals are left to Prefect (its runner shuts down gracefully,
    letting the runs in flight finish), and it starts its own server (``flows.deployments``).
    """
    import signal

    from briefing.stopping import stop_on_signals as stopping

    _prefect_env()
    with stopping() if stop_on_signals else contextlib.nullcontext() as stop:
        try:
            with _server(stop_on_signals):  # a signal while it starts is handled below too
                return _with_progress(call) if progress else call()
        except BaseException as exc:
            # After a signal, whatever unwound the run (a store call it cut short, say) reads as the stop.
            code = stop.exit_code(exc) if stop is not None else None
            if code is None or isinstance(exc, SystemExit):
                if isinstance(exc, BriefingError):
                    _fail(exc)
                raise
            click.echo(f"stopped by {signal.Signals(code - 128).name}: what the run had stored is kept, "
                       "and the next run goes on from there", err=True)
            sys.exit(code)


def _server(wanted: bool) -> contextlib.AbstractContextManager[Any]:
    """Prefect's temporary server for a flow command, one that ends with it (``flows.server``)."""
    if not wanted:
        return contextlib.nullcontext()
    from flows.server import temporary_server
    return temporary_server()


def _with_progress(call: Callable[[], Any]) -> Any:
    """Draw one bar per stage the flows report (on stderr), e.g. for a long backfill."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from flows.progress import listen

    # Prefect's console lines would tear the bars: keep its warnings there (the run's full log still
    # goes to the Prefect API and UI, whose handler is not touched).
    for handler in [*logging.getLogger().handlers, *logging.getLogger("prefect").handlers]:
        if type(handler).__name__ == "APILogHandler":
            continue
        handler.setLevel(logging.WARNING)
    bars: dict[str, Any] = {}
    with Progress(TextColumn("{task.description:<10}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=Console(stderr=True)) as progress:
        def update(stage: str, done: int, total: int) -> None:
            if stage not in bars:
                bars[stage] = progress.add_task(stage, total=total)
            progress.update(bars[stage], completed=done, total=total)

        with listen(update):
            return call()


def _report(result: Any) -> None:
    if result.status == "already-delivered":
        click.echo("not sent: this window was already delivered (see `briefing digests`; --resend ID to send again)")
    elif result.status == "empty":
        click.echo(f"no digest: nothing new on the topic since {result.window.start:%Y-%m-%d %H:%M} UTC "
                   f"({result.articles} new articles, none relevant)")
    elif result.status == "dry-run":
        click.echo(result.text)
    elif result.status == "busy":
        click.echo("not run: another digest of this store is running; it covers this window", err=True)
    else:
        click.echo(f"digest {result.status}: {result.stories} stories from {result.articles} articles", err=True)
        click.echo(str(result.path))


@main.command()
@config_option
@click.option("--progress", is_flag=True, help="Show a progress bar per stage on stderr (long backfills).")
def run(config_path: str, progress: bool) -> None:
    """Ingest all sources, then make and deliver the digest; prints the digest's path.

    Exit code 1 when every source failed (each is named on stderr, with why);
    the digest is still made from what the store holds.

    \b
    Example:
      briefing run --config config/briefing.yaml
    """
    config = _load_checked(config_path)
    _check_store(config)
    from flows.briefing import briefing_flow
    result = _run_flow(lambda: briefing_flow(config_path), progress)
    _report(result)
    if _say_failures(result.sources, len(config.sources) if result.sources else 0):  # none: another ingest ran
        sys.exit(1)


@main.command()
@config_option
def ingest(config_path: str) -> None:
    """Fetch every source and store the new articles; prints one line per source.

    Exit code 1 when every source failed (each is named on stderr, with why).

    \b
    Example:
      briefing ingest --config config/briefing.yaml
    """
    config = _load_checked(config_path)
    _check_store(config)
    from flows.ingest import ingest_flow
    healths = _run_flow(lambda: ingest_flow(config_path))
    for h in healths:
        note = f" ({h.error})" if h.error else ""
        click.echo(f"{h.source}: {h.status}, {h.new} new of {h.items}{note}")
    if _say_failures(healths, len(config.sources) if healths else 0):  # none: another ingest was running
        sys.exit(1)


def _when(ctx: click.Context, param: click.Parameter, value: str | None) -> datetime | None:
    """ISO-8601 date or date-time; without an offset it is read in the config's schedule.timezone."""
    if value is None:
        return None
    from pydantic import TypeAdapter, ValidationError
    try:
        return TypeAdapter(datetime).validate_python(value.strip())
    except ValidationError:
        raise click.BadParameter(f"{value!r} is not an ISO-8601 date or date-time "
                                 "(e.g. 2026-11-01 or 2026-11-01T07:00+03:00)") from None


@main.command()
@config_option
@click.option("--since", callback=_when, help="Backfill a past window from this date/time (ISO-8601); "
              "without an offset, in schedule.timezone.")
@click.option("--until", callback=_when, help="End of the backfill window (default: now).")
@click.option("--dry-run", is_flag=True, help="Print the text digest; write, send and record nothing.")
@click.option("--send", is_flag=True, help="Also email a backfill (regular digests are always sent).")
@click.option("--resend", "resend_id", type=int,
              help="Send archived digest ID again (ids: the ledger, `briefing digests`).")
@click.option("--progress", is_flag=True, help="Show a progress bar per stage on stderr (long backfills).")
def digest(config_path: str, since: datetime | None, until: datetime | None, dry_run: bool, send: bool,
           resend_id: int | None, progress: bool) -> None:
    """Make the digest of articles first seen since the last one, deliver it, record it.

    With --since/--until it is a backfill of that past window: archived (as
    backfill-….html) and listed in the ledger as a backfill, without moving
    the regular digests' windows; sent only with --send. A window already
    delivered is not sent again; --resend sends an archived digest on purpose.

    \b
    Examples:
      briefing digest
      briefing digest --since 2026-11-01 --until 2026-11-08 --progress
      briefing digest --since 2026-11-01T00:00Z --until 2026-11-08T00:00Z --dry-run
      briefing digest --resend 12
    """
    config = _load_checked(config_path)
    if since is not None or until is not None:
        _check_window(config, since, until)
    _check_store(config)
    if resend_id is not None:
        from flows.digest import resend_flow
        _report(_run_flow(lambda: resend_flow(config_path, resend_id)))
        return
    from flows.digest import digest_flow
    _report(_run_flow(lambda: digest_flow(config_path, since=since, until=until, dry_run=dry_run, send=send),
                      progress))


def _check_window(config: Any, since: datetime | None, until: datetime | None) -> None:
    """A backfill window that ends before it starts is a usage mistake: one line, exit 2, before any flow."""
    from briefing.digest import explicit_window

    try:
        explicit_window(since, until, datetime.now(UTC), config.digest.first_window_days,
                        config.schedule.tz)
    except ValueError as exc:
        _die(f"--since/--until: {exc} (times without an offset are in {config.schedule.timezone})", 2)


@main.command()
@config_option
def digests(config_path: str) -> None:
    """List the digest ledger: id, window, stories, delivered, kind, archive file.

    A regular digest that was not delivered (its send failed, or the run was
    killed) shows as "superseded by #N" once a later delivered digest #N has
    covered its window: its stories went out in #N, so it needs no --resend.

    \b
    Example:
      briefing digests --config config/briefing.yaml
    """
    from briefing.store import Store, delivery_status

    with Store.open(_load(config_path)) as store:
        ledger = store.digests()
    for d in ledger:
        click.echo(f"{d.id}\t{d.window_start:%Y-%m-%d %H:%M}–{d.window_end:%Y-%m-%d %H:%M}\t"
                   f"{d.stories} stories\t{delivery_status(d, ledger)}\t{d.kind}\t"
                   f"{d.archive_path}")


@main.command()
@config_option
@click.option("--cron", help="Digest schedule, overriding schedule.digest_cron (e.g. \"0 7 * * 1-5\").")
@click.option("--ingest-cron", help="Ingest schedule, overriding schedule.ingest_every_minutes.")
@click.option("--port", default=4200, show_default=True, type=click.IntRange(1, 65535),
              help="Port of the local Prefect server started when PREFECT_API_URL is not set.")
def serve(config_path: str, cron: str | None, ingest_cron: str | None, port: int) -> None:
    """Serve the scheduled deployments until stopped (Ctrl-C or SIGTERM).

    Deployments: ingest/scheduled (every 30 min), digest/daily (07:00 in
    schedule.timezone) and briefing/manual, schedules from the config's
    `schedule:` section. Without PREFECT_API_URL a local Prefect server (and
    its UI) is started on --port. Trigger a run by hand with, e.g.,
    prefect deployment run 'digest/daily' --param since=2026-11-01 --param until=2026-11-08

    \b
    Example:
      briefing serve --config config/briefing.yaml
    """
    config = _load_checked(config_path)
    _check_store(config)
    overrides = {k: v for k, v in {"digest_cron": cron, "ingest_cron": ingest_cron}.items() if v}
    if overrides:
        config = config.model_copy(update={"schedule": config.schedule.model_copy(update=overrides)})
    from flows.deployments import serve_all
    _run_flow(lambda: serve_all(config, port), stop_on_signals=False)


# --- feeds -----------------------------------------------------------------------

@main.group()
def feeds() -> None:
    """Manage feed sources: import OPML, check that every feed answers.

    \b
    Examples:
      briefing feeds import subscriptions.opml
      briefing feeds check
    """


@feeds.command("import")
@click.argument("opml_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@config_option
def feeds_import(opml_file: Path, config_path: str) -> None:
    """Add the feeds of an OPML export to the config's feeds file (default feeds.yaml beside it).

    \b
    Example:
      briefing feeds import ~/Downloads/subscriptions.opml --config config/briefing.yaml
    """
    from briefing.opml import merge_feeds, read_opml

    config = _load(config_path)
    try:
        subs = read_opml(opml_file)
        added, present = merge_feeds(config.feeds_file, subs, {s.name for s in config.sources},
                                     {s.feed for s in config.sources if s.feed})
        _load(config_path)  # the merged config must still be valid
    except ConfigError as exc:
        _fail(exc)
    for sub in added:
        click.echo(f"added {sub.name}: {sub.url}")
    click.echo(f"{len(added)} feeds added, {present} already configured -> {config.feeds_file}", err=True)


@feeds.command("check")
@config_option
def feeds_check(config_path: str) -> None:
    """Fetch every feed once (nothing is stored) and print status, items, last-modified, error.

    Exit code 1 when any feed failed.

    \b
    Example:
      briefing feeds check --config config/briefing.yaml
    """
    from briefing.sources.feed import fetch_all

    config = _load(config_path)
    sources = [s for s in config.sources if s.feed]
    if not sources:
        click.echo("no feeds configured", err=True)
        return
    outcomes = fetch_all(sources, {}, config.fetch.model_copy(update={"teaser_words": 0}))
    rows = [("feed", "status", "items", "last-modified", "error")]
    for s, o in zip(sources, outcomes):
        rows.append((s.name, "failed" if o.error else "ok", str(len(o.items)),
                     o.state.last_modified or "-", o.error or ""))
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    for r in rows:
        click.echo("  ".join(c.ljust(w) for c, w in zip(r[:4], widths)) + "  " + r[4])
    sys.exit(1 if any(o.error for o in outcomes) else 0)


# --- stage commands ----------------------------------------------------------

jsonl_option = click.option("--jsonl", "jsonl", type=click.File("r", encoding="utf-8"),
                            help="JSON Lines input ('-' for stdin): {id, text and/or title, url?, source?, "
                                 "published?}.")
paths_argument = click.argument("paths", nargs=-1, type=click.Path(exists=True, path_type=Path))


class _Record:
    """One stage input: an article, or the error that replaces it in the output."""

    def __init__(self, id: str, article: Any = None, options: dict[str, Any] | None = None,
                 error: str | None = None):
        self.id, self.article, self.options, self.error = id, article, options or {}, error


def _records(paths: tuple[Path, ...], jsonl: Any, clean: bool) -> Iterator[_Record]:
    if bool(paths) == bool(jsonl):
        raise click.UsageError("give PATH... or --jsonl FILE (one of the two)")
    now = datetime.now(UTC)
    if paths:  # only files need the folder reader (it brings the config's pydantic models)
        yield from _file_records(paths, now)
    if jsonl:
        for number, line in enumerate(jsonl, 1):
            if line.strip():
                yield _from_json(line, number, now, clean)


def _file_records(paths: tuple[Path, ...], now: datetime) -> Iterator[_Record]:
    from briefing.extract import to_article
    from briefing.sources.folder import iter_documents, read_document

    for root in paths:
        skipped: list[tuple[str, str]] = []
        files = iter_documents(root, skipped) if root.is_dir() else [root]
        for location, reason in skipped:
            logging.getLogger("briefing").warning("skipped %s: %s", location, reason)
        for path in files:
            try:
                yield _Record(str(path), to_article(read_document(path, "files"), now))
            except ExtractionError as exc:
                yield _Record(str(path), error=exc.message)


def _from_json(line: str, number: int, now: datetime, clean: bool) -> _Record:
    """One ``--jsonl`` line checked against the record format; the library makes the Article."""
    from briefing.dates import parse_datetime
    from briefing.extract import record_to_article

    try:
        record = json.loads(line)
    except ValueError as exc:
        return _Record(f"line {number}", error=f"not JSON: {exc}")
    if not isinstance(record, dict):
        return _Record(f"line {number}", error="not a JSON object")
    rid = str(record.get("id", f"line {number}"))
    text = record.get("text")
    if text is not None and not isinstance(text, str):
        return _Record(rid, error="'text' is not a string")
    text = text or ""
    raw_title = record.get("title")
    title = raw_title.strip() if isinstance(raw_title, str) and raw_title.strip() else None
    if not text.strip() and title is None:
        return _Record(rid, error="no 'text' or 'title'")
    try:
        published = parse_datetime(record["published"]) if record.get("published") else None
    except (ValueError, TypeError) as exc:
        return _Record(rid, error=f"bad 'published': {exc}")
    outlet = record.get("outlet")
    if outlet is not None and not isinstance(outlet, str):
        return _Record(rid, error="'outlet' is not a string")
    lang = record.get("lang")
    if lang is not None and not isinstance(lang, str):
        return _Record(rid, error="'lang' is not a string")
    fields = {"id", "text", "title", "url", "source", "published", "outlet"}
    options = {k: v for k, v in record.items() if k not in fields}  # "lang" among them: relevance heeds it
    try:
        article = record_to_article(str(record.get("source") or "jsonl"), str(record.get("url") or rid), text,
                                    title, published, now, clean, outlet=outlet.strip() or None if outlet else None)
    except ExtractionError as exc:
        return _Record(rid, error=exc.message)
    return _Record(rid, article, options)


_ENCODE = json.JSONEncoder(ensure_ascii=False).encode  # what json.dumps(obj, ensure_ascii=False) builds per call


def _emit(obj: dict[str, Any]) -> None:
    click.echo(_ENCODE(obj))


def _per_document(paths: tuple[Path, ...], jsonl: Any, clean: bool,
                  fn: Callable[[_Record], dict[str, Any]]) -> None:
    failed = False
    for rec in _records(paths, jsonl, clean):
        if rec.error is not None:
            failed = True
            _emit({"id": rec.id, "error": rec.error})
            continue
        try:
            _emit({"id": rec.id, **fn(rec)})
        except (BriefingError, ValueError, TypeError) as exc:
            failed = True
            _emit({"id": rec.id, "error": str(exc)})
    sys.exit(1 if failed else 0)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


@main.command()
@paths_argument
@jsonl_option
def extract(paths: tuple[Path, ...], jsonl: Any) -> None:
    """Clean files (or records) and print id, path, title, published, outlet, lang, text as JSON Lines.

    A record needs a "text" or a "title": a headline alone is a document.

    \b
    Examples:
      briefing extract ../shared/seeds/*.txt
      briefing extract examples/inbox
      briefing extract --jsonl examples/extract.jsonl
      echo '{"id": "a", "title": "Xi meets Putin"}' | briefing extract --jsonl -
    """
    from briefing.language import detect_language

    _per_document(paths, jsonl, True, lambda r: {
        "path": r.article.location, "title": r.article.title,
        "published": _iso(r.article.published), "outlet": r.article.outlet,
        "lang": r.article.lang or detect_language(r.article.title, r.article.text), "text": r.article.text})


@main.command()
@paths_argument
@jsonl_option
@click.option("--topic", "topic_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Topic file (default: the config's topic, else the bundled Russia–China topic).")
@config_option
def relevance(paths: tuple[Path, ...], jsonl: Any, topic_path: Path | None, config_path: str) -> None:
    """Score each document for the topic: id, score, relevant, evidence.

    \b
    Examples:
      briefing relevance ../shared/seeds/*.txt
      briefing relevance --topic config/topics/russia_china.yaml --jsonl examples/relevance.jsonl
    """
    from dataclasses import fields

    from briefing.relevance import load_topic, score
    from briefing.types import Evidence

    if topic_path is None:
        from briefing.config import bundled_topic
        topic_path = _load(config_path).topic if Path(config_path).exists() else bundled_topic()
    try:
        topic = load_topic(topic_path)
    except ConfigError as exc:
        _fail(exc)

    names = [f.name for f in fields(Evidence)]  # flat fields: a dict of them is asdict without its deep copy

    def one(r: _Record) -> dict[str, Any]:
        lang = str(r.options.get("lang") or "").strip().lower().split("-")[0]  # "zh-Hans" → zh: wins over detection
        result = score(r.article.title, r.article.text, topic, language=lang or r.article.lang)  # identified once
        threshold = float(r.options.get("threshold", topic.threshold))
        out = {"score": result.score, "relevant": result.score >= threshold and not result.reason,
               "evidence": [{n: getattr(e, n) for n in names} for e in result.evidence], "language": result.language}
        if result.reason:
            out["reason"] = result.reason
        return out

    _per_document(paths, jsonl, False, one)


@main.command()
@paths_argument
@jsonl_option
@click.option("--sentences", default=3, show_default=True, type=click.IntRange(min=1),
              help="Sentences per summary (a record's own \"sentences\" wins).")
def summarize(paths: tuple[Path, ...], jsonl: Any, sentences: int) -> None:
    """Summarize each document with verbatim sentences: id, summary.

    \b
    Examples:
      briefing summarize --sentences 2 ../shared/seeds/*.txt
      briefing summarize --jsonl examples/summarize.jsonl
    """
    from briefing.summarize import summarize as summarize_articles

    def one(r: _Record) -> dict[str, Any]:
        n = int(r.options.get("sentences", sentences))
        if n < 1:
            raise ValueError("'sentences' must be at least 1")
        return {"summary": [s.text for s in summarize_articles([r.article], n)]}

    _per_document(paths, jsonl, False, one)


@main.command()
@paths_argument
@jsonl_option
@click.option("--near-duplicate", type=click.FloatRange(0, 1, min_open=True), default=None,
              help="Jaccard of word shingles that makes two texts copies (default: config's, else 0.5).")
@click.option("--same-story", type=click.FloatRange(0, 1, min_open=True), default=None,
              help="Same-story probability that links two articles (default: config's, else 0.625).")
@config_option
def dedupe(paths: tuple[Path, ...], jsonl: Any, near_duplicate: float | None, same_story: float | None,
           config_path: str) -> None:
    """Group documents: print one object {duplicates, stories}, each a list of lists of ids.

    \b
    Examples:
      briefing dedupe examples/inbox
      briefing dedupe --jsonl examples/dedupe.jsonl
    """
    from briefing.config import DedupeConfig
    from briefing.dedupe import DedupeSettings, duplicate_groups, story_groups

    base = _load(config_path).dedupe if Path(config_path).exists() else DedupeConfig()
    knobs = DedupeSettings(near_duplicate=near_duplicate or base.near_duplicate,
                           same_story=same_story or base.same_story, story_days=base.story_days)
    records = list(_records(paths, jsonl, False))
    good = [r for r in records if r.error is None]
    ids = {id(r.article): r.id for r in good}
    dups = duplicate_groups([r.article for r in good], knobs)
    stories = story_groups([g[0] for g in dups], knobs)
    members = {id(g[0]): g for g in dups}
    out: dict[str, Any] = {
        "duplicates": [[ids[id(a)] for a in g] for g in dups if len(g) > 1],
        "stories": [[ids[id(a)] for s in story for a in members[id(s)]] for story in stories],
    }
    errors = [{"id": r.id, "error": r.error} for r in records if r.error is not None]
    if errors:
        out["errors"] = errors
    _emit(out)
    sys.exit(1 if errors else 0)


# --- search (issue 22) -----------------------------------------------------------------

@main.command()
@click.argument("query", nargs=-1, required=True)
@click.option("--since", callback=_when, help="Only articles dated from this date/time on (ISO-8601; without an "
              "offset, in schedule.timezone; an undated article counts from when it was first seen).")
@click.option("--until", callback=_when, help="Only articles dated before this date/time.")
@click.option("--source", "sources", multiple=True, help="Only this configured source (repeatable).")
@click.option("--outlet", "outlets", multiple=True, help="Only this outlet, e.g. TASS (repeatable; any case).")
@click.option("--lang", "langs", multiple=True, help="Only this language: en, ru, zh (repeatable; as identified "
              "when the article was cleaned).")
@click.option("--relevant", is_flag=True, help="Only articles the config's topic finds relevant (scored now: "
              "the store does not keep relevance).")
@click.option("--limit", default=20, show_default=True, type=click.IntRange(min=1), help="Hits to show.")
@click.option("--jsonl", "as_jsonl", is_flag=True,
              help="JSON Lines: id, title, url, outlet, source, published, score, snippet, revised.")
@config_option
def search(query: tuple[str, ...], since: datetime | None, until: datetime | None, sources: tuple[str, ...],
           outlets: tuple[str, ...], langs: tuple[str, ...], relevant: bool, limit: int, as_jsonl: bool,
           config_path: str) -> None:
    """Search every stored article: words ANDed, "quoted phrases", -word excludes, word* a prefix.

    Best first (BM25, then the latest). A Russian word outside quotes finds its
    inflections (Путин finds Путина); Chinese is found as written (普京). In the
    snippet, matched words are marked [like this]. An article edited since it was
    first seen shows its latest version, marked "revised". Quote the query, or
    put it after --, when it starts an exclusion with "-".

    \b
    Examples:
      briefing search 'Power of Siberia' --since 2026-11-01
      briefing search '"Russia and China" -Ukraine' --outlet TASS --jsonl
      briefing search -- Путин -Трамп --lang ru --limit 5
      briefing search 普京 --relevant
    """
    from briefing.search import Filters, parse_query, to_jsonl, to_table
    from briefing.search import search as find
    from briefing.store import Store

    config = _load(config_path)
    parsed = parse_query(" ".join(query))  # UsageError: one line, exit 2
    tz = config.schedule.tz
    since, until = (None if d is None else d if d.tzinfo else d.replace(tzinfo=tz) for d in (since, until))
    if since and until and until <= since:
        _die("--since/--until: the window ends before it starts", 2)
    keep = _search_keep(config, {lang.lower().split("-")[0] for lang in langs}, relevant)
    with Store.open(config) as store:
        hits = find(store, parsed, Filters(since, until, sources, outlets), limit, keep)
    click.echo(to_jsonl(hits) if as_jsonl else to_table(hits), nl=False)
    if not hits:
        click.echo(f"no article matches {parsed.text!r}", err=True)


def _search_keep(config: Any, langs: set[str], relevant: bool) -> Callable[[Any], bool] | None:
    """What search filters by after the store: language and relevance, which the store does not keep."""
    if not langs and not relevant:
        return None
    from briefing.language import detect_language
    topic = None
    if relevant:
        from briefing.relevance import load_topic
        topic = load_topic(config.topic)

    def keep(article: Any) -> bool:
        if langs and (article.lang or detect_language(article.title, article.text)) not in langs:
            return False
        if topic is None:
            return True
        from briefing.relevance import score
        result = score(article.title, article.text, topic)
        return result.score >= topic.threshold and not result.reason

    return keep


if __name__ == "__main__":
    main()
