"""`make bench`: measure trainops and print the table the README shows (with date and machine)."""

from __future__ import annotations

import datetime
import os

os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")  # before the handlers are imported

from benchmarks import measure


def main() -> None:
    print(f"# trainops benchmarks, {datetime.date.today().isoformat()}, {measure.machine()}\n")

    print("| Program under mocks | Seconds | Resources |")
    print("| --- | ---: | ---: |")
    rows = {"dev": measure.evaluate("dev"), "prod": measure.evaluate("prod")}
    for count in (1, 10, 50):
        rows[f"prod, {count} generated models"] = measure.evaluate("prod", count)
    for label, row in rows.items():
        print(f"| {label} | {row['seconds']:.2f} | {row['resources']} |")
    one, ten, fifty = (rows[f"prod, {n} generated models"]["resources"] for n in (1, 10, 50))
    print(
        f"\nGrowth per added model: {(ten - one) / 9:.1f} resources (1->10), {(fifty - ten) / 40:.1f} (10->50)\n"
    )

    print("| AWS calls (moto, botocore hooks) | Calls |")
    print("| --- | --- |")
    for unit, calls in measure.calls_per_unit_of_work().items():
        shown = ", ".join(f"{name} {count}" for name, count in sorted(calls.items())) or "none"
        print(f"| {unit} | {shown} |")

    ratios = measure.import_ratios()
    baseline = ratios.pop("_baseline_seconds")
    print(
        f"\n| Import (fresh interpreter, CPU, min of 7, interleaved) | x (boto3 + Powertools = {baseline:.3f} s) |"
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
