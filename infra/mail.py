"""Outgoing mail: SMTP from MAIL_URL in production, the log in development."""

from __future__ import annotations

import logging
import smtplib
from email.message import EmailMessage
from urllib.parse import unquote, urlsplit

from flask import current_app

log = logging.getLogger(__name__)
SMTP_TIMEOUT = 10


def send_mail(to: str, subject: str, body: str) -> None:
    """Send a plain-text mail, or write it to the log when no MAIL_URL is configured."""
    url = current_app.config["MAIL_URL"]
    if not url:
        log.info("mail to %s: %s\n%s", to, subject, body)
        return
    message = EmailMessage()
    message["From"] = current_app.config["MAIL_FROM"]
    message["To"] = to
    message["Subject"] = subject
    message.set_content(body)
    _deliver(url, message)


def _deliver(url: str, message: EmailMessage) -> None:
    parts = urlsplit(url)
    smtp_class = smtplib.SMTP_SSL if parts.scheme == "smtps" else smtplib.SMTP
    with smtp_class(parts.hostname or "localhost", parts.port or 0, timeout=SMTP_TIMEOUT) as smtp:
        if parts.scheme == "smtp+starttls":
            smtp.starttls()
        if parts.username:
            smtp.login(unquote(parts.username), unquote(parts.password or ""))
        smtp.send_message(message)
