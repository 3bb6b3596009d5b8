"""Digest: window → relevant → deduplicated → stories → summaries → rendered → delivered → ledger."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from email.message import EmailMessage
from pathlib import Path

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE

from briefing import deliver, render
from briefing.config import Config, load_config
from briefing.dates import parse_datetime
from briefing.digest import Window, build_digest, plan_window
from briefing.exceptions import ConfigError, DeliveryError
from briefing.relevance import load_topic
from briefing.store import Store
from briefing.types import Article, Digest
from flows.ingest import health_markdown


@dataclass(frozen=True)
class DigestResult:
    status: str  # "delivered", "archived", "undelivered", "already-delivered", "empty", "dry-run"
    window: Window
    path: Path | None = None
    stories: int = 0
    articles: int = 0
    text: str | None = None


@task(cache_policy=NO_CACHE)
def load_window(config: Config, window: Window) -> tuple[list[Article], list[Article]]:
    """The window's articles, and the earlier ones whose stories may continue in it."""
    store = Store.open_dir(config.state_dir)
    try:
        back = window.start - timedelta(days=config.dedupe.story_days)
        return store.articles_seen_between(window.start, window.end), store.articles_seen_between(back, window.start)
    finally:
        store.close()


@task(cache_policy=NO_CACHE)
def compose(config: Config, articles: list[Article], earlier: list[Article], window: Window,
            now: datetime) -> Digest:
    store = Store.open_dir(config.state_dir)
    try:
        health = store.source_health([s.name for s in config.sources])
    finally:
        store.close()
    return build_digest(articles, load_topic(config.topic), config.digest, window, now, health,
                        earlier=earlier, dedupe=config.dedupe)


@task(cache_policy=NO_CACHE)
def render_digest(digest: Digest, max_stories: int) -> render.Rendered:
    return render.render(digest, max_stories)


@task(cache_policy=NO_CACHE)
def archive_digest(digest: Digest, rendered: render.Rendered, archive_dir: Path, message: EmailMessage) -> Path:
    return render.archive(digest, rendered, archive_dir, eml=message.as_bytes())


@task(cache_policy=NO_CACHE)
def send_digest(message: EmailMessage, config: Config) -> None:
    assert config.email is not None
    deliver.send(message, config.email, password=_block_password(config))


def _block_password(config: Config) -> str | None:
    """The SMTP password from a Prefect Secret block, when the config names one."""
    if config.email is None or not config.email.password_block:
        return None
    from prefect.blocks.system import Secret

    return str(Secret.load(config.email.password_block).get())


@task(cache_policy=NO_CACHE)
def already_delivered(config: Config, window: Window) -> int | None:
    store = Store.open_dir(config.state_dir)
    try:
        record = store.delivered_window(window.start, window.end)
    finally:
        store.close()
    return record.id if record else None


@task(cache_policy=NO_CACHE)
def record(config: Config, digest: Digest, delivered: bool, path: Path) -> int:
    store = Store.open_dir(config.state_dir)
    try:
        return store.record_digest(window_start=digest.window_start, window_end=digest.window_end,
                                   created=digest.created, delivered=delivered, archive_path=str(path),
                                   stories=len(digest.stories), articles=digest.relevant)
    finally:
        store.close()


def _window(config: Config, since: str | None, until: str | None, now: datetime) -> Window:
    if since is None and until is None:
        store = Store.open_dir(config.state_dir)
        try:
            last = store.last_delivered()
        finally:
            store.close()
        return plan_window(last.window_end if last else None, now, config.digest.first_window_days)
    try:
        end = parse_datetime(until) if until else now
        start = parse_datetime(since) if since else plan_window(None, end, config.digest.first_window_days).start
    except ValueError as exc:
        raise ConfigError(str(exc), key="--since/--until") from exc
    if start >= end:
        raise ConfigError(f"window start {start.isoformat()} is not before its end {end.isoformat()}",
                          key="--since/--until")
    return Window(start, end)


def _artifact(result: DigestResult, digest: Digest | None) -> None:
    lines = [f"# Digest: {result.status}", "",
             f"Window {result.window.start.isoformat()} – {result.window.end.isoformat()}", ""]
    if digest is not None:
        lines += ["| stories | relevant | new articles | duplicates merged |", "|---|---|---|---|",
                  f"| {len(digest.stories)} | {digest.relevant} | {digest.considered} | {digest.duplicates} |", ""]
        lines += [f"{i}. {s.lead.title} ({', '.join(s.sources)})" for i, s in enumerate(digest.stories, 1)]
        lines += ["", "## Sources", "", health_markdown(list(digest.health))]
    if result.path:
        lines += ["", f"Archived at `{result.path}`"]
    create_markdown_artifact(key="briefing-digest", markdown="\n".join(lines),
                             description="Digest headline figures")


@flow(name="digest", log_prints=True)
def digest_flow(config_path: str, since: str | None = None, until: str | None = None,
                dry_run: bool = False) -> DigestResult:
    """Build the digest for the window since the last delivered one (or --since/--until)."""
    logger = get_run_logger()
    config = load_config(config_path)
    now = datetime.now(timezone.utc)
    window = _window(config, since, until, now)
    articles, earlier = load_window(config, window)
    digest = compose(config, articles, earlier, window, now)
    logger.info("window %s – %s: %d new articles, %d relevant, %d stories", window.start.isoformat(),
                window.end.isoformat(), digest.considered, digest.relevant, len(digest.stories))
    if not digest.stories and not config.digest.send_empty:
        logger.info("nothing new on the topic in this window: no digest made")
        result = DigestResult("empty", window, articles=digest.considered)
        _artifact(result, digest)
        return result
    rendered = render_digest(digest, config.digest.max_stories)
    if dry_run:
        result = DigestResult("dry-run", window, stories=len(digest.stories), articles=digest.relevant,
                              text=rendered.text)
        _artifact(result, digest)
        return result
    sent_as = already_delivered(config, window)
    if sent_as is not None:
        logger.info("this window was already delivered as digest #%d: not sending it again "
                    "(briefing digest --resend %d sends it on purpose)", sent_as, sent_as)
        result = DigestResult("already-delivered", window, stories=len(digest.stories), articles=digest.relevant)
        _artifact(result, digest)
        return result
    message = deliver.build_message(rendered, config.email)
    path = archive_digest(digest, rendered, config.archive_dir, message)
    status = "archived"
    if config.email is not None:
        try:
            send_digest.with_options(retries=config.email.retries,
                                     retry_delay_seconds=config.email.retry_delay_seconds)(message, config)
            status = "delivered"
        except DeliveryError as exc:
            logger.error("digest archived at %s but not delivered: %s", path, exc)
            status = "undelivered"
    else:
        logger.info("no email configured: the archive is the delivery")
    record(config, digest, status != "undelivered", path)
    result = DigestResult(status, window, path=path, stories=len(digest.stories), articles=digest.relevant)
    _artifact(result, digest)
    if status == "undelivered":
        raise DeliveryError(", ".join(config.email.to if config.email else []),
                            f"digest kept at {path}; the next run covers this window again")
    return result


@flow(name="resend", log_prints=True)
def resend_flow(config_path: str, digest_id: int) -> DigestResult:
    """Send an archived digest again, on purpose, to the configured recipients."""
    from email import message_from_bytes, policy

    logger = get_run_logger()
    config = load_config(config_path)
    if config.email is None:
        raise ConfigError("no email configured: nothing to resend to", path=str(config.path), key="email")
    store = Store.open_dir(config.state_dir)
    try:
        record = next((d for d in store.digests() if d.id == digest_id), None)
        if record is None or not record.archive_path:
            raise ConfigError(f"no archived digest #{digest_id} in the ledger", key="--resend")
        eml = Path(record.archive_path).with_suffix(".eml")
        try:
            message = message_from_bytes(eml.read_bytes(), policy=policy.default)
        except OSError as exc:
            raise ConfigError(f"archived message {eml} is unreadable: {exc.strerror}", key="--resend") from exc
        assert isinstance(message, EmailMessage)
        send_digest.with_options(retries=config.email.retries,
                                 retry_delay_seconds=config.email.retry_delay_seconds)(message, config)
        store.mark_delivered(record.id, datetime.now(timezone.utc))
    finally:
        store.close()
    logger.info("resent digest #%d (%s)", digest_id, eml)
    return DigestResult("delivered", Window(record.window_start, record.window_end), path=Path(record.archive_path),
                        stories=record.stories, articles=record.articles)
