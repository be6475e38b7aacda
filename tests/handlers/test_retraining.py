"""A scheduled tick's rules with fakes for its ports: start, skip (overlap, no new data),
resume a duplicate delivery, and what a failed start does to the slot, with and without the
training queue's slot ledger (the moto-backed tests in test_start_retraining.py run the same
paths through the real adapters)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from trainops_runtime import domain_events as events
from trainops_runtime.catalog import CatalogEntry, ModelCatalog
from trainops_runtime.errors import RetryableError, StartFailed
from trainops_runtime.outcomes import StartOutcome
from trainops_runtime.retraining import (
    TRIGGER,
    InvalidTick,
    Retraining,
    RetrainingPorts,
    parse_tick,
    request_for,
)
from trainops_runtime.training_cost import CostSpec, JobShape
from trainops_runtime.training_slots import RunningExecution, Slot, SlotTaken

TICK = {"model": "churn", "scheduledTime": "2026-11-30T04:00:00Z"}
REQUEST = request_for(parse_tick(TICK))
ARN = "arn:aws:sagemaker:us-east-1:123456789012:pipeline/trainops-test-churn/execution/t1"
LAST_SUCCESS = datetime(2026, 11, 29, tzinfo=UTC)


def catalog(only_when_new_data: bool = False, cost: CostSpec | None = None) -> ModelCatalog:
    return ModelCatalog(
        {
            "churn": CatalogEntry(
                pipeline_name="trainops-test-churn",
                training_data="s3://data/churn/",
                max_runtime_minutes=60,
                only_when_new_data=only_when_new_data,
                cost=cost,
            )
        }
    )


# churn's run: 2 x ml.g5.xlarge for an hour ($2.816 + storage): within $5, over $2.
def capped(cap: float) -> CostSpec:
    return CostSpec(
        region="us-east-1",
        cap=cap,
        training=JobShape("ml.g5.xlarge", instance_count=2, max_runtime_minutes=60, volume_gb=50),
    )


@dataclass
class World:
    ledger: bool = True
    holder: Slot | None = None  # what the claim finds
    taken: bool = False
    running: list[RunningExecution] = field(default_factory=list)
    new_data: bool = True
    start_error: StartFailed | None = None
    release_fails: bool = False
    calls: list[str] = field(default_factory=list)
    published: list[events.DomainEvent] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)
    logged: list[str] = field(default_factory=list)
    counted: list[str] = field(default_factory=list)
    notify_fails: bool = False
    cost: CostSpec | None = None
    alerts: list[str] = field(default_factory=list)

    def claim(self, slot: Slot, now: datetime) -> Slot | None:
        self.calls.append("claim")
        if self.taken:
            raise SlotTaken("churn", self.holder)
        return self.holder

    def release(self, request: Any) -> None:
        self.calls.append("release")
        if self.release_fails:
            raise RetryableError("Throttling")

    def start(self, request: Any, *, resume: bool) -> str:
        self.calls.append("resume" if resume else "start")
        if self.start_error:
            raise self.start_error
        return ARN

    def notify(self, subject: str, text: str) -> None:
        if self.notify_fails:
            raise RuntimeError("SNS throttled")
        self.notices.append(subject)

    def alert(self, subject: str, text: str) -> None:
        self.alerts.append(f"{subject}\n{text}")

    def info(self, msg: str, *, extra: Any) -> None:
        self.logged.append(msg)

    warning = info

    def run(self, *, only_when_new_data: bool = False, tick: Any = None) -> dict[str, Any]:
        ports = RetrainingPorts(
            claim=self.claim if self.ledger else None,
            release=self.release,
            running=lambda model: self.running,
            last_success_started=lambda model: LAST_SUCCESS,
            changed_since=lambda prefix, since: object() if self.new_data else None,
            start=self.start,
            publish=lambda *published: self.published.extend(published),
            notify=self.notify,
            alert=self.alert,
            count=self.counted.append,
            log=self,
        )
        return Retraining(catalog(only_when_new_data, self.cost), ports).run(tick or TICK)

    @property
    def types(self) -> list[str]:
        return [event.type for event in self.published]


def own_slot(expires_in: timedelta = timedelta(hours=1)) -> Slot:
    expires = int((datetime.now(UTC) + expires_in).timestamp())
    return Slot("churn", REQUEST.idempotency_token(), REQUEST.request_id, TRIGGER, 0, expires)


def test_a_tick_claims_starts_and_announces() -> None:
    world = World()
    result = world.run()
    assert result == {"status": StartOutcome.STARTED, "model": "churn", "executionArn": ARN}
    assert world.calls == ["claim", "start"]
    assert world.types == [events.TRAINING_REQUESTED, events.TRAINING_STARTED]
    assert world.notices == ["trainops: scheduled retraining of churn started"]
    assert world.counted == ["RetrainingStarted"]
    assert REQUEST.request_id == "schedule:churn:2026-11-30T04:00:00Z"


def test_a_tick_skips_while_another_request_trains_the_model() -> None:
    world = World(taken=True)
    result = world.run()
    assert result["status"] == StartOutcome.SKIPPED
    assert "start" not in world.calls
    (skipped,) = world.published
    assert skipped.type == events.TRAINING_SKIPPED
    assert skipped.reason == "churn is still training for another request"
    assert world.counted == ["RetrainingSkipped"]


def test_a_start_is_counted_before_it_is_announced() -> None:
    """The announcement can fail after the start (SNS, EventBridge); Lambda's retry then finds
    the tick's own slot and answers as a duplicate, so the start is counted once, here."""
    world = World(notify_fails=True)
    with pytest.raises(RuntimeError, match="SNS throttled"):
        world.run()
    assert world.counted == ["RetrainingStarted"]


@pytest.mark.parametrize(
    ("holder", "status", "published", "start"),
    [
        # its own slot: the start resumes (finds the first delivery's execution first)
        (
            own_slot(),
            StartOutcome.DUPLICATE,
            [events.TRAINING_REQUESTED, events.TRAINING_STARTED],
            "resume",
        ),
        # its own slot, but expired: a new claim, announced once
        (
            own_slot(expires_in=-timedelta(minutes=1)),
            StartOutcome.STARTED,
            [events.TRAINING_REQUESTED, events.TRAINING_STARTED],
            "start",
        ),
    ],
    ids=["redelivery", "expired-own-slot"],
)
def test_a_redelivered_tick_resumes_its_own_start(
    holder: Slot, status: str, published, start: str
) -> None:
    world = World(holder=holder)
    assert world.run()["status"] == status
    assert world.types == published
    assert world.calls == ["claim", start]


def test_only_when_new_data_skips_before_claiming() -> None:
    world = World(new_data=False)
    result = world.run(only_when_new_data=True)
    assert result["status"] == StartOutcome.SKIPPED
    assert "no data under s3://data/churn/ changed since" in result["reason"]
    assert world.calls == []
    assert World(new_data=True).run(only_when_new_data=True)["status"] == StartOutcome.STARTED


def execution(display_name: str) -> RunningExecution:
    return RunningExecution("churn", ARN, "Executing", None, display_name)


@pytest.mark.parametrize(
    ("running", "status"),
    [
        ([], StartOutcome.STARTED),
        ([execution(REQUEST.execution_display_name(TRIGGER))], StartOutcome.DUPLICATE),
        ([execution("que-churn-a1-someoneelse")], StartOutcome.SKIPPED),
    ],
    ids=["idle", "own-execution-running", "another-execution-running"],
)
def test_without_a_ledger_the_pipeline_listing_decides(running, status) -> None:
    world = World(ledger=False, running=running)
    assert world.run()["status"] == status
    assert "claim" not in world.calls
    assert ("start" in world.calls) is (status == StartOutcome.STARTED)


@pytest.mark.parametrize(
    ("failure", "raised", "released"),
    [
        (
            StartFailed("ThrottlingException", "x", retryable=True, may_have_started=False),
            RetryableError,
            True,
        ),
        (
            StartFailed("InternalFailure", "x", retryable=True, may_have_started=True),
            RetryableError,
            False,
        ),
        (
            StartFailed("ValidationException", "x", retryable=False, may_have_started=False),
            StartFailed,
            True,
        ),
    ],
    ids=["throttled", "may-have-started", "refused"],
)
def test_a_failed_start(failure: StartFailed, raised: type[Exception], released: bool) -> None:
    world = World(start_error=failure)
    with pytest.raises(raised, match=failure.code):
        world.run()
    assert ("release" in world.calls) is released
    if failure.retryable:
        assert world.types == [events.TRAINING_REQUESTED]
    else:
        assert world.types == [events.TRAINING_REQUESTED, events.TRAINING_FAILED]
        assert world.published[-1].reason == "could not start: ValidationException"


def test_a_release_that_fails_only_warns() -> None:
    failure = StartFailed("ValidationException", "x", retryable=False, may_have_started=False)
    world = World(start_error=failure, release_fails=True)
    with pytest.raises(StartFailed):
        world.run()
    assert "could not free the slot" in world.logged


@pytest.mark.parametrize(
    "tick",
    [
        {"model": "churn"},
        {"model": "Churn!", "scheduledTime": "2026-11-30T04:00:00Z"},
        {"model": "churn", "scheduledTime": "yesterday"},
        ["churn"],
    ],
)
def test_a_malformed_tick_is_refused_before_anything(tick: Any) -> None:
    world = World()
    with pytest.raises(InvalidTick):
        world.run(tick=tick)
    assert world.calls == []


@pytest.mark.parametrize("ledger", [True, False])
def test_a_tick_over_its_cost_cap_is_refused_before_anything(ledger: bool) -> None:
    world = World(ledger=ledger, cost=capped(2.0))
    result = world.run()
    assert result["status"] == StartOutcome.REFUSED
    assert world.calls == []  # no claim, no listing, no start
    (rejected,) = world.published
    assert rejected.type == events.TRAINING_REJECTED
    assert rejected.data == {"projectedCost": 2.84, "costCap": 2.0}
    assert "projected maximum $2.84 exceeds the cap of $2.00 per run" in (rejected.reason or "")
    assert "2 x ml.g5.xlarge ($1.408/h) x 1 h with 50 GB each" in (rejected.reason or "")
    assert world.counted == ["RetrainingRefused"]
    (alert,) = world.alerts
    assert alert.startswith("trainops: a run of churn was refused ($2.84 over the $2.00 cap)")


def test_a_tick_within_its_cap_starts_as_before() -> None:
    world = World(cost=capped(5.0))
    assert world.run()["status"] == StartOutcome.STARTED
    assert world.calls == ["claim", "start"]
    assert world.alerts == []


def test_a_run_that_cannot_be_priced_under_a_cap_is_refused() -> None:
    """A cap that cannot be checked is not held: an unknown type is refused, not started."""
    unpriced = CostSpec(
        region="us-east-1",
        cap=100.0,
        training=JobShape("ml.x9.huge", instance_count=1, max_runtime_minutes=60, volume_gb=5),
    )
    world = World(cost=unpriced)
    result = world.run()
    assert result["status"] == StartOutcome.REFUSED
    assert "no list price for ml.x9.huge in us-east-1" in result["reason"]
    assert world.calls == []
    assert world.published[0].data == {"projectedCost": None, "costCap": 100.0}
