"""Delivery by a real SMTP server on loopback: headers, exactly once, failures, STARTTLS, resend."""

from __future__ import annotations

import logging
import re
import ssl
from email import message_from_bytes, policy
from pathlib import Path

import pytest
import yaml
from conftest import INBOX, TOPIC, Inbox, free_port

from briefing.exceptions import DeliveryError
from briefing.store import Store

pytestmark = pytest.mark.usefixtures("prefect_server")


def config_file(tmp_path: Path, port: int, **email: object) -> str:
    data = {"state_dir": "state", "archive_dir": "archive", "topic": str(TOPIC),
            "sources": [{"name": "inbox", "folder": str(INBOX)}],
            "email": {"sender": "briefing@example.org", "to": ["analyst@example.org", "desk@example.org"],
                      "smtp_host": "127.0.0.1", "smtp_port": port, "security": "none", "retries": 0,
                      "timeout_seconds": 5, **email}}
    path = tmp_path / "briefing.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return str(path)


def test_one_message_with_both_parts_and_headers(tmp_path: Path, smtp_server) -> None:
    """Text then HTML alternatives; Subject with date and count; Date, Message-ID, List-Unsubscribe; Bcc hides
    recipients."""
    from flows.briefing import briefing_flow

    inbox, port = smtp_server()
    result = briefing_flow(config_file(tmp_path, port, bcc=True, list_unsubscribe="mailto:unsub@example.org"))
    assert result.status == "delivered" and len(inbox.messages) == 1
    rcpts, msg = inbox.messages[0]
    assert rcpts == ["analyst@example.org", "desk@example.org"]
    assert msg["To"] == "briefing@example.org", "Bcc: recipients are not in the headers"
    assert msg["Subject"].startswith("Russia–China Relations Digest — ") and msg["Subject"].endswith(
        f"· {result.stories} stories")
    assert msg["Date"] and msg["Message-ID"] and msg["List-Unsubscribe"] == "<mailto:unsub@example.org>"
    assert msg["List-Unsubscribe-Post"] is None, "one-click is for an https address only"
    assert msg["Auto-Submitted"] == "auto-generated" and msg["Reply-To"] is None
    assert msg.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in msg.iter_parts()] == ["text/plain", "text/html"]
    text = msg.get_body(("plain",)).get_content()
    assert max(len(line) for line in text.splitlines() if not UNBREAKABLE.fullmatch(line.strip())) <= 72
    html = msg.get_body(("html",)).get_content()
    assert '<meta name="color-scheme" content="light dark">' in html and "prefers-color-scheme: dark" in html
    eml = result.path.with_suffix(".eml")
    assert message_from_bytes(eml.read_bytes(), policy=policy.default)["Message-ID"] == msg["Message-ID"]


def test_same_window_is_not_sent_twice(tmp_path: Path, smtp_server) -> None:
    """A rerun sends nothing; a backfill of that window is sent only with send=True; --resend sends on purpose."""
    from flows.digest import digest_flow, resend_flow
    from flows.ingest import ingest_flow

    inbox, port = smtp_server()
    config = config_file(tmp_path, port)
    ingest_flow(config)
    first = digest_flow(config)
    assert first.status == "delivered" and digest_flow(config).status == "empty"
    assert len(inbox.messages) == 1
    window = {"since": "2026-11-01", "until": first.window.end}  # a backfill is by publication date
    backfill = digest_flow(config, **window)
    assert backfill.status == "backfill" and backfill.path.name.startswith("backfill-")
    assert len(inbox.messages) == 1, "a backfill is archived, not sent"
    assert digest_flow(config, **window, send=True).status == "delivered"
    assert len(inbox.messages) == 2, "sent on request"
    store = Store.open_dir(tmp_path / "state")
    last = store.last_delivered()
    kinds = sorted(d.kind for d in store.digests())
    store.close()
    assert last is not None and last.id == first.digest_id, "backfills do not move the regular windows"
    assert kinds == ["backfill", "backfill", "regular"]
    assert resend_flow(config, first.digest_id).status == "delivered"
    assert len(inbox.messages) == 3
    assert inbox.messages[0][1]["Message-ID"] == inbox.messages[2][1]["Message-ID"], "the same message again"


UNBREAKABLE = re.compile(r"(\[\d+\] )?\S+")  # one word alone on its line (a URL, the config's path): never split


def test_one_click_unsubscribe_and_reply_to_reach_the_server(smtp_server) -> None:
    """An https List-Unsubscribe gets RFC 8058's one-click header; a configured Reply-To is sent as given."""
    from briefing import deliver
    from briefing.config import EmailConfig
    from briefing.render import Rendered

    inbox, port = smtp_server()
    email = EmailConfig(sender="briefing@example.org", to=["analyst@example.org"], smtp_host="127.0.0.1",
                        smtp_port=port, timeout_seconds=5, list_unsubscribe="https://briefing.example.org/u/abc")
    email = email.model_copy(update={"reply_to": "desk@example.org"})
    deliver.send(deliver.build_message(Rendered("<p>hi</p>", "hi", "Subject"), email), email)
    plain = email.model_copy(update={"list_unsubscribe": "mailto:unsub@example.org", "reply_to": None})
    deliver.send(deliver.build_message(Rendered("<p>hi</p>", "hi", "Subject"), plain), plain)
    [(_, one_click), (_, mailto)] = inbox.messages
    assert one_click["List-Unsubscribe"] == "<https://briefing.example.org/u/abc>"
    assert one_click["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert one_click["Reply-To"] == "desk@example.org" and one_click["Auto-Submitted"] == "auto-generated"
    assert mailto["List-Unsubscribe"] == "<mailto:unsub@example.org>" and mailto["List-Unsubscribe-Post"] is None
    assert mailto["Reply-To"] is None and mailto["Auto-Submitted"] == "auto-generated"


def test_the_run_logs_the_message_size(tmp_path: Path, smtp_server, caplog) -> None:
    """The digest run's log says how big each part of the message is, as sent."""
    from flows.briefing import briefing_flow

    _, port = smtp_server()
    with caplog.at_level(logging.INFO):
        result = briefing_flow(config_file(tmp_path, port))
    assert result.status == "delivered"
    html = result.path.read_bytes()  # the sample digest fits: the archived page is the email's HTML
    [line] = [r.getMessage() for r in caplog.records if r.getMessage().startswith("message size: ")]
    assert re.match(r"message size: HTML (\d+\.\d) KB, text (\d+\.\d) KB \(budget 90 KB / 60 KB\)$", line), line
    assert f"HTML {len(html) / 1000:.1f} KB" in line


class FlakyInbox(Inbox):
    """Refuses the first message with a temporary error, then accepts."""

    def __init__(self) -> None:
        super().__init__()
        self.refused = 0

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        if not self.refused:
            self.refused += 1
            return "451 4.3.0 try again later"
        return await super().handle_DATA(server, session, envelope)


def test_retried_run_redoes_only_the_failed_send(tmp_path: Path, monkeypatch, smtp_server) -> None:
    """A flow retry after a refused send reuses the window, digest, archive and ledger row: one of each."""
    import flows.digest as digest_module
    from briefing import render
    from flows.ingest import ingest_flow

    calls = {"score_articles": 0, "plan_stories": 0, "write_stories": 0, "archive": 0}

    def counted(name, fn):
        def wrapper(*args, **kwargs):
            calls[name] += 1
            return fn(*args, **kwargs)
        return wrapper

    for name in ("score_articles", "plan_stories", "write_stories"):
        monkeypatch.setattr(digest_module, name, counted(name, getattr(digest_module, name)))
    monkeypatch.setattr(render, "archive", counted("archive", render.archive))
    inbox, port = smtp_server(inbox=FlakyInbox())
    config = config_file(tmp_path, port)
    ingest_flow(config)
    result = digest_module.digest_flow.with_options(retries=1, retry_delay_seconds=0)(config)
    assert result.status == "delivered" and inbox.refused == 1 and len(inbox.messages) == 1
    assert calls == {"score_articles": 1, "plan_stories": 1, "write_stories": 2, "archive": 1}, \
        "finished tasks were not redone"
    store = Store.open_dir(tmp_path / "state")
    [record] = store.digests()
    store.close()
    assert record.delivered and record.id == result.digest_id


def test_server_down_then_up_delivers_once(tmp_path: Path, smtp_server) -> None:
    """SMTP down: the run fails loudly and archives; the next run (server up) delivers the digest once."""
    from flows.briefing import briefing_flow

    port = free_port()
    config = config_file(tmp_path, port)
    with pytest.raises(DeliveryError):
        briefing_flow(config)
    assert len(list((tmp_path / "archive").glob("digest-*.html"))) == 1
    inbox, _ = smtp_server(port)
    second = briefing_flow(config)
    third = briefing_flow(config)
    assert second.status == "delivered" and third.status == "empty"
    assert len(inbox.messages) == 1
    assert second.articles == 11, "the window stayed open: the undelivered articles are in this digest"


def test_starttls_with_a_self_signed_certificate(tmp_path: Path, smtp_server) -> None:
    """STARTTLS against a server whose certificate is signed by a CA made in this test (ca_file trusts it)."""
    import trustme

    from briefing import deliver
    from briefing.config import EmailConfig
    from briefing.render import Rendered

    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(server_ctx)
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    inbox, port = smtp_server(tls_context=server_ctx, require_starttls=True)
    email = EmailConfig(sender="b@example.org", to=["a@example.org"], smtp_host="127.0.0.1", smtp_port=port,
                        security="starttls", ca_file=ca_file, timeout_seconds=5)
    message = deliver.build_message(Rendered("<p>hi</p>", "hi", "Subject"), email)
    deliver.send(message, email)
    plain = email.model_copy(update={"security": "none"})
    with pytest.raises(DeliveryError):
        deliver.send(message, plain)  # the server insists on STARTTLS
    untrusted = email.model_copy(update={"ca_file": None})
    with pytest.raises(DeliveryError):
        deliver.send(message, untrusted)  # an unknown CA is refused
    assert len(inbox.messages) == 1
