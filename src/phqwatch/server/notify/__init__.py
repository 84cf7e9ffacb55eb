"""Alert notifications: channels (signed webhooks, e-mail), first notices, the escalation chain.

`dispatch` decides who is told what and when and runs the "notify" jobs; `senders` talks to webhooks and
SMTP servers; `signing` is the webhook signature a receiver verifies.
"""

from phqwatch.server.notify.dispatch import escalate_due, first_notices, notify_alert, run_notify_job, tick
from phqwatch.server.notify.senders import DeliveryError, Notice
from phqwatch.server.notify.signing import sign, verify

__all__ = [
    "DeliveryError",
    "Notice",
    "escalate_due",
    "first_notices",
    "notify_alert",
    "run_notify_job",
    "sign",
    "tick",
    "verify",
]
