"""The quality ledger on moto: one item per model, written only on the version read."""

from __future__ import annotations

import boto3
import pytest

from trainops_runtime.adapters import quality_ledger
from trainops_runtime.quality_breaker import LedgerItem

TABLE = "trainops-test-quality-ledger"


def create_table(name: str = TABLE) -> str:
    """The table as the infra creates it: partition key `model` (S)."""
    boto3.client("dynamodb").create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "model", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "model", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    return name


@pytest.fixture
def table(moto_aws: None) -> str:
    return create_table()


def test_a_model_without_an_item_reads_none(table: str) -> None:
    assert quality_ledger.read(table, "churn") is None


def test_an_item_is_written_once_per_version(table: str) -> None:
    first = LedgerItem("churn", 1, 1_790_000_000, "2026-09-21", 1, "s-1")
    assert quality_ledger.save(table, first, expected_version=0)
    assert quality_ledger.read(table, "churn") == first
    # a second writer that also read "no item" loses
    assert not quality_ledger.save(table, first, expected_version=0)
    tripped = LedgerItem(
        "churn", 2, 1_790_000_000, "2026-09-21", 1, "s-1", "2026-09-21", "s-2", alert_sent=False
    )
    assert quality_ledger.save(table, tripped, expected_version=1)
    assert quality_ledger.read(table, "churn") == tripped
    # a writer that read version 1 loses now
    assert not quality_ledger.save(table, first, expected_version=1)
    assert quality_ledger.read(table, "churn") == tripped
    item = boto3.client("dynamodb").get_item(TableName=table, Key={"model": {"S": "churn"}})["Item"]
    assert item == {
        "model": {"S": "churn"},
        "version": {"N": "2"},
        "lastAcceptedAt": {"N": "1790000000"},
        "day": {"S": "2026-09-21"},
        "count": {"N": "1"},
        "lastSignalId": {"S": "s-1"},
        "alertedDay": {"S": "2026-09-21"},
        "alertSignalId": {"S": "s-2"},
        "alertSent": {"BOOL": False},
    }
    sent = LedgerItem(
        "churn", 3, 1_790_000_000, "2026-09-21", 1, "s-1", "2026-09-21", "s-2", alert_sent=True
    )
    assert quality_ledger.save(table, sent, expected_version=2)
    assert quality_ledger.read(table, "churn") == sent


def test_models_have_their_own_items(table: str) -> None:
    assert quality_ledger.save(table, LedgerItem("churn", 1, 1, "d", 1, "a"), expected_version=0)
    assert quality_ledger.save(table, LedgerItem("fraud", 1, 2, "d", 1, "b"), expected_version=0)
    churn, fraud = (quality_ledger.read(table, m) for m in ("churn", "fraud"))
    assert churn is not None
    assert fraud is not None
    assert (churn.last_signal_id, fraud.last_signal_id) == ("a", "b")
