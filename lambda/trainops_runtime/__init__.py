"""trainops Lambda runtime: handlers and the domain code they share.

Packaged by `components.platform.lambda_function.PythonFunction` from `lambda/` as-is;
Powertools comes from AWS's published layer and boto3 from the Lambda runtime, so nothing is
vendored here.
Handler modules expose `handler(event, context)` and create AWS clients lazily (see `clients`),
so tests can start moto before any client exists.
"""
