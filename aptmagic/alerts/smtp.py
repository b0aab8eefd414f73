"""Alerts as email, through an SMTP server (smtplib)."""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage

from aptmagic.alerts.base import Alert
from aptmagic.config import Settings


class SmtpChannel:
    name = "email"

    def __init__(self, settings: Settings) -> None:
        self.host = settings.smtp_host
        self.port = settings.smtp_port
        self.security = settings.smtp_security
        self.username = settings.smtp_username
        self.password = settings.smtp_password.get_secret_value() if settings.smtp_password else None
        self.timeout = settings.smtp_timeout_seconds
        self.sender = settings.alert_email_from
        self.recipients = list(settings.alert_email_to)

    def message(self, alert: Alert) -> EmailMessage:
        msg = EmailMessage()
        msg["Subject"] = f"[aptmagic] {alert.subject}"
        msg["From"] = self.sender
        msg["To"] = ", ".join(self.recipients)
        msg["X-Aptmagic-Alert"] = f"{alert.kind} {alert.period}"
        msg.set_content(alert.text)
        return msg

    def send(self, alert: Alert) -> None:
        context = ssl.create_default_context()
        smtp: smtplib.SMTP
        if self.security == "ssl":
            smtp = smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout, context=context)
        else:
            smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        with smtp:
            if self.security == "starttls":
                smtp.starttls(context=context)
            if self.username and self.password is not None:
                smtp.login(self.username, self.password)
            smtp.send_message(self.message(alert))
