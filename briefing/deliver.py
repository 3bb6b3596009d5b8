"""Hand a rendered digest to an SMTP server: one multipart/alternative message.

The password is read from the environment variable the config names, never
from the config file itself.
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
        if email.list_unsubscribe:
            msg["List-Unsubscribe"] = f"<{email.list_unsubscribe}>"
    msg["Date"] = formatdate(localtime=False)
    msg["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or None)
    msg["Auto-Submitted"] = "auto-generated"
    msg.set_content(rendered.text)
    msg.add_alternative(rendered.html, subtype="html")
    return msg


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
