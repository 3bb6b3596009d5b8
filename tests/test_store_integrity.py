"""A store that cannot be trusted is refused, named and left as it is; an older one is upgraded.

Damaged files (random bytes, a truncated copy of a real store, a page
overwritten inside it) and a store written by a newer Briefing (a migration
this version does not know) give a ``StorageError`` naming the file; the file
keeps every byte and no new file appears beside it: never a silent reset or
re-create. The CLI reports the same as one line on stderr and exits 1.
"""

from __future__ import annotations

import os
import random
import sqlite3
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import yaml
from conftest import INBOX, TOPIC, make_article
from test_store import WIDE

from briefing.exceptions import StorageError
from briefing.store import MIGRATIONS, Store

UTC = timezone.utc
T0 = datetime(2026, 11, 3, 12, tzinfo=UTC)
FUTURE = "0099_from_a_newer_briefing"


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file in the folder, name → bytes."""
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


@pytest.fixture(scope="module")
def real_store(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """The bytes of a real store: 300 articles of ~2 KB (a few hundred pages) and a ledger row, checkpointed."""
    state = tmp_path_factory.mktemp("real")
    store = Store.open_dir(state)
    words = random.Random(7).choices(["talks", "gas", "Beijing", "Moscow", "pipeline", "trade", "summit"], k=6000)
    store.add_articles([make_article(" ".join(words[i:i + 300]) + f" Number {i}.", location=f"x/{i}",
                                     first_seen=T0 + timedelta(minutes=i)) for i in range(300)])
    store.record_digest(window_start=T0, window_end=T0 + timedelta(days=1), created=T0, delivered=True,
                        archive_path="d.html", stories=3, articles=7)
    store.close()  # the last connection closing checkpoints the WAL into the file and removes it
    assert sorted(p.name for p in state.iterdir()) == ["briefing.sqlite"]
    return (state / "briefing.sqlite").read_bytes()


def damaged(kind: str, real: bytes) -> bytes:
    if kind == "random bytes":
        return random.Random(1).randbytes(64 * 1024)
    if kind == "a text file":
        return b"state_dir: .briefing\narchive_dir: digests\n" * 50
    if kind == "truncated to half":
        return real[:len(real) // 2]
    if kind == "missing its last page":
        return real[:-_page_size(real)]
    raise AssertionError(kind)


def _page_size(db: bytes) -> int:
    return int.from_bytes(db[16:18], "big")  # the header's page size (SQLite's default is 4096)


DAMAGE = ["random bytes", "a text file", "truncated to half", "missing its last page"]


@pytest.mark.parametrize("kind", DAMAGE)
def test_a_damaged_file_is_refused_and_left_untouched(tmp_path: Path, real_store: bytes, kind: str) -> None:
    """Opening fails with one clear line naming the file; afterwards the folder holds exactly the same bytes."""
    state = tmp_path / "state"
    state.mkdir()
    path = state / "briefing.sqlite"
    path.write_bytes(damaged(kind, real_store))
    before = snapshot(state)
    with pytest.raises(StorageError) as info:
        Store.open_dir(state)
    message = str(info.value)
    assert str(path) in message and "damaged or not a SQLite database" in message
    assert "\n" not in message and "sqlalche.me" not in message, "one line, without SQLAlchemy's footer"
    assert snapshot(state) == before, "the file keeps every byte, and nothing is created beside it"


def _root_page(path: Path, table: str) -> int:
    with sqlite3.connect(path) as conn:
        return int(conn.execute("SELECT rootpage FROM sqlite_master WHERE name = ?", (table,)).fetchone()[0])


def test_damage_inside_the_file_is_found_when_that_page_is_read(tmp_path: Path, real_store: bytes) -> None:
    """A garbled articles page: the store opens (its header and ledger are sound), reading articles is a
    StorageError naming the file, other reads still work, and the file is not written to."""
    state = tmp_path / "state"
    state.mkdir()
    path = state / "briefing.sqlite"
    path.write_bytes(real_store)
    page, size = _root_page(path, "articles"), _page_size(real_store)
    data = bytearray(real_store)
    data[(page - 1) * size:page * size] = random.Random(2).randbytes(size)
    path.write_bytes(bytes(data))
    store = Store.open_dir(state)
    try:
        with pytest.raises(StorageError, match="damaged or not a SQLite database") as info:
            store.articles_seen_between(*WIDE)
        assert str(path) in str(info.value)
        assert [d.stories for d in store.digests()] == [3]
    finally:
        store.close()
    assert path.read_bytes() == bytes(data)


def test_a_zero_length_file_is_an_empty_database_and_becomes_a_new_store(tmp_path: Path) -> None:
    """SQLite reads an empty file as an empty database: there is nothing in it to lose, so the store is
    created in it, as in a missing file (e.g. after `touch briefing.sqlite`)."""
    state = tmp_path / "state"
    state.mkdir()
    (state / "briefing.sqlite").touch()
    store = Store.open_dir(state)
    try:
        assert store.count_articles() == 0 and store.digests() == []
        store.add_articles([make_article("Kept.")])
        assert store.count_articles() == 1
    finally:
        store.close()
    assert _applied(state / "briefing.sqlite") == [name for name, _ in MIGRATIONS]


def _applied(path: Path) -> list[str]:
    with sqlite3.connect(path) as conn:
        return [r[0] for r in conn.execute("SELECT name FROM migrations ORDER BY name")]


def _newer(state: Path) -> Path:
    """A store this version made, then opened by a newer Briefing that recorded one more migration."""
    store = Store.open_dir(state)
    store.add_articles([make_article("Written by a newer Briefing.")])
    store.close()
    path = state / "briefing.sqlite"
    conn = sqlite3.connect(path)
    with conn:
        conn.execute("INSERT INTO migrations VALUES (?, '2027-01-01 00:00:00')", (FUTURE,))
    conn.close()  # the last connection: the WAL is checkpointed and removed
    return path


def test_a_store_from_a_newer_briefing_is_refused_untouched(tmp_path: Path) -> None:
    """A migration this version does not know: refused, naming the file, the migration and what to do."""
    state = tmp_path / "state"
    path = _newer(state)
    before = snapshot(state)
    with pytest.raises(StorageError) as info:
        Store.open_dir(state)
    message = str(info.value)
    assert f"store {path} was created by a newer Briefing" in message
    assert FUTURE in message and message.endswith("upgrade Briefing to use it")
    assert snapshot(state) == before


def test_a_newer_server_database_is_refused_and_not_migrated(postgres_url: str) -> None:
    """The same on PostgreSQL: refused, and its migrations table is left as it was."""
    from sqlalchemy import create_engine, text

    Store(postgres_url).close()
    engine = create_engine(postgres_url)
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM migrations WHERE name = :n"), {"n": MIGRATIONS[-1][0]})
        conn.execute(text("INSERT INTO migrations VALUES (:n, now())"), {"n": FUTURE})
    try:
        with pytest.raises(StorageError, match="was created by a newer Briefing"):
            Store(postgres_url)
        with engine.connect() as conn:
            names = sorted(conn.scalars(text("SELECT name FROM migrations")))
    finally:
        engine.dispose()
    assert names == sorted([FUTURE, *(name for name, _ in MIGRATIONS[:-1])]), "no migration applied"


def test_an_older_store_is_upgraded_and_the_migration_recorded(legacy_store: Path) -> None:
    """A store made when 0001 was the only migration: opened, its ledger kept, 0002 applied and recorded once."""
    for _ in range(2):  # the second open finds nothing left to do
        store = Store(f"sqlite:///{legacy_store}")
        try:
            [digest] = store.digests()
            assert (digest.id, digest.kind, digest.stories) == (1, "regular", 4)
        finally:
            store.close()
    with sqlite3.connect(legacy_store) as conn:
        rows = conn.execute("SELECT name, applied FROM migrations ORDER BY name").fetchall()
        columns = {r[1] for r in conn.execute("PRAGMA table_info(digests)")}
        article_columns = {r[1] for r in conn.execute("PRAGMA table_info(articles)")}
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    conn.close()
    assert [name for name, _ in rows] == ["0001_initial", "0002_digest_kinds_and_locks", "0003_article_teasers",
                                          "0004_article_outlets", "0005_article_search",
                                          "0006_article_languages", "0007_article_revisions",
                                          "0008_story_timelines", "0009_article_search_batches"]
    assert rows[0][1] == "2026-11-01 00:00:00", "the old record is kept as it was"
    assert datetime.fromisoformat(rows[1][1]).year >= 2026
    assert "kind" in columns and "locks" in tables and "teaser" in article_columns


# --- the CLI ---------------------------------------------------------------------

def _config(tmp_path: Path) -> Path:
    path = tmp_path / "briefing.yaml"
    path.write_text(yaml.safe_dump({"state_dir": "state", "archive_dir": "archive", "topic": str(TOPIC),
                                    "sources": [{"name": "inbox", "folder": str(INBOX)}]}), encoding="utf-8")
    return path


def _stores(tmp_path: Path, real_store: bytes, store: str) -> tuple[Path, Path]:
    """A config and its state folder, holding a damaged store or a newer one."""
    config = _config(tmp_path)
    state = tmp_path / "state"
    if store == "damaged":
        state.mkdir()
        (state / "briefing.sqlite").write_bytes(damaged("truncated to half", real_store))
    else:
        _newer(state)
    return config, state


def _one_line_naming_the_file(stderr: str, state: Path, store: str) -> None:
    [line] = stderr.splitlines()
    assert line.startswith(f"error: store {'file ' if store == 'damaged' else ''}{state / 'briefing.sqlite'} ")
    assert ("newer Briefing" in line) == (store == "newer")


@pytest.mark.parametrize("store", ["damaged", "newer"])
@pytest.mark.parametrize("command", ["digests", "ingest"])
def test_the_cli_says_so_in_one_line_and_exits_1(tmp_path: Path, real_store: bytes, store: str,
                                                 command: str) -> None:
    """As a process, before any flow starts: `error: ...` naming the file, exit 1, no traceback, file untouched."""
    config, state = _stores(tmp_path, real_store, store)
    before = snapshot(state)
    env = {k: v for k, v in os.environ.items() if not k.startswith("BRIEFING_")}
    proc = subprocess.run([sys.executable, "-m", "briefing.cli", command, "--config", str(config)], env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1, proc.stderr
    assert proc.stdout == ""
    _one_line_naming_the_file(proc.stderr, state, store)
    assert snapshot(state) == before


@pytest.mark.parametrize("store", ["damaged", "newer"])
@pytest.mark.parametrize("command", [["digest"], ["digest", "--resend", "1"], ["digest", "--dry-run"], ["run"]],
                         ids=" ".join)
def test_every_flow_command_checks_the_store_first(tmp_path: Path, real_store: bytes, store: str,
                                                   command: list[str]) -> None:
    """The other flow commands, in this process: the same line and exit 1, and no flow was run (no archive)."""
    from click.testing import CliRunner

    from briefing.cli import main

    config, state = _stores(tmp_path, real_store, store)
    before = snapshot(state)
    result = CliRunner().invoke(main, [*command, "--config", str(config)], catch_exceptions=False)
    assert result.exit_code == 1, result.output
    assert result.stdout == ""
    _one_line_naming_the_file(result.stderr, state, store)
    assert snapshot(state) == before
    assert not (tmp_path / "archive").exists()
