"""Hand a rendered digest to an SMTP server: one multipart/alternative message.

The password is read from the environment variable the config names, never
from the config file itself.

Mail conventions: ``Auto-Submitted: auto-generated`` (RFC 3834: no vacation
replies or bounces loop back to a robot); ``List-Unsubscribe`` when configured,
with RFC 8058's ``List-Unsubscribe-Post: List-Unsubscribe=One-Click`` when it
holds an https URL (a mail client's unsubscribe button then POSTs to it, no
mailbox needed; the receiving providers honour it on DKIM-signed mail, which
is the relaying server's part); ``Reply-To`` when one is configured.
"""

from __future__ import annotations

import os
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from briefing.config import EmailConfig
from briefing.exceptions import DeliveryError
from briefing.render import Rendered


def build_message(rendered: Rendered, email: EmailConfig | None) -> EmailMessage:
    """multipart/alternative: the text part first, then HTML (clients show the last they can).

    Without an email config the message is still built, for the archive's ``.eml``.
    """
    sender = email.sender if email else "briefing@localhost"
    msg = EmailMessage()
    msg["Subject"] = rendered.subject
    msg["From"] = sender
    if email is not None:
        msg["To"] = sender if email.bcc else ", ".join(email.to)
        for name, value in list_headers(email).items():
            msg[name] = value
    msg["Date"] = formatdate(localtime=False)
    msg["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or None)
    msg["Auto-Submitted"] = "auto-generated"
    msg["X-Auto-Response-Suppress"] = "All"  # Exchange/Outlook heed this, not Auto-Submitted, for out-of-office
    msg.set_content(rendered.text)
    msg.add_alternative(rendered.html, subtype="html")
    return msg


def list_headers(email: EmailConfig) -> dict[str, str]:
    """``List-Unsubscribe`` (+ RFC 8058's one-click ``List-Unsubscribe-Post`` for an https URL) and ``Reply-To``."""
    headers: dict[str, str] = {}
    unsubscribe = (email.list_unsubscribe or "").strip()
    if unsubscribe:
        headers["List-Unsubscribe"] = f"<{unsubscribe}>"
        if unsubscribe.lower().startswith("https://"):  # one-click is for https only (RFC 8058 §3.1)
            headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    if email.reply_to and email.reply_to.strip():
        headers["Reply-To"] = email.reply_to.strip()
    return headers


def send(message: EmailMessage, email: EmailConfig, password: str | None = None) -> None:
    """Hand ``message`` to the SMTP server for every recipient of ``email``.

    ``password`` wins over the environment variable ``email.password_env``
    (the flow may fetch it from a Prefect Secret block). It is never logged.

    Raises:
        DeliveryError: connection, login or any recipient refused (names whom).
    """
    msg = message
    recipients = ", ".join(email.to)
    if email.username and password is None:
        password = os.environ.get(email.password_env)
        if password is None:
            raise DeliveryError(recipients, f"username set but ${email.password_env} is empty")
    context = ssl.create_default_context(cafile=str(email.ca_file) if email.ca_file else None)
    refused_login: int | None = None
    try:
        if email.security == "ssl":
            smtp: smtplib.SMTP = smtplib.SMTP_SSL(email.smtp_host, email.smtp_port,
                                                  timeout=email.timeout_seconds, context=context)
        else:
            smtp = smtplib.SMTP(email.smtp_host, email.smtp_port, timeout=email.timeout_seconds)
        with smtp:
            if email.security == "starttls":
                smtp.starttls(context=context)
            if email.username and password is not None:
                smtp.login(email.username, password)
            refused = smtp.send_message(msg, from_addr=email.sender, to_addrs=list(email.to))
    except smtplib.SMTPRecipientsRefused as exc:
        raise DeliveryError(", ".join(exc.recipients), "refused by the server") from exc
    except smtplib.SMTPAuthenticationError as exc:
        refused_login = exc.smtp_code  # raised below, outside this block: the server's reply (which may echo
        # the credentials) must not ride along as __context__ into logs or Prefect's pickled results
    except (smtplib.SMTPException, OSError) as exc:
        raise DeliveryError(recipients, f"{type(exc).__name__}: {exc}") from exc
    if refused_login is not None:
        raise DeliveryError(recipients, f"login refused for {email.username} ({refused_login})")
    if refused:
        raise DeliveryError(", ".join(refused), "refused by the server")
