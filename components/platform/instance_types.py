"""Facts about SageMaker instance types that change what a request may contain.

SageMaker encrypts local NVMe instance storage with a hardware module on the instance and
rejects a training job, endpoint configuration or processing job that names a KMS key for the
storage volume of such an instance (`VolumeKmsKeyId` / `KmsKeyId` in the SageMaker API
reference: "You can't request a ... KmsKeyId when using an instance type with local storage").
"""

from __future__ import annotations

import re

# Families whose name carries a `d` after the generation (c5d, m6id, p4d, p4de, g4dn, ...) have
# local NVMe storage; so do these.
LOCAL_STORAGE_FAMILIES = frozenset(
    {"dl1", "g5", "g6", "g6e", "gr6", "p5", "p5e", "p5en", "p6-b200", "trn1", "trn1n", "trn2"}
)
_D_FAMILY = re.compile(r"^[a-z]+\d+[a-z]*d[a-z]*$")


def has_local_storage(instance_type: str) -> bool:
    """Whether an `ml.<family>.<size>` instance has local NVMe instance storage."""
    parts = instance_type.split(".")
    family = parts[1] if len(parts) == 3 else ""
    return family in LOCAL_STORAGE_FAMILIES or bool(_D_FAMILY.match(family))
