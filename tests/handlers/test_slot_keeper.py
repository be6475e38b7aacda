"""slot_keeper on moto (DynamoDB, and SageMaker with tests/sagemaker_sim.py): one sweep."""

from __future__ import annotations

import json
from datetime import timedelta

import boto3
import pytest

from tests.catalog_file import use_catalog
from tests.handlers.slot_helpers import hold
from tests.sagemaker_sim import PipelineSim
from tests.slot_ledger import TABLE, held
from trainops_runtime import catalog as catalog_module
from trainops_runtime import settings, training_slots
from trainops_runtime.adapters import slots
from trainops_runtime.adapters.training import start_training
from trainops_runtime.handlers import slot_keeper
from trainops_runtime.training_request import TrainingRequest

CATALOG = {
    model: {
        "pipelineName": f"trainops-test-{model}",
        "trainingData": f"s3://d/{model}/",
        "maxRuntimeMinutes": 60,
    }
    for model in ("churn", "fraud", "ranker")
}


@pytest.fixture
def sim(pipelines: PipelineSim, slot_ledger: str, monkeypatch: pytest.MonkeyPatch) -> PipelineSim:
    use_catalog(monkeypatch, CATALOG)
    monkeypatch.setenv("TRAINOPS_STACK", "test")
    catalog_module.load.cache_clear()
    for model in CATALOG:
        pipelines.create_pipeline(f"trainops-test-{model}")
    return pipelines


def claim(request: TrainingRequest, minutes_ago: int) -> None:
    hold(request, training_slots.utc_now() - timedelta(minutes=minutes_ago))


def test_one_sweep_frees_lost_slots_keeps_live_ones_and_counts_outsiders(
    sim: PipelineSim, capsys: pytest.CaptureFixture[str]
) -> None:
    # churn: claimed 30 minutes ago, its execution never appeared (the start died)
    claim(TrainingRequest(model="churn", request_id="r-lost", requested_by="t"), 30)
    # fraud: claimed and running
    live = TrainingRequest(model="fraud", request_id="r-live", requested_by="t")
    claim(live, 30)
    start_training(live, catalog_module.load(), trigger="queue")
    # ranker: someone started it in the console
    console = boto3.client("sagemaker").start_pipeline_execution(
        PipelineName="trainops-test-ranker", ClientRequestToken="c" * 32
    )["PipelineExecutionArn"]

    assert slot_keeper.run() == {"slotsFreed": 1, "slotsAdopted": 1, "slotsExtended": 0}
    slot_keeper.metrics.flush_metrics()
    (emf,) = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]
    assert (emf["TrainingSlotsFreed"], emf["TrainingSlotsAdopted"]) == ([1.0], [1.0])
    assert emf["Stack"] == "test"
    assert held() == {"fraud": "r-live", "ranker": ""}
    assert slots.read(TABLE).slots["ranker"].holder == training_slots.adopted_holder(console)
    # a second sweep changes nothing
    assert slot_keeper.run() == {"slotsFreed": 0, "slotsAdopted": 0, "slotsExtended": 0}
    slot_keeper.metrics.flush_metrics()


def test_the_keeper_needs_the_table(sim: PipelineSim, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(settings.SLOTS_TABLE.name)
    with pytest.raises(RuntimeError, match="TRAINOPS_SLOTS_TABLE is not set"):
        slot_keeper.run()
