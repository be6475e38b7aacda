"""The Powertools logger and metrics of every handler: one service name, one namespace.

Kept out of `observability` (whose names the Pulumi program imports for its alarms), so the
program never imports Powertools. Powertools keeps a metrics instance's state per namespace and
a logger's per service, so one shared pair is what each handler had with its own.
"""

from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics

from trainops_runtime import observability

logger = Logger(service=observability.SERVICE)
metrics = Metrics(namespace=observability.METRICS_NAMESPACE, service=observability.SERVICE)
