"""On-demand list prices of SageMaker training, per instance-hour, by region.

Source: Amazon SageMaker AI pricing, on-demand, "Training" (https://aws.amazon.com/sagemaker-ai/
pricing/), the figures AWS's Price List API returns for the usage types `USE1-Train:ml.<type>`.
They were collected for trainops on the date in `AS_OF`; each value below was found in at least
two independent published tables (two of them, ml.m5.large and ml.g5.2xlarge, read from the
Price List API itself), and types where sources disagreed or only one was found are left out, so
a projection for them fails with a clear error instead of a guess (see docs/operations.md,
"Spend guardrails", for refreshing the table with `aws pricing get-products`).

ml.p4d and ml.p5 carry AWS's June 2025 price reduction. Processing jobs (an evaluation gate)
are priced at the training rate of the same type: where both were published (ml.m5.large,
ml.m5.xlarge) they are equal. ML storage is the training volumes' rate; processing volumes are
billed at or below it, so the projection stays an upper bound.
"""

from __future__ import annotations

AS_OF = "2026-11"
SOURCE = "https://aws.amazon.com/sagemaker-ai/pricing/ (on-demand training)"
HOURS_PER_MONTH = 730
# ML storage (General Purpose SSD) attached to a training job, per GB-month, us-east-1.
ML_STORAGE_GB_MONTH = 0.14

TRAINING_HOURLY: dict[str, dict[str, float]] = {
    "us-east-1": {
        "ml.m5.large": 0.115,
        "ml.m5.xlarge": 0.23,
        "ml.m5.2xlarge": 0.461,
        "ml.m5.4xlarge": 0.922,
        "ml.m5.12xlarge": 2.765,
        "ml.m5.24xlarge": 5.53,
        "ml.c5.xlarge": 0.204,
        "ml.c5.2xlarge": 0.408,
        "ml.c5.4xlarge": 0.816,
        "ml.c5.9xlarge": 1.836,
        "ml.c5.18xlarge": 3.672,
        "ml.g4dn.xlarge": 0.7364,
        "ml.g4dn.2xlarge": 0.94,
        "ml.g4dn.12xlarge": 4.89,
        "ml.g5.xlarge": 1.408,
        "ml.g5.2xlarge": 1.515,
        "ml.g5.4xlarge": 2.03,
        "ml.g5.12xlarge": 7.09,
        "ml.g5.48xlarge": 20.36,
        "ml.p3.2xlarge": 3.825,
        "ml.p3.8xlarge": 14.688,
        "ml.p3.16xlarge": 28.152,
        "ml.p4d.24xlarge": 25.2513,
        "ml.p5.48xlarge": 63.296,
    },
}
