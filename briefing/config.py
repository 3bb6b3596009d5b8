"""Configuration: one YAML file parsed once into frozen, typed models.

Layering: file values, then ``BRIEFING_<KEY>`` environment variables (nested
keys joined by ``__``, e.g. ``BRIEFING_DIGEST__MAX_STORIES=10``; values are
read as YAML, so ``BRIEFING_EMAIL__TO='[a@x.org]'`` works). Relative paths
resolve against the config file's folder, so a config means the same thing
from any working directory. Every failure is one ``ConfigError`` that names
the file (or the environment variable) and the key. A config may hold only
``sources:``: everything else has a default, the topic being the bundled
Russia–China lexicon. ``check_config`` looks at what the values point to
(the topic file, the folders) before a run starts.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence
from importlib import resources
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from briefing.exceptions import ConfigError, one_line
from briefing.urls import is_http_url


def load_yaml(text: str) -> Any:
    """YAML through libyaml's safe loader when PyYAML has it: the same objects, ~15× faster than the pure-Python
    one (the bundled outlet registry and topic took ~0.5 s of every stage command's start-up)."""
    return yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))

ENV_PREFIX = "BRIEFING_"
_WHOLE = sys.maxsize  # PyYAML's message spans lines (the mark, a caret): a config error folds it, uncut
TOPIC_NAME = "russia_china.yaml"
# The one copy of the bundled topic in a checkout; a wheel carries it as briefing/topics/ (pyproject.toml).
REPO_TOPIC = Path(__file__).resolve().parent.parent / "config" / "topics" / TOPIC_NAME


def bundled_topic() -> Path:
    """The Russia–China topic that ships with Briefing: inside the installed package, else in the checkout."""
    packaged = Path(str(resources.files("briefing") / "topics" / TOPIC_NAME))
    return packaged if packaged.is_file() else REPO_TOPIC


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class SourceConfig(_Model):
    """A folder of files or a feed URL; exactly one of the two."""

    name: str = Field(min_length=1)
    folder: Path | None = None
    feed: str | None = None
    full_text: bool = False

    @field_validator("feed")
    @classmethod
    def _http_url(cls, url: str | None) -> str | None:
        if url is not None and not is_http_url(url.strip()):
            raise ValueError(f"not an http(s) URL with a host: {url!r}")
        return url.strip() if url is not None else None

    @model_validator(mode="after")
    def _one_kind(self) -> SourceConfig:
        if (self.folder is None) == (self.feed is None):
            raise ValueError("give exactly one of 'folder' or 'feed'")
        return self


class FetchConfig(_Model):
    """How feeds and linked pages are fetched: limits, politeness and retries."""

    concurrency: int = Field(default=16, ge=1, le=256)
    per_host: int = Field(default=2, ge=1, le=64)
    connect_timeout: float = Field(default=10, gt=0)
    read_timeout: float = Field(default=20, gt=0)
    deadline: float = Field(default=60, gt=0)  # whole request, so a trickling server cannot hold a run
    max_bytes: int = Field(default=10 * 1024 * 1024, ge=1024)
    max_redirects: int = Field(default=5, ge=0, le=20)
    retries: int = Field(default=3, ge=0, le=10)
    backoff: float = Field(default=1.0, ge=0)  # seconds, doubled per retry
    max_retry_after: float = Field(default=120, ge=0)  # a longer Retry-After fails this run instead
    max_failures: int = Field(default=5, ge=1)  # consecutive failures before a feed is suspended
    suspend_hours: float = Field(default=24, ge=0)  # how long a suspended feed rests between tries
    teaser_words: int = Field(default=120, ge=0)  # entries shorter than this get their page fetched
    allow_private_hosts: bool = False  # follow feed links to loopback/private addresses
    host_failures: int = Field(default=3, ge=1)  # failures to resolve/connect in a row before a host is skipped
    run_budget: float = Field(default=600, gt=0)  # seconds of fetching per run; later page fetches are skipped


class DedupeConfig(_Model):
    """When two articles are one text (duplicates) or one event (a story)."""

    near_duplicate: float = Field(default=0.5, gt=0, le=1)  # Jaccard of word 5-shingles (MinHash estimate)
    same_story: float = Field(default=0.625, gt=0, le=1)  # the story pair model's probability (briefing/dedupe.py)
    story_days: float = Field(default=3, gt=0)  # published at most this far apart; also how far back stories continue


class DigestConfig(_Model):
    title: str = "Russia–China Relations Digest"
    first_window_days: float = Field(default=7, gt=0)
    max_stories: int = Field(default=15, ge=1)
    summary_sentences: int = Field(default=3, ge=1)
    send_empty: bool = False
    # Where archive_dir is served (https://host/digests/): the email's "and N more stories" link points there;
    # none: the archive folder's file:// URI, which only a local reader can open.
    archive_url: str | None = None


class ScheduleConfig(_Model):
    """When the served deployments run (``briefing serve``), and how runs share the store."""

    timezone: str = "UTC"  # IANA name: cron times, and --since/--until given without an offset, are read in it
    ingest_every_minutes: float | None = Field(default=30, gt=0)  # None: ingest only by hand or before a digest
    ingest_cron: str | None = None  # a cron expression instead of the interval
    digest_cron: str = "0 7 * * *"  # daily at 07:00; "0 7 * * 1" is weekly on Mondays
    digest_name: str = Field(default="daily", min_length=1, pattern=r"^[A-Za-z0-9_.-]+$")  # 'digest/<name>'
    retries: int = Field(default=1, ge=0, le=10)  # flow retries of a served run; finished tasks are not redone
    retry_delay_seconds: float = Field(default=300, ge=0)
    lock_wait_seconds: float = Field(default=600, ge=0)  # a second digest/ingest waits this long, then exits

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, name: str) -> str:
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {name!r} (an IANA name such as 'Europe/Moscow' or 'UTC')") from exc
        return name

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


class RunnerConfig(_Model):
    """Where the digest's heavy tasks run: threads here, or a Dask cluster (local or at ``address``)."""

    kind: Literal["threads", "dask"] = "threads"
    address: str | None = None  # a running Dask scheduler, e.g. tcp://10.0.0.5:8786; none: a local cluster
    workers: int = Field(default=2, ge=1, le=256)  # threads, or local Dask worker processes
    batch_size: int = Field(default=2000, ge=1)  # articles per relevance task


class EmailConfig(_Model):
    sender: str
    to: list[str] = Field(min_length=1)
    smtp_host: str = "localhost"
    smtp_port: int = Field(default=25, ge=1, le=65535)
    security: Literal["none", "starttls", "ssl"] = "none"
    username: str | None = None
    password_env: str = "BRIEFING_SMTP_PASSWORD"
    password_block: str | None = None  # name of a Prefect Secret block holding the password (wins over env)
    timeout_seconds: float = Field(default=30, gt=0)
    retries: int = Field(default=2, ge=0, le=10)
    retry_delay_seconds: float = Field(default=20, ge=0)
    bcc: bool = False  # recipients in the envelope only; the To header shows the sender
    list_unsubscribe: str | None = None  # mailto: or https: address for the List-Unsubscribe header
    reply_to: str | None = None  # a plain address for the Reply-To header (replies to a person, not the robot)
    ca_file: Path | None = None  # extra CA certificate(s) to trust for TLS (a private mail server)


class Config(_Model):
    state_dir: Path = Path(".briefing")
    # A server database instead of the SQLite file in state_dir, e.g. postgresql+psycopg://briefing@db/briefing
    # (shared by workers on several machines). A password is best given as BRIEFING_STORE_URL.
    store_url: str | None = None
    archive_dir: Path = Path("digests")
    sources: list[SourceConfig] = Field(default_factory=list)
    topic: Path = Field(default_factory=bundled_topic)  # absolute, so it is not resolved against the config
    digest: DigestConfig = DigestConfig()
    email: EmailConfig | None = None
    fetch: FetchConfig = FetchConfig()
    dedupe: DedupeConfig = DedupeConfig()
    schedule: ScheduleConfig = ScheduleConfig()
    runner: RunnerConfig = RunnerConfig()
    feeds_file: Path = Path("feeds.yaml")  # more sources, kept by `briefing feeds import`; optional
    # More outlets, or other names/blocs for bundled ones: a file shaped like config/outlets.yaml, or a list of entries
    outlets: Path | list[dict[str, Any]] | None = None
    path: Path | None = Field(default=None, exclude=True)

    @field_validator("sources")
    @classmethod
    def _unique_names(cls, sources: list[SourceConfig]) -> list[SourceConfig]:
        names = [s.name for s in sources]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"source names must be unique, repeated: {', '.join(dupes)}")
        return sources

    @property
    def database_url(self) -> str:
        return self.store_url or f"sqlite:///{self.state_dir / 'briefing.sqlite'}"


def load_config(path: str | Path, environ: Mapping[str, str] | None = None) -> Config:
    """Read ``path``, apply ``BRIEFING_*`` overrides, validate, resolve paths.

    Raises:
        ConfigError: the file is missing or not YAML, or a key is wrong.
    """
    path = Path(path)
    environ = os.environ if environ is None else environ
    try:
        raw = load_yaml(path.read_text(encoding="utf-8")) or {}
    except OSError as exc:
        raise ConfigError(f"cannot read file: {exc.strerror or exc}", path=str(path)) from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"not valid YAML: {one_line(exc, limit=_WHOLE)}", path=str(path)) from exc
    if not isinstance(raw, dict):
        raise ConfigError("the file must hold a mapping of keys", path=str(path))
    raw, from_env = _apply_env(raw, environ)
    own = len(raw["sources"]) if isinstance(raw.get("sources"), list) else 0
    raw, feeds_path = _with_feeds_file(raw, path)
    try:
        config = Config.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        message = err["msg"].removeprefix("Value error, ") + more
        raise _blame(tuple(err["loc"]), message, str(path), from_env, own, feeds_path) from exc
    return _resolve(config, path.resolve().parent).model_copy(update={"path": path.resolve()})


def key_name(loc: Sequence[str | int]) -> str:
    """``('sources', 0, 'folder')`` → ``sources[0].folder``, as a reader writes it."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _blame(loc: tuple[str | int, ...], message: str, path: str, from_env: dict[tuple[str, ...], str],
           own: int, feeds_path: Path | None) -> ConfigError:
    """The error at ``loc``, named where its value came from: a variable, the feeds file, or the config."""
    for keys, name in from_env.items():
        if tuple(str(p) for p in loc[:len(keys)]) == keys:
            rest = loc[len(keys):]
            return ConfigError(message, path=f"environment variable {name}",
                               key=key_name(loc) if rest else None)
    if feeds_path is not None and len(loc) > 1 and loc[0] == "sources" and isinstance(loc[1], int) \
            and loc[1] >= own:
        return ConfigError(message, path=str(feeds_path), key=key_name(("sources", loc[1] - own, *loc[2:])))
    return ConfigError(message, path=path, key=key_name(loc) or None)


def check_config(config: Config) -> None:
    """What the values point to, before a run starts: the topic file, each folder.

    ``load_config`` checks the values themselves (types, ranges, feed URLs);
    this checks the file system, so a missing folder is one line now rather
    than a failed source at the end of an ingest.

    Raises:
        ConfigError: the first mistake, naming the file and the key.
    """
    from briefing.relevance import load_topic  # the lexicon's own checks (its keys, weights, languages)

    where = str(config.path) if config.path else None
    if not config.topic.is_file():
        problem = "is a folder, not a file" if config.topic.is_dir() else "not found"
        raise ConfigError(f"topic file {problem}: {config.topic}", path=where, key="topic")
    load_topic(config.topic)
    for i, source in enumerate(config.sources):
        folder = source.folder
        if folder is None:
            continue
        key = key_name(("sources", i, "folder"))
        if not folder.exists():
            raise ConfigError(f"folder not found: {folder}", path=where, key=key)
        if not folder.is_dir():
            raise ConfigError(f"not a folder: {folder}", path=where, key=key)
        if not os.access(folder, os.R_OK | os.X_OK):
            raise ConfigError(f"folder not readable: {folder}", path=where, key=key)


def _with_feeds_file(raw: dict[str, Any], path: Path) -> tuple[dict[str, Any], Path | None]:
    """Append the sources listed in ``feeds_file`` (if it exists) to the config's own; and that file."""
    feeds_path = Path(str(raw.get("feeds_file") or "feeds.yaml")).expanduser()
    if not feeds_path.is_absolute():
        feeds_path = path.resolve().parent / feeds_path
    if not feeds_path.exists():
        return raw, None
    try:
        extra = load_yaml(feeds_path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"cannot read feeds file: {one_line(exc, limit=_WHOLE)}", path=str(feeds_path)) from exc
    sources = extra.get("sources", []) if isinstance(extra, dict) else None
    if not isinstance(sources, list):
        raise ConfigError("must hold a list under 'sources'", path=str(feeds_path), key="sources")
    own = raw.get("sources") or []
    if not isinstance(own, list):
        return raw, None
    return {**raw, "sources": [*own, *sources]}, feeds_path


def _apply_env(raw: dict[str, Any], environ: Mapping[str, str]) -> tuple[dict[str, Any], dict[tuple[str, ...], str]]:
    """Overlay ``BRIEFING_A__B=value`` onto ``raw['a']['b']``; also say which keys each variable set.

    Only names whose first part is a config key count: other ``BRIEFING_*``
    variables (the SMTP password, ``BRIEFING_CONFIG``) are not config keys.
    Values starting with ``[`` or ``{`` are YAML (lists, mappings); ``null``
    or empty is None; anything else is a string the model converts, so a
    title such as ``No: weekly`` stays text.
    """
    out = dict(raw)
    from_env: dict[tuple[str, ...], str] = {}
    for name, value in environ.items():
        if not name.startswith(ENV_PREFIX):
            continue
        keys = name[len(ENV_PREFIX):].lower().split("__")
        if keys[0] not in Config.model_fields or keys[0] == "path":
            continue
        try:
            stripped = value.strip()
            if stripped.startswith(("[", "{")):
                parsed: Any = load_yaml(stripped)
            else:
                parsed = None if stripped in ("", "null", "~") else value
        except yaml.YAMLError as exc:
            raise ConfigError(f"not valid YAML: {one_line(exc, limit=_WHOLE)}",
                              path=f"environment variable {name}") from exc
        node = out
        for key in keys[:-1]:
            child = node.get(key)
            node[key] = dict(child) if isinstance(child, dict) else {}
            node = node[key]
        node[keys[-1]] = parsed
        from_env[tuple(keys)] = name
    return out, from_env


def _resolve(config: Config, base: Path) -> Config:
    def fix(p: Path) -> Path:
        p = p.expanduser()
        return p if p.is_absolute() else (base / p).resolve()

    sources = [s.model_copy(update={"folder": fix(s.folder)}) if s.folder else s
               for s in config.sources]
    email = config.email
    if email is not None and email.ca_file is not None:
        email = email.model_copy(update={"ca_file": fix(email.ca_file)})
    return config.model_copy(update={
        "feeds_file": fix(config.feeds_file),
        "state_dir": fix(config.state_dir),
        "archive_dir": fix(config.archive_dir),
        "topic": fix(config.topic),
        "sources": sources,
        "email": email,
    })
