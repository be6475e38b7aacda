"""The `trainops` console script: offline tools over `components/` and the Lambda runtime code."""
