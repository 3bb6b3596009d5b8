"""The digest run's decisions, without Prefect: which run, which window, and what follows the composed digest."""

from __future__ import annotations

import itertools
from contextlib import closing
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from conftest import NOW, make_article

from briefing.digest import (
    DeliveryPlan,
    RunKind,
    Window,
    archived_message,
    delivered_overlap,
    digest_kind,
    last_delivered_end,
    plan_delivery,
    read_window,
    record_digest,
    run_kind,
    run_window,
)
from briefing.exceptions import ArchiveError, ConfigError, UsageError
from briefing.store import DigestRecord, Store
from briefing.types import Digest

WINDOW = Window(NOW - timedelta(days=1), NOW)
NOTHING_NEW = "nothing new on the topic in this window: no digest made"
ALREADY = ("this window was already delivered as digest #7: not sending it again "
           "(briefing digest --resend 7 sends it on purpose)")
BACKFILLED = f"backfill of {WINDOW.start.isoformat()} – {WINDOW.end.isoformat()} archived at"

EMPTY = DeliveryPlan("empty", made=False)
DRY_RUN = DeliveryPlan("dry-run", render_text=True)
ARCHIVED = DeliveryPlan("archived", publish=True, record_delivered=True,
                        say="no email configured: the archive is the delivery")
DELIVERED = DeliveryPlan("delivered", publish=True, send=True, mark_delivered=True, report_undelivered=True)
BACKFILL = DeliveryPlan("backfill", publish=True, say_archived=BACKFILLED)
BACKFILL_SENT = DeliveryPlan("delivered", publish=True, send=True, mark_delivered=True, say_archived=BACKFILLED)


def plan(kind: RunKind, *, stories: bool = True, send_empty: bool = False, delivered_as: int | None = None,
         email: bool = False, send: bool = False) -> DeliveryPlan:
    return plan_delivery(kind, WINDOW, has_stories=stories, send_empty=send_empty, delivered_as=delivered_as,
                         email=email, send=send, config_path="/etc/briefing.yaml")


@pytest.mark.parametrize(("kind", "asked", "expected"), [
    # empty: only the regular digest says so; a backfill asked to be sent with no email is still just empty
    ("regular", {"stories": False}, DeliveryPlan("empty", made=False, say=NOTHING_NEW)),
    ("regular", {"stories": False, "email": True, "send": True}, DeliveryPlan("empty", made=False, say=NOTHING_NEW)),
    ("backfill", {"stories": False}, EMPTY),
    ("backfill", {"stories": False, "send": True}, EMPTY),
    ("dry-run", {"stories": False}, EMPTY),
    ("dry-run", {"stories": False, "email": True, "send": True}, EMPTY),
    # send_empty: a digest with no stories is made like any other
    ("regular", {"stories": False, "send_empty": True}, ARCHIVED),
    ("backfill", {"stories": False, "send_empty": True}, BACKFILL),
    ("dry-run", {"stories": False, "send_empty": True}, DRY_RUN),
    # already delivered: only a regular run heeds the ledger, whether or not email is configured
    ("regular", {"delivered_as": 7}, DeliveryPlan("already-delivered", digest_id=7, say=ALREADY)),
    ("regular", {"delivered_as": 7, "email": True}, DeliveryPlan("already-delivered", digest_id=7, say=ALREADY)),
    ("backfill", {"delivered_as": 7}, BACKFILL),
    ("backfill", {"delivered_as": 7, "email": True, "send": True}, BACKFILL_SENT),
    ("dry-run", {"delivered_as": 7, "email": True}, DRY_RUN),
    # no email: the archive is the delivery (regular), the backfill is archived, the dry run renders
    ("regular", {}, ARCHIVED),
    ("regular", {"send": True}, ARCHIVED),
    ("backfill", {}, BACKFILL),
    ("dry-run", {}, DRY_RUN),
    ("dry-run", {"send": True}, DRY_RUN),
    # email: the regular digest is sent; a backfill only when asked
    ("regular", {"email": True}, DELIVERED),
    ("regular", {"email": True, "send": True}, DELIVERED),
    ("backfill", {"email": True}, BACKFILL),
    ("backfill", {"email": True, "send": True}, BACKFILL_SENT),
    ("dry-run", {"email": True, "send": True}, DRY_RUN),
], ids=lambda v: "-".join(f"{k}={w}" for k, w in v.items()) or "plain" if isinstance(v, dict) else None)
def test_each_kind_and_situation(kind: RunKind, asked: dict[str, Any], expected: DeliveryPlan) -> None:
    assert plan(kind, **asked) == expected


def test_a_backfill_sent_with_no_email_is_a_config_error_naming_the_key() -> None:
    with pytest.raises(ConfigError) as caught:
        plan("backfill", send=True)
    assert caught.value.key == "email" and caught.value.path == "/etc/briefing.yaml"
    assert caught.value.message == "no email configured: a backfill cannot be sent"


@pytest.mark.parametrize(("kind", "stories", "send_empty", "delivered_as", "email", "send"), list(itertools.product(
    ("regular", "backfill", "dry-run"), (True, False), (True, False), (None, 3), (True, False), (True, False))))
def test_every_plan_keeps_the_delivery_rules(kind: RunKind, stories: bool, send_empty: bool,
                                             delivered_as: int | None, email: bool, send: bool) -> None:
    """Never sent unarchived or unrecorded, marked delivered exactly when sent, a dry run writes nothing."""
    if kind == "backfill" and send and not email and (stories or send_empty):
        with pytest.raises(ConfigError, match="a backfill cannot be sent"):
            plan(kind, stories=stories, send_empty=send_empty, delivered_as=delivered_as, email=email, send=send)
        return
    steps = plan(kind, stories=stories, send_empty=send_empty, delivered_as=delivered_as, email=email, send=send)
    assert steps.mark_delivered == steps.send
    assert not steps.send or (steps.publish and email and not steps.record_delivered)
    assert not steps.record_delivered or (steps.publish and not email)
    assert steps.made == (stories or send_empty)
    assert not (steps.publish and steps.render_text)
    if kind == "dry-run" or not steps.made:
        assert not steps.publish and not steps.send and steps.digest_id is None
    assert steps.render_text == (kind == "dry-run" and steps.made)
    assert (steps.status == "already-delivered") == (kind == "regular" and steps.made and delivered_as is not None)


def test_run_kind_and_digest_kind() -> None:
    """No window asked for: the regular digest; a window: a backfill; a dry run of either writes nothing."""
    assert (digest_kind(None, None), digest_kind(NOW, None), digest_kind(None, NOW)) == ("regular", "backfill",
                                                                                         "backfill")
    assert (run_kind(None, None, False), run_kind(NOW, None, False)) == ("regular", "backfill")
    assert run_kind(None, None, True) == run_kind(None, NOW, True) == "dry-run"


def test_run_window() -> None:
    """The regular window starts at the last delivered end; a backfill's is read in the configured zone."""
    last = NOW - timedelta(hours=5)
    assert run_window(None, None, last, NOW, 2, timezone.utc) == Window(last, NOW)
    assert run_window(None, None, None, NOW, 2, timezone.utc) == Window(NOW - timedelta(days=2), NOW)
    berlin = ZoneInfo("Europe/Berlin")
    window = run_window(datetime(2026, 11, 1), datetime(2026, 11, 2), last, NOW, 2, berlin)
    assert window == Window(datetime(2026, 10, 31, 23, tzinfo=timezone.utc), datetime(2026, 11, 1, 23,
                                                                                       tzinfo=timezone.utc))
    with pytest.raises(ConfigError, match="since/until") as caught:
        run_window(NOW, NOW - timedelta(days=1), None, NOW, 2, timezone.utc)
    assert caught.value.key == "since/until" and "is not before its end" in caught.value.message


def _record(id_: int, archive_path: str | None) -> DigestRecord:
    return DigestRecord(id=id_, window_start=WINDOW.start, window_end=WINDOW.end, created=NOW, delivered=True,
                        archive_path=archive_path, stories=3, articles=9)


def test_archived_message_reads_the_eml_beside_the_archive(tmp_path: Path) -> None:
    html = tmp_path / "digest-1.html"
    html.with_suffix(".eml").write_bytes(b"Subject: hi\r\n\r\nhello\r\n")
    entry, eml, message = archived_message([_record(2, None), _record(1, str(html))], 1)
    assert (entry.id, eml, message) == (1, tmp_path / "digest-1.eml", b"Subject: hi\r\n\r\nhello\r\n")


def test_archived_message_errors(tmp_path: Path) -> None:
    """No such digest, or one never archived: a usage mistake; an .eml gone: an archive error naming it."""
    ledger = [_record(1, str(tmp_path / "digest-1.html")), _record(2, None)]
    for missing in (3, 2):
        with pytest.raises(UsageError) as caught:
            archived_message(ledger, missing)
        assert str(caught.value) == f"no archived digest #{missing} in the ledger"
    with pytest.raises(ArchiveError) as gone:
        archived_message(ledger, 1)
    assert gone.value.path == str(tmp_path / "digest-1.eml")
    assert str(gone.value) == f"archived digest {tmp_path / 'digest-1.eml'}: unreadable: No such file or directory"


def test_the_store_calls_of_a_run(tmp_path: Path) -> None:
    """On a real SQLite store: the window's reads, the ledger row, the overlap check and the next window's start."""
    inside = make_article("Inside the window.", first_seen=NOW - timedelta(hours=2))
    before = make_article("The day before.", first_seen=NOW - timedelta(days=2))
    published = make_article("Published inside, seen later.", first_seen=NOW + timedelta(hours=1),
                             published=NOW - timedelta(hours=3))
    with closing(Store.open_dir(tmp_path)) as store:
        store.add_articles([inside, before, published])
        regular = read_window(store, WINDOW, "regular", 3, [])
        backfill = read_window(store, WINDOW, "backfill", 3, [])
        assert ([a.id for a in regular[0]], [a.id for a in regular[1]]) == ([inside.id], [before.id])
        assert sorted(a.id for a in backfill[0]) == sorted([inside.id, published.id])
        assert last_delivered_end(store) is None and delivered_overlap(store, WINDOW) is None
        digest = Digest("T", WINDOW.start, WINDOW.end, NOW, (), considered=2, relevant=1, duplicates=0)
        first = record_digest(store, digest, tmp_path / "digest-a.html", delivered=False)
        assert delivered_overlap(store, WINDOW) is None, "recorded, not delivered"
        store.mark_delivered(first, NOW)
        assert delivered_overlap(store, WINDOW) == first and last_delivered_end(store) == WINDOW.end
        [row] = store.digests()
        assert (row.archive_path, row.articles, row.stories, row.kind) == (str(tmp_path / "digest-a.html"), 1, 0,
                                                                           "regular")
        later = Window(NOW, NOW + timedelta(days=1))
        assert delivered_overlap(store, later) is None, "the next window does not overlap the delivered one"

