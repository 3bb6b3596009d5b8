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


def build_message(rendered: Rendered, email: EmailConfig) -> EmailMessage:
    msg = EmailMessage()
    msg["Subject"] = rendered.subject
    msg["From"] = email.sender
    msg["To"] = ", ".join(email.to)
    msg["Date"] = formatdate(localtime=False)
    msg["Message-ID"] = make_msgid(domain=email.sender.rpartition("@")[2] or None)
    msg.set_content(rendered.text)
    msg.add_alternative(rendered.html, subtype="html")
    return msg


def send(rendered: Rendered, email: EmailConfig) -> None:
    """Send to every recipient.

    Raises:
        DeliveryError: connection, login or any recipient refused (names whom).
    """
    msg = build_message(rendered, email)
    recipients = ", ".join(email.to)
    password = None
    if email.username:
        password = os.environ.get(email.password_env)
        if password is None:
            raise DeliveryError(recipients, f"username set but ${email.password_env} is empty")
    try:
        if email.security == "ssl":
            smtp: smtplib.SMTP = smtplib.SMTP_SSL(email.smtp_host, email.smtp_port,
                                                  timeout=email.timeout_seconds,
                                                  context=ssl.create_default_context())
        else:
            smtp = smtplib.SMTP(email.smtp_host, email.smtp_port, timeout=email.timeout_seconds)
        with smtp:
            if email.security == "starttls":
                smtp.starttls(context=ssl.create_default_context())
            if email.username and password is not None:
                smtp.login(email.username, password)
            refused = smtp.send_message(msg, from_addr=email.sender, to_addrs=list(email.to))
    except smtplib.SMTPRecipientsRefused as exc:
        raise DeliveryError(", ".join(exc.recipients), "refused by the server") from exc
    except (smtplib.SMTPException, OSError) as exc:
        raise DeliveryError(recipients, f"{type(exc).__name__}: {exc}") from exc
    if refused:
        raise DeliveryError(", ".join(refused), "refused by the server")
