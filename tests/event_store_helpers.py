"""The event store and read model tables in moto, shaped as TrainingEventStore creates them."""

from __future__ import annotations

from typing import Any

import boto3

EVENTS = "trainops-test-events"
READ_MODEL = "trainops-test-read-model"


def create_tables(events: str = EVENTS, read_model: str = READ_MODEL) -> None:
    dynamodb = boto3.client("dynamodb")
    dynamodb.create_table(
        TableName=events,
        BillingMode="PAY_PER_REQUEST",
        KeySchema=[
            {"AttributeName": "stream", "KeyType": "HASH"},
            {"AttributeName": "version", "KeyType": "RANGE"},
        ],
        AttributeDefinitions=[
            {"AttributeName": "stream", "AttributeType": "S"},
            {"AttributeName": "version", "AttributeType": "N"},
        ],
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"},
    )
    dynamodb.create_table(
        TableName=read_model,
        BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
    )


def stream_records() -> list[dict[str, Any]]:
    """The events table's changes as a DynamoDB-stream Lambda event's Records (INSERTs).

    moto's DynamoDB Streams API does not answer this botocore version ("Not yet implemented"),
    so the records are built from the table in the documented stream-record shape, one INSERT
    per item, in write order (stream, then version).
    """
    dynamodb = boto3.client("dynamodb")
    items = dynamodb.scan(TableName=EVENTS)["Items"]
    items.sort(key=lambda item: (item["stream"]["S"], int(item["version"]["N"])))
    return [
        {
            "eventID": f"event-{index}",
            "eventName": "INSERT",
            "eventSource": "aws:dynamodb",
            "awsRegion": "us-east-1",
            "dynamodb": {
                "Keys": {"stream": item["stream"], "version": item["version"]},
                "NewImage": item,
                "SequenceNumber": f"{100000 + index}",
                "StreamViewType": "NEW_IMAGE",
            },
            "eventSourceARN": f"arn:aws:dynamodb:us-east-1:123456789012:table/{EVENTS}/stream/2026-11-22T00:00:00.000",
        }
        for index, item in enumerate(items)
    ]
