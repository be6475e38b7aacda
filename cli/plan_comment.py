"""The offline plan of a pull request as one Markdown comment (`trainops plan-comment`).

The pull-request workflow writes `<dir>/<stack>.json` with `trainops plan --stack <s> --format
json` (the program under Pulumi's mocks: no credentials, no state) for the base and for the pull
request; `render` compares the two sets per stack: resources added, removed and changed (a key
setting differs) by component, idle monthly cost, each model's maximum cost per run and cap,
budgets, and the architecture diagram when it changed. plan-comment.yml posts the text.

Pure functions of the JSON documents. Either side may lack a stack (added or removed), and a
base's plan may come from an older `trainops` without some keys (`diagram`): missing keys read
as empty. Long lists are cut ("... and N more") to keep within GitHub's comment limit.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from trainops_runtime.training_cost import usd

MARKER = "<!-- trainops-offline-plan -->"
# GitHub refuses a comment body over 65,536 characters; the comment is held to that many UTF-8
# bytes, which is stricter (an arrow is one character, three bytes).
COMMENT_LIMIT = 65_536
_CAPS = (200, 100, 50, 20, 10, 5, 2, 0)  # entries per list, tried in turn until it all fits
_EXPANDED_UP_TO = 15  # a list of resource lines this short is shown expanded

Plan = Mapping[str, Any]
Row = tuple[str, ...]
_KINDS = ("added", "removed", "changed")


def load_plans(directory: Path) -> dict[str, dict[str, Any]]:
    """Stack -> plan, from the `<stack>.json` files `trainops plan --format json` wrote."""
    if not directory.is_dir():
        raise FileNotFoundError(f"{directory}: not a directory of <stack>.json plans")
    plans: dict[str, dict[str, Any]] = {}
    for path in sorted(directory.glob("*.json")):
        document = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(document, dict):
            raise ValueError(f"{path}: not a plan (`trainops plan --format json` prints an object)")
        plans[path.stem] = document
    return plans


# ---- formatting --------------------------------------------------------------------------------


def money(value: float | None, none: str = "—") -> str:
    return none if value is None else usd(value)


def money_change(
    before: float | None, after: float | None, *, before_none: str = "—", after_none: str = "—"
) -> str:
    """`$4.80 → $5.10 (+$0.30)`; `$4.80 (no change)`; `— → $5.10` when one side has none."""
    if before is None or after is None:
        if before == after:
            return f"{after_none} (no change)"
        return f"{money(before, before_none)} → {money(after, after_none)}"
    delta = round(after - before, 2)
    if delta == 0:
        return f"{money(after)} (no change)"
    return f"{money(before)} → {money(after)} ({'+' if delta > 0 else '-'}{usd(abs(delta))})"


def _value(value: Any) -> str:
    if value is None:
        return "(unset)"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _code(text: str) -> str:
    """An inline code span that holds any text (a longer fence than any backtick run in it)."""
    fence = "`" * (max((len(run) for run in re.findall(r"`+", text)), default=0) + 1)
    padded = f" {text} " if text.startswith("`") or text.endswith("`") else text
    return f"{fence}{padded}{fence}"


def _cell(text: str) -> str:
    """Text for a Markdown table cell: one line, pipes escaped (also inside code spans)."""
    return " ".join(text.split()).replace("|", "\\|")


def _fenced(lines: Sequence[str], language: str) -> list[str]:
    longest = max((len(run) for line in lines for run in re.findall(r"`{3,}", line)), default=2)
    fence = "`" * max(3, longest + 1)
    return [f"{fence}{language}", *lines, fence]


def _details(summary: str, body: Sequence[str], *, expanded: bool = False) -> list[str]:
    opening = "<details open>" if expanded else "<details>"
    return [opening, f"<summary>{summary}</summary>", "", *body, "", "</details>", ""]


def _limited(items: Sequence[str], cap: int, more: str = "more") -> list[str]:
    """At most ``cap`` items, then `... and N more` for the rest."""
    if len(items) <= cap:
        return list(items)
    return [*items[:cap], f"... and {len(items) - cap} {more}"]


def _table(header: Sequence[str], rows: Sequence[Row], cap: int, more: str) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows[:cap]]
    if len(rows) > cap:
        lines.append(f"| ... and {len(rows) - cap} {more} |" + " |" * (len(header) - 1))
    return [*lines, ""]


# ---- comparing one stack -----------------------------------------------------------------------


@dataclass(frozen=True)
class ComponentChange:
    """One component's resources that only one side has, or whose key settings differ."""

    component: str
    added: tuple[str, ...]
    removed: tuple[str, ...]
    changed: tuple[str, ...]

    @property
    def lines(self) -> tuple[str, ...]:
        return self.added + self.removed + self.changed


def _resources(plan: Plan | None) -> dict[str, dict[tuple[str, str], dict[str, Any]]]:
    """Component -> (name, type) -> key settings."""
    return {
        str(label): {
            (str(r.get("name")), str(r.get("type"))): dict(r.get("settings") or {})
            for r in resources
        }
        for label, resources in ((plan or {}).get("components") or {}).items()
    }


def _resource_line(sign: str, key: tuple[str, str], settings: Mapping[str, Any]) -> str:
    shown = ", ".join(f"{k}={_value(v)}" for k, v in settings.items())
    return f"{sign} {key[1]} {key[0]}" + (f"  {shown}" if shown else "")


def _settings_change(before: Mapping[str, Any], after: Mapping[str, Any]) -> str:
    keys = [*after, *(k for k in before if k not in after)]
    return ", ".join(
        f"{k}: {_value(before.get(k))} → {_value(after.get(k))}"
        for k in keys
        if before.get(k) != after.get(k)
    )


def resource_changes(base: Plan | None, head: Plan | None) -> list[ComponentChange]:
    """By component (the plan's `components` keys): resources added, removed and changed, as
    `+ <type> <name>  <key settings>`, `- ...` and `! <type> <name>  <setting>: <a> → <b>`."""
    before, after = _resources(base), _resources(head)
    changes = []
    for label in sorted(before.keys() | after.keys()):
        old, new = before.get(label, {}), after.get(label, {})
        change = ComponentChange(
            component=label,
            added=tuple(_resource_line("+", k, new[k]) for k in sorted(new.keys() - old.keys())),
            removed=tuple(_resource_line("-", k, old[k]) for k in sorted(old.keys() - new.keys())),
            changed=tuple(
                f"! {k[1]} {k[0]}  {_settings_change(old[k], new[k])}"
                for k in sorted(old.keys() & new.keys())
                if old[k] != new[k]
            ),
        )
        if change.lines:
            changes.append(change)
    return changes


def _total(plan: Plan | None) -> int | None:
    if plan is None:
        return None
    if isinstance(plan.get("total"), int):
        return int(plan["total"])
    return sum(len(resources) for resources in (plan.get("components") or {}).values())


def _idle(plan: Plan | None) -> tuple[float | None, dict[str, Mapping[str, Any]], list[str]]:
    cost = (plan or {}).get("idleMonthlyCost") or {}
    lines = {str(line.get("item")): line for line in cost.get("lines") or []}
    return cost.get("total"), lines, [str(item) for item in cost.get("unpriced") or []]


def _idle_line(line: Mapping[str, Any] | None) -> str:
    if line is None:
        return "—"
    return f"{_value(line.get('count'))} x {money(line.get('unit'))} = {money(line.get('monthly'))}"


def _run(entry: Mapping[str, Any] | None) -> str:
    if entry is None:
        return "—"
    count, minutes = _value(entry.get("instanceCount")), _value(entry.get("maxRuntimeMinutes"))
    return f"{count} x {entry.get('instanceType')}, {minutes} min"


def _budget(entry: Mapping[str, Any] | None) -> str:
    if entry is None:
        return "—"
    parts = [f"{money(entry.get('limit'))}/month"]
    if entry.get("filters"):
        parts.append("filters " + ", ".join(str(f) for f in entry["filters"]))
    if entry.get("notifications"):
        parts.append("notifies at " + ", ".join(str(n) for n in entry["notifications"]))
    return "; ".join(parts)


def _run_change(
    old: Mapping[str, Any] | None, new: Mapping[str, Any] | None, key: str, none: str
) -> str:
    """A model's maximum or cap, before → after; ``none`` for a present model without one."""
    return money_change(
        (old or {}).get(key),
        (new or {}).get(key),
        before_none="—" if old is None else none,
        after_none="—" if new is None else none,
    )


@dataclass
class StackDiff:
    """What a pull request changes in one stack; ``None`` for a side without the stack."""

    stack: str
    base: Plan | None
    head: Plan | None

    @cached_property
    def resources(self) -> list[ComponentChange]:
        return resource_changes(self.base, self.head)

    @property
    def counts(self) -> tuple[int, ...]:
        return tuple(sum(len(getattr(c, k)) for c in self.resources) for k in _KINDS)

    @property
    def idle_change(self) -> str:
        return money_change(_idle(self.base)[0], _idle(self.head)[0])

    @cached_property
    def idle_rows(self) -> list[Row]:
        """The idle-cost lines that differ: item, before, after, monthly change."""
        _, before, unpriced_before = _idle(self.base)
        _, after, unpriced_after = _idle(self.head)
        rows: list[Row] = []
        for item in [*before, *(i for i in after if i not in before)]:
            old, new = before.get(item), after.get(item)
            if old != new:
                monthly = money_change((old or {}).get("monthly"), (new or {}).get("monthly"))
                rows.append((item, _idle_line(old), _idle_line(new), monthly))
        rows += [(f"not priced: {i}", "—", "not priced", "") for i in unpriced_after]
        rows += [(f"not priced: {i}", "not priced", "—", "") for i in unpriced_before]
        common = set(unpriced_before) & set(unpriced_after)
        return [row for row in rows if row[0].removeprefix("not priced: ") not in common]

    @cached_property
    def run_rows(self) -> list[Row]:
        """Models whose run, maximum or cap differ: model, run, maximum cost, cap."""
        before = (self.base or {}).get("maxCostPerRun") or {}
        after = (self.head or {}).get("maxCostPerRun") or {}
        rows: list[Row] = []
        for model in sorted(before.keys() | after.keys()):
            old, new = before.get(model), after.get(model)
            if old == new:
                continue
            run = _run(new) if _run(old) == _run(new) else f"{_run(old)} → {_run(new)}"
            run += " (new model)" if old is None else " (model removed)" if new is None else ""
            cost = _run_change(old, new, "maxCost", "not priced")
            rows.append((model, run, cost, _run_change(old, new, "cap", "no cap")))
        return rows

    @property
    def breakdowns(self) -> list[str]:
        """How each changed model's maximum is computed, after the change."""
        after = (self.head or {}).get("maxCostPerRun") or {}
        return [
            f"{row[0]}: {after[row[0]]['breakdown']}"
            for row in self.run_rows
            if (after.get(row[0]) or {}).get("breakdown")
        ]

    @cached_property
    def budget_rows(self) -> list[Row]:
        """Budgets added, removed or changed: name, before, after (with the limit's change)."""
        before = (self.base or {}).get("budgets") or {}
        after = (self.head or {}).get("budgets") or {}
        rows: list[Row] = []
        for name in sorted(before.keys() | after.keys()):
            old, new = before.get(name), after.get(name)
            if old == new:
                continue
            text = _budget(new)
            if old and new and old.get("limit") != new.get("limit"):
                text += f" ({money_change(old.get('limit'), new.get('limit'))})"
            rows.append((name, _budget(old), text))
        return rows

    @property
    def diagram(self) -> str | None:
        return (self.head or {}).get("diagram")

    @property
    def diagram_unknown(self) -> bool:
        """The base's plan predates `diagram`: nothing to compare the head's diagram with."""
        return self.base is not None and "diagram" not in self.base

    @property
    def diagram_changed(self) -> bool:
        before = (self.base or {}).get("diagram")
        return self.diagram is not None and self.diagram != before and not self.diagram_unknown

    @property
    def unchanged(self) -> bool:
        return (
            self.base is not None
            and self.head is not None
            and not (self.resources or self.idle_rows or self.run_rows or self.budget_rows)
            and _idle(self.base)[0] == _idle(self.head)[0]
            and not self.diagram_changed
        )


# ---- rendering ---------------------------------------------------------------------------------


def _resources_text(diff: StackDiff) -> str:
    before, after = _total(diff.base), _total(diff.head)
    if before is None:
        return f"— → {after} (new stack)"
    if after is None:
        return f"{before} → — (stack removed)"
    return str(after) if before == after else f"{before} → {after}"


def _resource_section(diff: StackDiff, cap: int) -> list[str]:
    if not diff.resources:
        return ["**Resources**: no resource added, removed or changed.", ""]
    added, removed, changed = diff.counts
    lines = [f"**Resources**: {added} added, {removed} removed, {changed} changed", ""]
    rows = [
        (_code(c.component), str(len(c.added)), str(len(c.removed)), str(len(c.changed)))
        for c in diff.resources
    ]
    lines += _table(("Component", "Added", "Removed", "Changed"), rows, cap, "more components")
    body: list[str] = []
    for c in diff.resources[:cap]:
        body.append(f"@@ {c.component}: +{len(c.added)} -{len(c.removed)} !{len(c.changed)} @@")
        body += _limited(c.lines, cap)
    if len(diff.resources) > cap:
        body.append(f"... and {len(diff.resources) - cap} more components")
    total = added + removed + changed
    return lines + _details(
        f"The resource lines ({total})",
        _fenced(body, "diff"),
        expanded=total <= _EXPANDED_UP_TO and cap > 0,
    )


def _cost_sections(diff: StackDiff, cap: int) -> list[str]:
    """Idle monthly cost, maximum cost per run and budgets: totals, then what changed."""
    lines = [f"**Idle monthly cost**: {diff.idle_change}", ""]
    if diff.idle_rows:
        lines += _table(("Item", "Before", "After", "Monthly"), diff.idle_rows, cap, "more items")
    if diff.run_rows:
        lines += ["**Maximum cost per run** (models whose run, maximum or cap changed):", ""]
        rows = [(_code(model), *rest) for model, *rest in diff.run_rows]
        lines += _table(("Model", "Run", "Maximum cost", "Cap"), rows, cap, "more models")
        if diff.breakdowns and cap > 0:
            shown = _limited(diff.breakdowns, cap, "more models")
            lines += _details(
                "How the maximum is computed (after)",
                [f"- {html.escape(b, quote=False)}" for b in shown],
            )
    else:
        lines += ["**Maximum cost per run**: no model's run, maximum or cap changed.", ""]
    if not diff.budget_rows:
        return [*lines, "**Budgets**: no change.", ""]
    rows = [(_code(name), *rest) for name, *rest in diff.budget_rows]
    lines += ["**Budgets** (AWS Budgets, monthly cost):", ""]
    return lines + _table(("Budget", "Before", "After"), rows, cap, "more budgets")


def _diagram_section(diff: StackDiff, diagrams: bool) -> list[str]:
    """The head's architecture diagram, when it differs from the base's (or the base's plan,
    made by a trainops before `diagram`, has none to compare with)."""
    if diff.diagram is None or not (diff.diagram_changed or diff.diagram_unknown):
        return []
    note = "new stack" if diff.base is None else "changed"
    if diff.diagram_unknown:
        note = "the base's plan has no diagram to compare with"
    if not diagrams:
        return [f"**Architecture**: {note} (diagram left out to fit the comment).", ""]
    return _details(
        f"<b>Architecture</b> ({html.escape(note, quote=False)}): the diagram after this change",
        _fenced(diff.diagram.splitlines(), "mermaid"),
    )


def _stack_section(diff: StackDiff, cap: int, diagrams: bool) -> list[str]:
    state = "new stack" if diff.base is None else "stack removed" if diff.head is None else ""
    lines = [f"### {_code(diff.stack)}" + (f" ({state})" if state else ""), ""]
    if state:
        verb, total = ("adds", diff.head) if diff.base is None else ("removes", diff.base)
        lines += [f"This pull request {verb} the stack: {_total(total)} resources.", ""]
    if diff.unchanged:
        rest = "budgets and architecture"
        if diff.diagram_unknown:
            rest = "and budgets (the base's plan has no architecture diagram to compare with)"
        same = f"the same {_total(diff.head)} resources and key settings"
        idle = f"idle cost ({money(_idle(diff.head)[0])}/month)"
        return [*lines, f"No changes: {same}, {idle}, maximum cost per run, {rest}.", ""]
    return [
        *lines,
        *_resource_section(diff, cap),
        *_cost_sections(diff, cap),
        *_diagram_section(diff, diagrams),
    ]


def _header(diffs: Sequence[StackDiff], cap: int) -> list[str]:
    lines = [
        MARKER,
        "## Offline plan",
        "",
        "What this pull request changes in each stack: `trainops plan --format json` of the base "
        "and of the pull request, run under Pulumi's mocks (no cloud credentials, no state), "
        "compared. Costs are list prices (`trainops plan` names its price tables); "
        "`pulumi preview` shows what the cloud would do.",
        "",
    ]
    if not diffs:
        return [*lines, "No stack (`Pulumi.<stack>.yaml`) on either side.", ""]
    rows = [
        (
            _code(d.stack),
            _resources_text(d),
            *(str(n) for n in d.counts),
            d.idle_change,
            "no changes" if d.unchanged else "changed",
        )
        for d in diffs
    ]
    header = ("Stack", "Resources", "Added", "Removed", "Changed", "Idle monthly cost", "Plan")
    lines += _table(header, rows, max(cap, 20), "more stacks")
    if all(d.unchanged for d in diffs):
        lines += ["No changes in any stack.", ""]
    return lines


def _text(lines: Iterable[str]) -> str:
    return "\n".join(lines).rstrip("\n") + "\n"


def _size(text: str) -> int:
    return len(text.encode("utf-8"))


def _cut(text: str, limit: int) -> str:
    """The last resort: whole lines up to ``limit`` bytes, and a note."""
    note = "\n... comment cut to GitHub's size limit; run `trainops plan` locally.\n"
    kept = text.encode("utf-8")[: limit - _size(note)].decode("utf-8", "ignore")
    return kept.rsplit("\n", 1)[0] + note


def render(
    base: Mapping[str, Plan], head: Mapping[str, Plan], *, limit: int = COMMENT_LIMIT
) -> str:
    """The comment for every stack on either side: the marker, a summary table, then one section
    per stack. Lists are cut ("... and N more"), and diagrams left out, until the text is at most
    ``limit`` UTF-8 bytes; past that, only the summary table is left."""
    diffs = [StackDiff(s, base.get(s), head.get(s)) for s in sorted(base.keys() | head.keys())]
    for cap in _CAPS:  # lines matter more than a diagram: drop the diagrams first
        for diagrams in (True, False):
            lines = _header(diffs, cap)
            for diff in diffs:
                lines += _stack_section(diff, cap, diagrams)
            text = _text(lines)
            if _size(text) <= limit:
                return text
    summary = _text(_header(diffs, 0))
    return summary if _size(summary) <= limit else _cut(summary, limit)
