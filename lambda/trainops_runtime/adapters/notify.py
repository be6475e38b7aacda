"""Human notifications (SNS) for things people asked to hear about, e.g. a retraining started.

The topic ARN comes from the handler's settings; none means the stack chose no notifications,
which is not an error.
"""

from __future__ import annotations

from botocore.exceptions import BotoCoreError, ClientError

from trainops_runtime.adapters import clients
from trainops_runtime.errors import error_code
from trainops_runtime.observability import Log

MAX_SUBJECT = 100


def notify(topic_arn: str | None, subject: str, message: str) -> str | None:
    """Publishes to ``topic_arn``; returns the message id (None when there is no topic)."""
    if not topic_arn:
        return None
    response = clients.client("sns").publish(
        TopicArn=topic_arn, Subject=subject[:MAX_SUBJECT], Message=message
    )
    return str(response["MessageId"])


def alert(topic_arn: str | None, subject: str, message: str, *, log: Log) -> None:
    """An alert about something already recorded (a refused run): a failed publish is logged,
    not raised, because raising would redo what was recorded (a queued message would be
    delivered and dead-lettered again)."""
    try:
        notify(topic_arn, subject, message)
    except (ClientError, BotoCoreError) as error:
        log.warning(
            "could not send the alert", extra={"code": error_code(error), "subject": subject}
        )
