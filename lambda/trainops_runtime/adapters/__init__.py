"""Adapters to AWS: the only modules that call AWS APIs (DynamoDB: the event store, read model
and slot ledger; SQS: the request queue; SageMaker: starting and listing executions; SNS: notices;
S3: data freshness), through the lazily created clients of `clients`.
"""
