"""Human notifications (SNS) for things people asked to hear about, e.g. a retraining started.

The topic ARN comes from the handler's settings; none means the stack chose no notifications,
which is not an error.
"""

from __future__ import annotations

from trainops_runtime.adapters import clients

MAX_SUBJECT = 100


def notify(topic_arn: str | None, subject: str, message: str) -> str | None:
    """Publishes to ``topic_arn``; returns the message id (None when there is no topic)."""
    if not topic_arn:
        return None
    response = clients.client("sns").publish(
        TopicArn=topic_arn, Subject=subject[:MAX_SUBJECT], Message=message
    )
    return str(response["MessageId"])
