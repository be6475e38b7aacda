"""`trainops:qualityRetraining`: when a model's quality signals may retrain it."""

from __future__ import annotations

from pydantic import Field

from components.platform.config_types import ConfigModel, feature_switch
from trainops_runtime.settings import QualityTriggerSettings


class QualityRetrainingConfig(ConfigModel):
    """Retraining a model when its quality degrades, through the training queue."""

    enabled: bool = feature_switch("quality retraining")
    cooldown_minutes: int = Field(
        default=QualityTriggerSettings.default("cooldown_minutes"),
        ge=5,
        le=10080,
        description="Minutes after a quality retrain of a model before its signals may retrain "
        "it again (a flapping alarm retrains once, not on every flap).",
    )
    max_per_day: int = Field(
        default=QualityTriggerSettings.default("max_per_day"),
        ge=1,
        le=24,
        description="Quality retrains of one model per UTC day; past it, the circuit breaker "
        "sends a critical alert instead.",
    )
