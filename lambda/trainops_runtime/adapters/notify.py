"""Human notifications (SNS) for things people asked to hear about, e.g. a retraining started.

The topic ARN comes from an environment variable the component sets; no variable means the
stack chose no notifications, which is not an error.
"""

from __future__ import annotations

from trainops_runtime.adapters import clients
from trainops_runtime.settings import Variable

MAX_SUBJECT = 100


def notify(topic: Variable, subject: str, message: str) -> str | None:
    """Publishes to the topic ``topic`` names; returns the message id (None if unset)."""
    topic_arn = topic.read()
    if not topic_arn:
        return None
    response = clients.client("sns").publish(
        TopicArn=topic_arn, Subject=subject[:MAX_SUBJECT], Message=message
    )
    return str(response["MessageId"])
