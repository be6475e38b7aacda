"""`make bench`: measure trainops and print the tables docs/performance.md shows (with date and machine)."""

from __future__ import annotations

import datetime
import os

os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")  # before the handlers are imported

from benchmarks import measure


def main() -> None:
    print(f"# trainops benchmarks, {datetime.date.today().isoformat()}, {measure.machine()}\n")

    print("| Program under mocks | Seconds | Resources |")
    print("| --- | ---: | ---: |")
    for stack in ("dev", "prod"):
        row = measure.evaluate(stack)
        print(f"| {stack} | {row['seconds']:.2f} | {row['resources']} |")

    print(
        "\n| Scale: prod with N generated models (32-character names) | Resources | "
        "Evaluation, CPU (s) | Largest shared document, % of its quota | Idle cost (USD/month) |"
    )
    print("| ---: | ---: | ---: | --- | ---: |")
    rows = measure.scale()
    for row in rows:
        largest = row["largest"]
        print(
            f"| {row['models']} | {row['resources']} | {row['cpu_seconds']:.1f} | "
            f"{largest.share:.0%}: {largest.quota.what} ({largest.resource}) | "
            f"{row['idle_cost']:.2f} |"
        )
    first, last = rows[0], rows[-1]
    added = last["models"] - first["models"]
    print(
        f"\nPer added model: {(last['resources'] - first['resources']) / added:.2f} resources, "
        f"{(last['cpu_seconds'] - first['cpu_seconds']) / added * 1000:.0f} ms of evaluation (CPU), "
        f"${(last['idle_cost'] - first['idle_cost']) / added:.2f} a month idle\n"
    )

    print("| AWS calls (moto, botocore hooks) | Calls |")
    print("| --- | --- |")
    for unit, calls in measure.calls_per_unit_of_work().items():
        shown = ", ".join(f"{name} {count}" for name, count in sorted(calls.items())) or "none"
        print(f"| {unit} | {shown} |")

    ratios = measure.import_ratios()
    baseline = ratios.pop("_baseline_seconds")
    print(
        f"\n| Import (fresh interpreter, CPU, after boto3 + Powertools, median of 7 rounds) | x (boto3 + Powertools = {baseline:.3f} s) |"
    )
    print("| --- | ---: |")
    for name, ratio in ratios.items():
        print(f"| {name} | {ratio:.2f} |")
    print(f"\nLambda code archive: {measure.archive_bytes() / 1024:.1f} KB (zip)\n")

    print(f"Replay, pure fold: {measure.fold_events_per_second():,.0f} events/s")
    replay = measure.replay_against_moto()
    print(
        f"`trainops replay --stack dev` against moto: {replay['events']:,} events in {replay['seconds']:.2f} s ({replay['events_per_second']:,.0f} events/s)\n"
    )

    costs = measure.idle_costs()
    print("| Idle monthly cost (trainops plan) | USD |")
    print("| --- | ---: |")
    for stack, total in costs.items():
        print(f"| {stack} | {total:.2f} |")


if __name__ == "__main__":
    main()
