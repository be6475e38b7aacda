"""A stand-in for the Lambda context object, for calling decorated handlers directly."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class LambdaContext:
    function_name: str = "trainops-test-function"
    function_version: str = "$LATEST"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = (
        "arn:aws:lambda:us-east-1:123456789012:function:trainops-test-function"
    )
    aws_request_id: str = "00000000-0000-0000-0000-000000000000"
    log_group_name: str = "/aws/lambda/trainops-test-function"
    log_stream_name: str = "2026/11/22/[$LATEST]0"

    def get_remaining_time_in_millis(self) -> int:
        return 30_000
