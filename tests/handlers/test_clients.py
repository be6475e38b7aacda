"""Handler clients are created lazily, so moto started first intercepts them."""

from __future__ import annotations

import boto3

from trainops_runtime.adapters import clients


def test_clients_are_created_on_first_use_and_reused(moto_aws: None) -> None:
    boto3.client("sqs").create_queue(QueueName="probe")
    sqs = clients.client("sqs")
    assert clients.client("sqs") is sqs
    assert [url.rsplit("/", 1)[-1] for url in sqs.list_queues()["QueueUrls"]] == ["probe"]


def test_reset_forgets_clients(moto_aws: None) -> None:
    first = clients.client("s3")
    clients.reset()
    assert clients.client("s3") is not first


def test_importing_the_package_creates_no_client() -> None:
    clients.reset()
    import importlib

    import trainops_runtime

    importlib.reload(trainops_runtime)
    assert clients._clients == {}
