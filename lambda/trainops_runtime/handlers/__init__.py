"""The Lambda handlers: one module per function, each exposing `handler(event, context)`.

They wire Powertools (logging, metrics, batch processing, idempotency) around the domain code
and the adapters; the components name them as `trainops_runtime.handlers.<module>.handler`.
"""
