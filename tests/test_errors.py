"""Typed errors where they belong: what is not a feed is a ParseError, what cannot be fetched a FetchError,
a Prefect server that does not start a ServerError (exit 1), and the texts users see have no doubled prefix."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import free_port

from briefing.config import FetchConfig, SourceConfig, load_config
from briefing.exceptions import ConfigError, FetchError, ParseError, ServerError
from briefing.sources.feed import Fetcher, decode_response, fetch_all, parse_feed
from briefing.sources.folder import FolderSource

FAST = FetchConfig(retries=0, backoff=0, deadline=3, read_timeout=2, connect_timeout=1, teaser_words=0)
URL = "http://feeds.example/feed"
RSS_ITEM = '<rss version="2.0"><channel><item><title>{title}</title><link>{link}</link></item></channel></rss>'


@pytest.mark.parametrize(("body", "content_type", "message"), [
    (b"", None, "not a feed: no RSS, Atom or JSON Feed root element"),
    (b"\x89PNG\r\n\x1a\n" + bytes(range(256)), "application/rss+xml",
     "not a feed: binary file (a PNG image), not text"),
    (b'{"version": "https://jsonfeed.org/version/1.1", "items": 3}', None,
     "not a feed: JSON Feed 'items' is not a list"),
    (b'{"title": "no version"}', "application/feed+json", "not a feed: JSON without a jsonfeed.org version"),
    (b'{"version": "https://jsonfeed.org/version/1.1", "items": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", None,
     "not a feed: JSON nested too deeply"),
    (RSS_ITEM.format(title="x", link="http://[oops/a").encode(), "application/rss+xml", "Invalid IPv6 URL"),
])
def test_what_is_not_a_feed_is_a_parse_error(body: bytes, content_type: str | None, message: str) -> None:
    """Named by the URL, the reason as its message; still a ValueError for callers that catch parsers' errors."""
    with pytest.raises(ParseError) as info:
        parse_feed(body, URL, content_type)
    assert (info.value.source, info.value.message) == (URL, message)
    assert str(info.value) == f"{URL}: {message}"
    assert isinstance(info.value, ValueError)


def test_invalid_json_is_a_parse_error_on_one_line() -> None:
    with pytest.raises(ParseError) as info:
        parse_feed(b'{"version":\n\n  oops', URL)
    assert info.value.message.startswith("not a feed: invalid JSON (Expecting value: line 3 column 3")
    assert "\n" not in info.value.message


def test_a_feed_that_is_not_one_gives_the_reason_without_the_url(httpserver) -> None:
    """The outcome's error is the ParseError's message: the source is named beside it, not inside it twice."""
    httpserver.expect_request("/page").respond_with_data("<html><body><p>Hello</p></body></html>",
                                                         content_type="text/html")
    httpserver.expect_request("/list").respond_with_data(
        '{"version": "https://jsonfeed.org/version/1.1", "items": "all"}', content_type="application/feed+json")
    sources = [SourceConfig(name="page", feed=httpserver.url_for("/page")),
               SourceConfig(name="list", feed=httpserver.url_for("/list"))]
    page, listing = fetch_all(sources, {}, FAST)
    assert page.error is not None and page.error.startswith("not a feed: ") and "http" not in page.error
    assert listing.error == "not a feed: JSON Feed 'items' is not a list"
    assert (page.items, listing.items) == ((), ())


def test_what_cannot_be_fetched_is_a_fetch_error() -> None:
    """A closed port, a file URL: FetchError naming the URL; the source's outcome holds only the reason."""
    port = free_port()
    dead, local = f"http://127.0.0.1:{port}/feed.xml", "file:///etc/hostname"

    async def get(url: str) -> FetchError:
        async with Fetcher(FAST) as fetcher:
            with pytest.raises(FetchError) as info:
                await fetcher.get(url)
        return info.value

    refused = asyncio.run(get(dead))
    assert refused.source == dead and refused.message.startswith("ConnectError: ")
    assert not isinstance(refused, ParseError)
    not_http = asyncio.run(get(local))
    assert (not_http.source, not_http.message, str(not_http)) == (local, "not an http(s) URL",
                                                                  f"{local}: not an http(s) URL")
    [outcome] = fetch_all([SourceConfig(name="dead", feed=dead)], {}, FAST)
    assert outcome.error is not None and outcome.error.startswith("ConnectError: ") and dead not in outcome.error


def test_one_decoding_for_feeds_and_pages() -> None:
    """Valid UTF-8 is UTF-8 whatever the label; else the document's own declaration beats the server's."""
    russian = "Переговоры в Пекине о газопроводе «Сила Сибири 2» продолжатся на следующей неделе в Москве."
    feed = ('<?xml version="1.0" encoding="windows-1251"?>'
            + RSS_ITEM.format(title=russian, link="http://x/a")).encode("cp1251")
    assert russian in decode_response(feed, URL, "application/xml; charset=iso-8859-1")
    assert decode_response(russian.encode(), URL, "text/html; charset=windows-1251") == russian
    [entry] = parse_feed(feed, URL, "application/rss+xml; charset=iso-8859-1")
    assert entry.title == russian


def test_a_folder_file_a_decoder_chokes_on_is_one_folded_line(tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    import briefing.sources.folder as folder

    (tmp_path / "a.txt").write_text("Gas talks in Beijing went on for a second day.", encoding="utf-8")

    def choke(data: bytes, location: str, declared: tuple[str, ...] = ()) -> str:
        raise LookupError("codec\n   registry\tbroke " + "x" * 400)

    monkeypatch.setattr(folder, "decode", choke)
    outcome = FolderSource("inbox", tmp_path).fetch()
    [(where, reason)] = outcome.skipped
    assert where == str(tmp_path / "a.txt")
    assert reason == "unreadable: LookupError: " + ("codec registry broke " + "x" * 400)[:300]


def test_a_config_error_keeps_the_whole_reason(tmp_path: Path) -> None:
    """Folded on one line but never cut: a long path in the reason is the thing the user must see."""
    deep = tmp_path.joinpath(*(["a-folder-with-a-rather-long-name"] * 12))
    (deep / "feeds.yaml").mkdir(parents=True)
    config = tmp_path / "briefing.yaml"
    config.write_text(f"feeds_file: {deep / 'feeds.yaml'}\nsources:\n  - {{name: a, folder: x}}\n", encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_config(config, environ={})
    assert len(info.value.message) > 400 and info.value.message.endswith(f"{deep / 'feeds.yaml'}'")
    assert info.value.message.startswith("cannot read feeds file: [Errno 21] Is a directory")


@pytest.mark.parametrize(("script", "reason"), [
    ("echo 'cannot bind: address in use'; exit 3",
     "did not start on port {port} (log {log}): cannot bind: address in use"),
    ("exec sleep 60", "did not answer on http://127.0.0.1:{port}/api within 1 s"),
])
def test_a_prefect_server_that_does_not_start_is_a_server_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                script: str, reason: str) -> None:
    """An executable in the place of `prefect` that dies, or never answers: ServerError, not ConfigError."""
    import shutil

    from flows.deployments import local_server

    fake = tmp_path / "prefect"
    fake.write_text(f"#!/bin/sh\n{script}\n", encoding="utf-8")
    fake.chmod(0o755)
    monkeypatch.setattr(shutil, "which", lambda *a, **k: str(fake))
    port, log = free_port(), tmp_path / "server.log"
    with pytest.raises(ServerError) as info:
        with local_server(port, log, timeout=1):
            pass
    assert not isinstance(info.value, ConfigError)
    assert str(info.value) == "the Prefect server " + reason.format(port=port, log=log)


def _occupied_port() -> tuple[socket.socket, int]:
    """A port something that is not Prefect listens on (it never answers /api/health)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    return sock, int(sock.getsockname()[1])


def test_serve_without_a_server_exits_1_in_one_line(tmp_path: Path) -> None:
    """Not a config error (exit 2): the config is fine, the server is not."""
    (tmp_path / "inbox").mkdir()
    (tmp_path / "briefing.yaml").write_text("sources:\n  - {name: inbox, folder: inbox}\n", encoding="utf-8")
    env = {**{k: v for k, v in os.environ.items() if not k.startswith(("BRIEFING_", "PREFECT_API_URL"))},
           "PREFECT_HOME": str(tmp_path / "prefect")}
    sock, port = _occupied_port()
    with sock:
        proc = subprocess.run([str(Path(sys.executable).parent / "briefing"), "serve", "--config", "briefing.yaml",
                               "--port", str(port)], capture_output=True, text=True, cwd=tmp_path, env=env,
                              timeout=300)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert lines[0].startswith(f"error: the Prefect server did not start on port {port} (log ")
    assert "config error" not in lines[0]


def test_a_temporary_server_that_does_not_start_is_a_server_error(tmp_path: Path) -> None:
    """In a process of its own: Prefect's server objects are shared per process, and stopping the failed
    one there would stop the session's server under every later flow test."""
    code = "\n".join([
        "import os",
        "from briefing.exceptions import ServerError",
        "from flows.server import temporary_server",
        "try:",
        "    with temporary_server():",
        "        print('started')",
        "except ServerError as exc:",
        "    print(type(exc).__name__, exc)",
        "print('PREFECT_API_URL', os.environ.get('PREFECT_API_URL'))",
    ])
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env |= {"PREFECT_HOME": str(tmp_path), "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "0"}
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=180,
                          cwd=Path(__file__).resolve().parents[1])
    lines = proc.stdout.splitlines()
    assert lines and lines[0].startswith("ServerError the temporary Prefect server did not start: Timed out"), \
        proc.stdout + proc.stderr
    assert lines[-1] == "PREFECT_API_URL None"
