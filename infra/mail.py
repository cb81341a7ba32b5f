"""Outgoing mail, sent in the background: SMTP from MAIL_URL in production, the log otherwise.

A request only puts the message on a bounded in-process queue: it never waits on SMTP, so
an answer cannot tell whether a mail was sent, and a slow, refusing or hung mail server
costs the request nothing. One daemon thread per process delivers, retrying failures with
doubling delays; every failure is logged. A clean shutdown (atexit: gunicorn workers exit
through it) waits up to MAIL_SHUTDOWN_WAIT seconds for the queue to drain. A full queue
drops the new message with an error in the log and a count, rather than block a request.
"""

from __future__ import annotations

import atexit
import logging
import os
import queue
import smtplib
import threading
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any
from urllib.parse import unquote, urlsplit

from flask import Flask, current_app

log = logging.getLogger(__name__)
MAX_RETRY_DELAY = 300.0  # seconds: the doubling delays stop growing here
_EXTENSION = "mail_outbox"
_outbox_lock = threading.Lock()


@dataclass(frozen=True)
class MailSettings:
    """Where and how mail goes, read once from the app's configuration."""

    url: str
    sender: str
    timeout: float
    attempts: int
    retry_delay: float
    queue_size: int
    shutdown_wait: float

    @classmethod
    def from_config(cls, config: Any) -> MailSettings:
        """The settings of an app's configuration."""
        return cls(
            url=config["MAIL_URL"],
            sender=config["MAIL_FROM"],
            timeout=config["MAIL_TIMEOUT"],
            attempts=max(1, config["MAIL_ATTEMPTS"]),
            retry_delay=config["MAIL_RETRY_DELAY"],
            queue_size=config["MAIL_QUEUE_SIZE"],
            shutdown_wait=config["MAIL_SHUTDOWN_WAIT"],
        )


class Outbox:
    """A bounded queue of messages and the thread that delivers them."""

    def __init__(self, settings: MailSettings) -> None:
        self.settings = settings
        self.pid = os.getpid()
        self.sent = self.failed = self.dropped = 0
        self._queue: queue.Queue[EmailMessage] = queue.Queue(settings.queue_size)
        self._changed = threading.Condition()
        self._pending = 0  # queued or being delivered
        self._closing = threading.Event()
        self._thread: threading.Thread | None = None

    def submit(self, message: EmailMessage) -> bool:
        """Queue a message for delivery without waiting; False (logged) if the queue is full."""
        with self._changed:
            self._start()
            try:
                self._queue.put_nowait(message)
            except queue.Full:
                self.dropped += 1
                log.error(
                    "mail queue full: dropped mail to %s (%d dropped)", message["To"], self.dropped
                )
                return False
            self._pending += 1
        return True

    def flush(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds until every queued message was handled."""
        with self._changed:
            return self._changed.wait_for(lambda: self._pending == 0, timeout)

    def close(self) -> None:
        """At exit: one last attempt for each message, waiting a bounded time for them all."""
        self._closing.set()
        if not self.flush(self.settings.shutdown_wait):
            with self._changed:
                log.error("mail: %d message(s) not delivered at shutdown", self._pending)

    def _start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="mail", daemon=True)
            self._thread.start()
            atexit.register(self.close)

    def _run(self) -> None:
        while True:
            message = self._queue.get()
            try:
                self._deliver(message)
            except Exception:  # a bug in one message must not stop every later mail
                log.exception("mail to %s: unexpected error, not sent", message["To"])
            finally:
                with self._changed:
                    self._pending -= 1
                    self._changed.notify_all()

    def _deliver(self, message: EmailMessage) -> None:
        """Try a message up to MAIL_ATTEMPTS times, waiting twice as long after each failure.

        Once the process is closing, the wait is cut short for one last attempt, so the
        shutdown stays bounded.
        """
        delay, last = self.settings.retry_delay, False
        for attempt in range(1, self.settings.attempts + 1):
            try:
                transmit(self.settings, message)
            except (smtplib.SMTPException, OSError) as error:
                if last or attempt == self.settings.attempts:
                    self.failed += 1
                    log.error("mail to %s not sent, given up: %r", message["To"], error)
                    return
                log.warning(
                    "mail to %s failed (attempt %d), retrying: %r", message["To"], attempt, error
                )
                last = self._closing.wait(min(delay, MAX_RETRY_DELAY))
                delay *= 2
            else:
                self.sent += 1
                return


def outbox(app: Flask | None = None) -> Outbox:
    """The app's outbox in this process (a forked worker makes its own)."""
    app = current_app if app is None else app
    with _outbox_lock:
        box = app.extensions.get(_EXTENSION)
        if not isinstance(box, Outbox) or box.pid != os.getpid():
            box = app.extensions[_EXTENSION] = Outbox(MailSettings.from_config(app.config))
        return box


def send_mail(to: str, subject: str, body: str) -> None:
    """Queue a plain-text mail; it is sent (or, without MAIL_URL, logged) in the background."""
    box = outbox()
    message = EmailMessage()
    message["From"] = box.settings.sender
    message["To"] = to
    message["Subject"] = subject
    message.set_content(body)
    box.submit(message)


def transmit(settings: MailSettings, message: EmailMessage) -> None:
    """Hand one message to the SMTP server of MAIL_URL (or the log); raise if it refuses."""
    if not settings.url:
        log.info("mail to %s: %s\n%s", message["To"], message["Subject"], message.get_content())
        return
    parts = urlsplit(settings.url)
    smtp_class = smtplib.SMTP_SSL if parts.scheme == "smtps" else smtplib.SMTP
    host, port = parts.hostname or "localhost", parts.port or 0
    with smtp_class(host, port, timeout=settings.timeout) as smtp:
        if parts.scheme == "smtp+starttls":
            smtp.starttls()
        if parts.username:
            smtp.login(unquote(parts.username), unquote(parts.password or ""))
        smtp.send_message(message)
