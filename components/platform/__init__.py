"""The platform tier: building blocks every feature uses (alarms, buckets, queues, topics,
Lambda functions, IAM, names and tags), the stack's shared resources (Foundation: key, buckets;
the training-slot ledger) and what all features know of SageMaker (`sagemaker`).

Nothing here imports a feature package: imports only go down, from a feature to this tier.
"""
