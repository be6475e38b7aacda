"""The training-slot ledger table in moto (what the TrainingQueue component creates)."""

from __future__ import annotations

import boto3
import pytest

from trainops_runtime import settings, training_slots
from trainops_runtime.adapters import slots

TABLE = "trainops-test-training-slots"


def create_table(name: str = TABLE) -> str:
    boto3.client("dynamodb").create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    return name


def held(name: str = TABLE) -> dict[str, str]:
    """Model -> request id of every slot held right now (as the worker would count them)."""
    ledger = slots.read(name)
    return {model: slot.request_id for model, slot in ledger.held(training_slots.utc_now()).items()}


@pytest.fixture
def slot_ledger(moto_aws: None, monkeypatch: pytest.MonkeyPatch) -> str:
    """Creates the ledger table and points handlers at it (TRAINOPS_SLOTS_TABLE)."""
    monkeypatch.setenv(settings.SLOTS_TABLE.name, create_table())
    return TABLE
