"""Quality-triggered retraining: a model's degraded-quality signals (alarms, events) become
training requests on the training queue, with a cooldown and a circuit breaker
(`component.QualityRetraining`)."""

from components.quality_retraining.component import QualityRetraining, QualityRetrainingArgs

__all__ = ["QualityRetraining", "QualityRetrainingArgs"]
