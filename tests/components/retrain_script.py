"""The retraining document's script as a training host runs it: bash, with SSM's parameter
substitutions made, a fake retraining command and a fake `aws` CLI."""

from __future__ import annotations

import subprocess
from pathlib import Path

from components.maintenance_window.specs import retrain_document


def run_script(
    tmp_path: Path, models: str, data_uris: str, *, failing: str = "", alarm: str = "OK"
) -> subprocess.CompletedProcess[str]:
    """The document's script as a host runs it (bash), with SSM's substitutions made, a fake
    retraining command and a fake `aws` CLI."""
    command = tmp_path / "retrain"
    command.write_text(
        f'#!/bin/bash\necho "retrain $*" >> "$(dirname "$0")/calls"\n[ "$2" != "{failing}" ]\n'
    )
    aws_cli = tmp_path / "aws"
    aws_cli.write_text(f"#!/bin/bash\necho {alarm}\n")
    for tool in (command, aws_cli):
        tool.chmod(0o755)
    script = "\n".join(retrain_document(str(command))["mainSteps"][0]["inputs"]["runCommand"])
    for name, value in {
        "models": models,
        "dataUris": data_uris,
        "guardAlarm": "trainops-test-platform-critical",
        "extraArgs": "--epochs 5",
    }.items():
        script = script.replace("{{ " + name + " }}", value)
    return subprocess.run(  # noqa: S603 - the project's own script, in a temporary folder
        ["/bin/bash", "-c", script],
        capture_output=True,
        text=True,
        check=False,
        env={"PATH": f"{tmp_path}:/usr/bin:/bin"},
    )


def calls(tmp_path: Path) -> list[str]:
    path = tmp_path / "calls"
    return path.read_text().splitlines() if path.exists() else []
