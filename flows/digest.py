"""Digest: window → relevant → deduplicated → stories → summaries → rendered → delivered → ledger.

Three kinds of run: a *regular* digest (the window since the last delivered
one; it holds the store's ``digest`` lock, so a second one waits or exits and
nothing is sent twice), a *backfill* (an explicit past window: archived and
recorded as a backfill, the regular ledger untouched, sent only on request),
and a *dry run* (rendered and returned, nothing written). All three take one
path: plan the window, compose, ask ``briefing.digest.plan_delivery`` what
follows (empty, already delivered, archive, send), carry out the steps it lists.
The decisions are the library's; this module holds the Prefect wiring.

Tasks cache on their inputs within one flow run (Prefect's default policy:
inputs + task source + run id, results persisted). So a retried run reuses
its window and clock, the composed digest, the archive and the ledger row,
and a send that already succeeded is not repeated; only what failed runs again.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any, Generic, TypeVar, cast

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import DEFAULT, INPUTS, NO_CACHE, RUN_ID, TASK_SOURCE
from prefect.runtime import flow_run
from prefect.utilities.annotations import quote, unmapped

from briefing import deliver, render
from briefing.config import Config, DedupeConfig, EmailConfig, load_config
from briefing.digest import (
    DeliveryPlan,
    DigestKind,
    DigestPlan,
    RunKind,
    StoryPlan,
    Window,
    archived_message,
    assemble,
    delivered_overlap,
    digest_kind,
    last_delivered_end,
    plan_delivery,
    plan_stories,
    publish_timelines,
    read_revisions,
    read_window,
    record_digest,
    run_kind,
    run_window,
    score_articles,
    write_stories,
)
from briefing.exceptions import BusyError, ConfigError
from briefing.outlets import Registry, registry_for
from briefing.relevance import Topic, load_topic
from briefing.store import Store
from briefing.timelines import identify_stories
from briefing.types import Article, Digest, Relevance, Revision, SourceHealth, Story
from flows.ingest import health_markdown
from flows.progress import report
from flows.runners import task_runner

T = TypeVar("T")

PER_RUN = DEFAULT  # inputs + task source + flow run id: a retry of this run reuses the result
# The digest, its rendering and its message are fixed within a run (made by cached tasks), so the
# tasks that take them key on the run and their other inputs: hashing megabytes of stories costs seconds.
PER_RUN_DIGEST = TASK_SOURCE + RUN_ID + (INPUTS - "digest" - "rendered")
# Tasks of the compose subflow: a subflow run is new on every retry of its parent, so they key on
# their inputs with the parent's run id among them (run_key), not on their own run's id.


def _now() -> datetime:
    """The run's clock, read once per run in ``plan`` (one place, so a test can pin it)."""
    return datetime.now(timezone.utc)


@dataclass(frozen=True)
class DigestResult:
    # "delivered", "archived", "backfill", "already-delivered", "empty", "dry-run", "busy"
    status: str
    window: Window
    path: Path | None = None
    stories: int = 0
    articles: int = 0
    text: str | None = None
    digest_id: int | None = None
    sources: tuple[SourceHealth, ...] = ()  # a whole run's ingest: how each source fared (empty for a digest alone)


@task(cache_policy=PER_RUN)
def plan(config: Config, since: datetime | None, until: datetime | None) -> tuple[Window, datetime]:
    """The window and the run's clock, fixed once per flow run (a retry covers the same window)."""
    now = _now()
    last = _last_delivered_end(config) if digest_kind(since, until) == "regular" else None
    return run_window(since, until, last, now, config.digest.first_window_days, config.schedule.tz), now


def _last_delivered_end(config: Config) -> datetime | None:
    with Store.open(config) as store:
        return last_delivered_end(store)


@task(cache_policy=NO_CACHE)  # a cheap read of a fixed window; persisting it would cost more
def load_window(config: Config, window: Window,
                kind: DigestKind) -> tuple[list[Article], list[Article], list[SourceHealth]]:
    """The window's articles, those of the days before it (for continuing stories), the sources' health."""
    with Store.open(config) as store:
        return read_window(store, window, kind, config.dedupe.story_days, [s.name for s in config.sources])


@task(cache_policy=NO_CACHE)
def load_revisions(config: Config, window: Window, kind: DigestKind) -> list[Revision]:
    """Edits of articles a delivered digest carried, made in this window: their stories say so."""
    with Store.open(config) as store:
        return read_revisions(store, window, kind)


class Opaque(Generic[T]):
    """A value handed to a mapped task as one object that neither Prefect nor Dask walks into.

    Walking a batch costs time, and Dask reads tuples and dataclasses inside
    task arguments as parts of its task graph (Prefect's ``quote`` is a tuple).
    """

    __slots__ = ("value",)

    def __init__(self, value: T):
        self.value = value

    def __getstate__(self) -> T:
        return self.value

    def __setstate__(self, value: T) -> None:
        self.value = value


# Mapped batches key on content keys passed beside them (ids and content hashes, the topic file's hash):
# hashing the objects themselves would pickle them, and pickles of equal objects differ in their sharing.
# The outlet registry is the config's, fixed within a run (run_key is among the inputs): not hashed either.
BY_CONTENT_KEY = TASK_SOURCE + (INPUTS - "articles" - "topic" - "plans" - "registry")


def content_key(articles: Sequence[Article]) -> str:
    """What a batch of articles is, in a few bytes: ids and content hashes."""
    return hashlib.sha256("\n".join(f"{a.id}:{a.content_hash}" for a in articles).encode()).hexdigest()


@task(cache_policy=BY_CONTENT_KEY)
def score_batch(articles: Opaque[list[Article]], topic: Opaque[Topic], batch_key: str, topic_key: str,
                run_key: str) -> dict[str, Relevance]:
    return score_articles(articles.value, topic.value)


@task(cache_policy=TASK_SOURCE + (INPUTS - "articles" - "earlier" - "scored" - "registry"))
def plan_digest(articles: list[Article], earlier: list[Article], scored: dict[str, Relevance],
                dedupe: DedupeConfig, window: Window, kind: DigestKind, run_key: str,
                registry: Opaque[Registry]) -> DigestPlan:
    """Duplicates and stories over the whole window (its articles follow from window, kind and run)."""
    return plan_stories(articles, earlier, scored, dedupe, registry.value)


@task(cache_policy=BY_CONTENT_KEY)
def write_batch(plans: Opaque[list[StoryPlan]], batch_key: str, sentences: int, run_key: str,
                registry: Opaque[Registry]) -> list[Story]:
    return write_stories(plans.value, sentences, registry.value)


def _batches(items: Sequence[T], size: int) -> list[list[T]]:
    return [list(items[i:i + size]) for i in range(0, len(items), size)]


@flow(name="compose", validate_parameters=False)
def compose_flow(config: Config, window: Window, now: datetime, kind: DigestKind, run_key: str) -> Opaque[Digest]:
    """Score, group and write up the window, on the configured task runner (threads or Dask).

    Scoring and writing are mapped over batches; grouping needs the whole
    window at once. The batches are independent, so any runner gives the
    same digest, byte for byte. The digest comes back Opaque: Prefect walks a
    flow's return value looking for futures, ~0.3 s over a 10k window's digest.
    """
    topic = load_topic(config.topic)
    articles, earlier, health = load_window(config, window, kind)
    scored = _score(config, topic, [*articles, *earlier], run_key)
    report("stories", 0, len(articles))
    outlets = registry_for(config)  # the config's outlets over the bundled: they rank, summarize and show
    grouped = plan_digest(_whole(articles), _whole(earlier), _whole(scored), config.dedupe, window, kind, run_key,
                          Opaque(outlets))
    report("stories", len(articles), len(articles))
    written = _write(config, list(grouped.stories[:config.digest.max_stories]), run_key, outlets)
    digest = assemble(grouped, written, articles, scored, config.digest, window, now, health,
                      registry=outlets, config_path=str(config.path) if config.path else None,
                      revisions=load_revisions(config, window, kind))
    return Opaque(identify(config, _whole(replace(digest, kind=kind))))


@task(cache_policy=NO_CACHE)  # a cheap read; the digest is not hashed
def identify(config: Config, digest: Digest) -> Digest:
    """Each story's id across digests, and how many earlier digests carried it (its timeline page, linked)."""
    with Store.open(config) as store:
        return identify_stories(store, digest)


def _score(config: Config, topic: Topic, everyone: list[Article], run_key: str) -> dict[str, Relevance]:
    """Relevance of every article, mapped over batches (Opaque: a batch is handed over whole, never walked)."""
    batches = _batches(everyone, config.runner.batch_size)
    report("relevance", 0, len(everyone))
    topic_key = hashlib.sha256(config.topic.read_bytes()).hexdigest()
    futures = score_batch.map(articles=[Opaque(b) for b in batches], batch_key=[content_key(b) for b in batches],
                              topic=unmapped(Opaque(topic)), topic_key=unmapped(topic_key),
                              run_key=unmapped(run_key))
    scored: dict[str, Relevance] = {}
    for future in futures:
        scored.update(future.result())
        report("relevance", len(scored), len(everyone))
    return scored


def _write(config: Config, top: list[StoryPlan], run_key: str, outlets: Registry) -> list[Story]:
    """Summaries of the top stories, one chunk per worker."""
    chunks = _batches(top, max(1, -(-len(top) // config.runner.workers)))
    report("write-ups", 0, len(top))
    keys = [content_key([a for p in chunk for a in p.articles]) for chunk in chunks]
    futures = write_batch.map(plans=[Opaque(b) for b in chunks], batch_key=keys,
                              sentences=unmapped(config.digest.summary_sentences), run_key=unmapped(run_key),
                              registry=unmapped(Opaque(outlets)))
    written: list[Story] = []
    for future in futures:
        written.extend(future.result())
        report("write-ups", len(written), len(top))
    return written


def compose(config: Config, window: Window, now: datetime, kind: DigestKind) -> Digest:
    """Run the compose subflow on the task runner the config asks for."""
    run_key = str(flow_run.get_id())
    runner: Any = task_runner(config.runner)  # with_options is typed for Prefect's base future only
    return compose_flow.with_options(task_runner=runner)(config, window, now, kind, run_key).value


def _whole(value: T) -> T:
    """``quote(value)``: a big input handed to a task as it is, not walked looking for futures (typed as itself)."""
    return cast(T, quote(value))


@task(cache_policy=PER_RUN_DIGEST)
def render_digest(digest: Digest, max_stories: int, archive_url: str | None = None) -> render.Rendered:
    return render.render(digest, max_stories, archive_url=archive_url)


def _archive_url(config: Config) -> str:
    """Where the email's "and N more stories" line points: the public archive when configured, else its folder."""
    return config.digest.archive_url or config.archive_dir.resolve().as_uri()


@task(cache_policy=PER_RUN_DIGEST)
def make_message(rendered: render.Rendered, email: EmailConfig | None) -> bytes:
    """The message as bytes, built once per run: a retried send carries the same Message-ID.

    Bytes, not an ``EmailMessage``, so the tasks that take it hash it the same on every retry.
    """
    return deliver.build_message(rendered, email).as_bytes()


@task(cache_policy=PER_RUN_DIGEST)
def archive_digest(digest: Digest, rendered: render.Rendered, archive_dir: Path, eml: bytes) -> Path:
    return render.archive(digest, rendered, archive_dir, eml=eml)


@task(cache_policy=PER_RUN_DIGEST)
def record(config: Config, digest: Digest, path: Path, delivered: bool) -> int:
    """The ledger row, written before the send: an archived digest is never unrecorded."""
    with Store.open(config) as store:
        return record_digest(store, digest, path, delivered)


@task(cache_policy=PER_RUN_DIGEST)
def timelines(config: Config, digest: Digest, digest_id: int) -> list[Path]:
    """The digest's stories recorded and its developing stories' pages written, after its row, before the send."""
    with Store.open(config) as store:
        return publish_timelines(store, digest, digest_id, config.archive_dir)


@task(cache_policy=PER_RUN)
def send_digest(eml: bytes, config: Config) -> None:
    """Cached once it succeeds: a retried run does not send the digest again."""
    assert config.email is not None
    deliver.send(_message(eml), config.email, password=_block_password(config))


@task(cache_policy=PER_RUN)
def mark_delivered(config: Config, digest_id: int) -> None:
    with Store.open(config) as store:
        store.mark_delivered(digest_id, datetime.now(timezone.utc))


@task(cache_policy=NO_CACHE)
def delivered_as(config: Config, window: Window) -> int | None:
    """A delivered regular digest overlapping the window (read fresh, never cached)."""
    with Store.open(config) as store:
        return delivered_overlap(store, window)


def _message(eml: bytes) -> EmailMessage:
    message = message_from_bytes(eml, policy=policy.default)
    assert isinstance(message, EmailMessage)
    return message


def _block_password(config: Config) -> str | None:
    """The SMTP password from a Prefect Secret block, when the config names one."""
    if config.email is None or not config.email.password_block:
        return None
    from prefect.blocks.system import Secret

    return str(cast(Secret, Secret.load(config.email.password_block)).get())


def _send(eml: bytes, config: Config) -> None:
    assert config.email is not None
    send_digest.with_options(retries=config.email.retries,
                             retry_delay_seconds=config.email.retry_delay_seconds)(eml, config)


def _artifact(result: DigestResult, digest: Digest | None, max_stories: int) -> None:
    lines = [f"# Digest: {result.status}", "",
             f"Window {result.window.start.isoformat()} – {result.window.end.isoformat()}", ""]
    if digest is not None:
        lines += ["| stories | relevant | new articles | duplicates merged |", "|---|---|---|---|",
                  f"| {len(digest.stories)} | {digest.relevant} | {digest.considered} | {digest.duplicates} |", ""]
        # Capped like the email: the written-up stories, titles up to the budget, then how many more.
        lines += render.story_listing(digest, max_stories, archived=str(result.path) if result.path else None)
        lines += ["", "## Sources", "", health_markdown(list(digest.health))]
    if result.path:
        lines += ["", f"Archived at `{result.path}`"]
    create_markdown_artifact(key="briefing-digest", markdown="\n".join(lines),
                             description="Digest headline figures")


@flow(name="digest", log_prints=True)
def digest_flow(config_path: str, since: datetime | None = None, until: datetime | None = None,
                dry_run: bool = False, send: bool = False) -> DigestResult:
    """Make the digest of the articles first seen in a window, archive it, deliver it, record it.

    Args:
        config_path: The Briefing config file (YAML).
        since: Start of a past window to backfill; empty for the regular digest (since the last delivered one).
            A time without an offset is read in the config's schedule.timezone.
        until: End of the backfill window; empty for now.
        dry_run: Render and return the text only: archive, send and record nothing.
        send: Also email a backfill (a regular digest is always sent when email is configured).
    """
    config = load_config(config_path)
    kind = run_kind(since, until, dry_run)
    if kind != "regular":  # only a regular digest moves the ledger's windows, so only it holds the lock
        return _digest(config, kind, since, until, send)
    with Store.open(config) as store:
        try:
            with store.lock("digest", wait=config.schedule.lock_wait_seconds):
                return _digest(config, kind, since, until, send)
        except BusyError as exc:
            get_run_logger().warning("%s", exc)
            return DigestResult("busy", Window(datetime.now(timezone.utc), datetime.now(timezone.utc)))


def _digest(config: Config, kind: RunKind, since: datetime | None, until: datetime | None,
            send: bool) -> DigestResult:
    """Every run's one path: plan the window, compose, ask the planner, carry out the steps it lists."""
    window, now = plan(config, since, until)
    digest = compose(config, window, now, digest_kind(since, until))
    if kind != "dry-run":  # a dry run only renders
        _log_counts(digest)
    steps = plan_delivery(kind, window, has_stories=bool(digest.stories), send_empty=config.digest.send_empty,
                          delivered_as=delivered_as(config, window), email=config.email is not None,
                          send=send, config_path=str(config.path))
    text = (render_digest(_whole(digest), config.digest.max_stories, _archive_url(config)).text
            if steps.render_text else None)
    path, digest_id = _deliver(config, window, digest, steps)
    result = DigestResult(steps.status, window, path=path, text=text, digest_id=digest_id,
                          stories=len(digest.stories) if steps.made else 0,
                          articles=digest.relevant if steps.made else digest.considered)
    _artifact(result, digest, config.digest.max_stories)
    return result


def _deliver(config: Config, window: Window, digest: Digest, steps: DeliveryPlan) -> tuple[Path | None, int | None]:
    """Publish and record the digest, send it, mark it delivered, as far as the plan says: its archive and row."""
    if not steps.publish:
        _say(steps.say)
        return None, steps.digest_id
    message, path = _publish(config, digest)
    _say(steps.say)
    digest_id = record(config, _whole(digest), path, steps.record_delivered)
    pages = timelines(config, _whole(digest), digest_id)
    if pages:
        get_run_logger().info("timelines of %d developing %s written in %s", len(pages),
                              "story" if len(pages) == 1 else "stories", config.archive_dir / "stories")
    if steps.send:
        try:
            _send(message, config)
        except Exception:
            if steps.report_undelivered:
                _undelivered(window, digest, path, digest_id, config.digest.max_stories)
            raise
    if steps.mark_delivered:
        mark_delivered(config, digest_id)
    if steps.say_archived:
        get_run_logger().info("%s %s", steps.say_archived, path)
    return path, digest_id


def _undelivered(window: Window, digest: Digest, path: Path, digest_id: int, max_stories: int) -> None:
    get_run_logger().error("digest #%d archived at %s but not delivered; the next run covers this window again",
                           digest_id, path)
    _artifact(DigestResult("undelivered", window, path=path, stories=len(digest.stories),
                           articles=digest.relevant, digest_id=digest_id), digest, max_stories)


def _say(line: str | None) -> None:
    if line:
        get_run_logger().info("%s", line)


def _publish(config: Config, digest: Digest) -> tuple[bytes, Path]:
    """Render the digest, build its message and archive both; returns the message and the HTML's path."""
    report("render", 0, 1)
    rendered = render_digest(_whole(digest), config.digest.max_stories, _archive_url(config))
    get_run_logger().info("%s", render.size_line(rendered))  # the parts as sent: HTML inlined, KB of each
    message = make_message(_whole(rendered), config.email)
    path = archive_digest(_whole(digest), _whole(rendered), config.archive_dir, message)
    report("render", 1, 1)
    return message, path


def _log_counts(digest: Digest) -> None:
    get_run_logger().info("window %s – %s: %d new articles, %d relevant, %d stories",
                          digest.window_start.isoformat(), digest.window_end.isoformat(), digest.considered,
                          digest.relevant, len(digest.stories))


@flow(name="resend", log_prints=True)
def resend_flow(config_path: str, digest_id: int) -> DigestResult:
    """Send an archived digest again, on purpose, to the configured recipients."""
    config = load_config(config_path)
    if config.email is None:
        raise ConfigError("no email configured: nothing to resend to", path=str(config.path), key="email")
    with Store.open(config) as store:
        entry, eml, message = archived_message(store.digests(), digest_id)
        _send(message, config)
        store.mark_delivered(entry.id, datetime.now(timezone.utc))
    get_run_logger().info("resent digest #%d (%s)", digest_id, eml)
    assert entry.archive_path is not None  # archived_message finds archived digests only
    return DigestResult("delivered", Window(entry.window_start, entry.window_end), path=Path(entry.archive_path),
                        stories=entry.stories, articles=entry.articles)
