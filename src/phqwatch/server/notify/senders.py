"""Sending one notice: a signed webhook POST (httpx) or an e-mail (smtplib). No message text, no name.

What leaves the service is only what `Notice` holds: the delivery id, the event and escalation level, the
alert's opaque id, kind, severity and status, and a link to the dashboard. A clinician follows the link and
signs in to see anything more.
"""

from __future__ import annotations

import json
import smtplib
import time
from dataclasses import asdict, dataclass
from email.message import EmailMessage

import httpx

from phqwatch.config import Settings
from phqwatch.errors import PhqwatchError
from phqwatch.server.notify.signing import DELIVERY_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, sign


class DeliveryError(PhqwatchError):
    """A notification could not be delivered this time (it is retried)."""


@dataclass(frozen=True)
class Notice:
    """Everything a notification says (ids and grades only)."""

    delivery_id: str
    event: str  # "opened" | "escalated:<level>"
    level: int
    alert_id: int
    kind: str
    severity: str
    status: str
    created_at: str
    url: str


def dashboard_url(settings: Settings, alert_id: int) -> str:
    """The dashboard link of an alert: the caseload filtered to patients with open alerts."""
    return f"{settings.public_base_url.rstrip('/')}/caseload?alerts=1#alert-{alert_id}"


def webhook_body(notice: Notice) -> bytes:
    """The JSON body; the same bytes on every retry of one delivery."""
    d = asdict(notice)
    body = {
        "delivery_id": d.pop("delivery_id"),
        "event": d.pop("event"),
        "level": d.pop("level"),
        "alert": {"id": d.pop("alert_id"), **d},
    }
    return json.dumps(body, sort_keys=True, separators=(",", ":")).encode("utf-8")


def send_webhook(url: str, secret: str, notice: Notice, *, timeout_s: float, now: float | None = None) -> None:
    """POST the signed notice; any answer but 2xx (or no answer) raises DeliveryError."""
    body = webhook_body(notice)
    ts = int(time.time() if now is None else now)
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "phqwatch-notify",
        DELIVERY_HEADER: notice.delivery_id,
        TIMESTAMP_HEADER: str(ts),
        SIGNATURE_HEADER: sign(secret, ts, body),
    }
    try:
        r = httpx.post(url, content=body, headers=headers, timeout=timeout_s, follow_redirects=False)
    except httpx.HTTPError as exc:
        raise DeliveryError(f"webhook not reached: {type(exc).__name__}") from exc
    if not 200 <= r.status_code < 300:
        raise DeliveryError(f"webhook answered HTTP {r.status_code}")


def email_message(settings: Settings, to: str, notice: Notice) -> EmailMessage:
    """The e-mail: severity, alert kind, opaque alert id and the dashboard link; nothing else."""
    what = "Escalated: " if notice.level > 0 else ""
    m = EmailMessage()
    m["From"] = settings.smtp_from
    m["To"] = to
    m["Subject"] = f"[phqwatch] {what}{notice.severity} {notice.kind} alert {notice.alert_id}"
    m["Message-ID"] = f"<{notice.delivery_id}@phqwatch>"
    m[DELIVERY_HEADER] = notice.delivery_id
    lines = [
        f"{what}An alert of severity {notice.severity} ({notice.kind}) needs attention.",
        f"Alert: {notice.alert_id}" + (f" (escalation level {notice.level})" if notice.level else ""),
        "",
        f"Open the dashboard and sign in to see it: {notice.url}",
        "",
        "This e-mail carries no clinical content by design.",
    ]
    m.set_content("\n".join(lines))
    return m


def send_email(settings: Settings, to: str, notice: Notice) -> None:
    """Send over SMTP (STARTTLS and login when configured); any refusal raises DeliveryError."""
    if not settings.smtp_host:
        raise DeliveryError(
            "an e-mail channel is configured but PHQWATCH_SMTP_HOST is not set",
            fix="Set PHQWATCH_SMTP_HOST (and port, credentials) or remove the e-mail channel.",
        )
    msg = email_message(settings, to, notice)
    try:
        with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=settings.notify_timeout_s) as smtp:
            if settings.smtp_starttls:
                smtp.starttls()
            if settings.smtp_username and settings.smtp_password is not None:
                smtp.login(settings.smtp_username, settings.smtp_password.get_secret_value())
            smtp.send_message(msg)
    except (smtplib.SMTPException, OSError) as exc:
        code = getattr(exc, "smtp_code", None)
        raise DeliveryError(f"SMTP delivery failed: {type(exc).__name__}" + (f" {code}" if code else "")) from exc
