"""One chaos scenario: a seeded fault mix on the emulator's writes while the engine harness runs a stack's
whole life. ``python -m tests.chaos.scenario --rate 0.5 --seed 1`` runs one and prints its figures (``--json``:
as JSON, which tests/chaos/test_chaos.py reads).

The mix injects 500, 503, 429 (Retry-After 0), dropped connections (nothing applied) and lost responses
(applied, the answer dropped) into a share of every POST, PUT, PATCH and DELETE, from one seed, for the whole
life: `up` from empty; in-place updates (replicas, image, a project rename, an env value, a rotated secret); new
training runs (which the deployment follows in place); a replacement (a deployment moved to another project) and
a removal; `destroy`. An `up` or `destroy` that fails is run again, as a user would, up to ATTEMPTS times.
After each stage the emulator must hold exactly what the checkpoint tracks (0 orphans), one object per declared
resource (0 duplicates), and what the stack file says (0 lost updates); after `destroy`, nothing at all.

The faults are counted by replaying the seeded plan over the number of writes the emulator saw, and
cross-checked with its statistics: every 500, 503 and 429 it answered and every dropped connection must be an
injected one.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from .support import ChaosEngine, FaultMix, Ledger, LoggedEmulator, StackDir, audit, logged_emulator, retries_in

KEY = "chaos-scenario-key"
ATTEMPTS = 6
TIME_SCALE = 0.02

STACK = """\
projects:
  research: {name: Research}
  other: {name: Other}
experiments:
  train:
    project: research
    image: pytorch/pytorch:2.3.0
    command: python train.py
    machineType: A4000
    env: {EMULATOR_RUN_SECONDS: "1", WANDB_KEY: {secret: wandbKey}}
    model: {name: resnet50}
  eval:
    project: other
    image: python:3.12
    command: python eval.py
    machineType: C5
    env: {EMULATOR_RUN_SECONDS: "2"}
deployments:
  api:
    project: research
    image: paperspace/fastapi-deployment:latest
    machineType: C4
    ports: [8000]
    replicas: 2
    model: train
    env: {MODE: prod, HF_TOKEN: {secret: hfToken}}
  web:
    project: other
    image: nginx:1.27
    machineType: C4
    replicas: 1
  batch:
    project: research
    image: python:3.12-slim
    machineType: C4
    env: {MODE: nightly}
"""
BATCH = STACK[STACK.index("  batch:") :]


@dataclass(frozen=True)
class Stage:
    name: str
    edit: Callable[[str], str]
    secrets: dict[str, str]
    runs: int  # runs each experiment has once the stage is applied


STAGES = [
    Stage("create", lambda text: text, {"hfToken": "hf-value-1", "wandbKey": "wandb-value-1"}, 1),
    Stage(
        "in-place",
        lambda text: (
            text.replace("replicas: 2", "replicas: 3")
            .replace("fastapi-deployment:latest", "fastapi-deployment:1.9")
            .replace("{name: Research}", "{name: Research Lab}")
            .replace("replicas: 1", "replicas: 2")
            .replace("MODE: nightly", "MODE: hourly")
        ),
        {"hfToken": "hf-value-2", "wandbKey": "wandb-value-1"},
        1,
    ),
    Stage(
        "new-run",
        lambda text: text.replace("command: python train.py", "command: python train.py --epochs 10").replace(
            "command: python eval.py", "command: python eval.py --full"
        ),
        {"hfToken": "hf-value-2", "wandbKey": "wandb-value-1"},
        2,
    ),
    Stage(
        "replace",
        lambda text: text.replace("  api:\n    project: research", "  api:\n    project: other").replace(
            BATCH.replace("nightly", "hourly"), ""
        ),
        {"hfToken": "hf-value-2", "wandbKey": "wandb-value-1"},
        2,
    ),
]


@dataclass
class Figures:
    rate: float
    seed: int
    calls: int = 0
    writes: int = 0
    faults: dict[str, int] = field(default_factory=dict)
    retried: int = 0  # attempts the provider retried (its own log lines)
    recovered: int = 0  # creates whose lost answer it recovered by looking the object up
    failed_ups: int = 0  # `up` runs that failed and were run again
    failed_destroys: int = 0
    orphans: int = 0
    duplicates: int = 0
    lost_updates: int = 0
    stages: int = 0
    seconds: float = 0.0
    problems: list[str] = field(default_factory=list)

    def describe(self) -> str:
        kinds = ", ".join(f"{kind} {n}" for kind, n in self.faults.items())
        return (
            f"chaos {self.rate:.0%} of writes, seed {self.seed}: {self.calls} calls ({self.writes} writes), "
            f"{sum(self.faults.values())} faults: {kinds}; {self.retried} retried attempts, {self.recovered} "
            f"creates recovered after a lost answer; {self.failed_ups} failed ups and {self.failed_destroys} "
            f"failed destroys, each run again; after {self.stages} stages and destroy: orphans {self.orphans}, "
            f"duplicates {self.duplicates}, lost updates {self.lost_updates}; {self.seconds:.1f} s"
        )


def _ids(engine: ChaosEngine) -> dict[str, str]:
    return {resource.name: resource.id for resource in engine.state() if not resource.delete}


def run_scenario(rate: float, seed: int, directory: Path) -> Figures:
    """The whole life under the mix, against an emulator of its own; problems are listed, never raised."""
    started = time.monotonic()
    figures = Figures(rate, seed)
    mix = FaultMix(rate, seed)
    with logged_emulator(directory / "emulator", key=KEY, time_scale=TIME_SCALE) as emulator:
        try:
            _live(emulator, mix, directory, figures)
        except Exception:
            figures.problems.append(traceback.format_exc())
        ledger = Ledger.of(mix, emulator.stats())
    figures.calls, figures.writes, figures.faults = ledger.calls, ledger.writes, dict(ledger.faults)
    figures.faults = {kind: ledger.faults[kind] for kind in mix.kinds}
    figures.problems += [f"the emulator answered errors nobody injected: {m}" for m in ledger.mismatches()]
    figures.seconds = time.monotonic() - started
    return figures


def _live(emulator: LoggedEmulator, mix: FaultMix, directory: Path, figures: Figures) -> None:
    with emulator.admin() as admin:
        admin.post("/faults", json=mix.body()).raise_for_status()
    stack = StackDir(directory / "project", STACK)
    engine = ChaosEngine(
        stack.root,
        directory / "checkpoint.json",
        config={"gradient:apiUrl": emulator.api_url, "gradient:pollIntervalSeconds": "0.02"},
        secret_config={"gradient:apiKey": KEY},
    )
    ids: dict[str, dict[str, str]] = {}
    try:
        with emulator.client() as api:
            for stage in STAGES:
                stack.write(stage.edit(stack.text()))
                engine.secret_config.update(stage.secrets)
                figures.failed_ups += engine.until_done(engine.up, ATTEMPTS)
                found, _ = audit(
                    api,
                    engine,
                    stack,
                    runs={"train": stage.runs, "eval": stage.runs},
                    secret_config=stage.secrets,
                    emulator=emulator,
                )
                figures.orphans += len(found.orphans)
                figures.duplicates += len(found.duplicates)
                figures.lost_updates += len(found.lost_updates)
                if found:
                    figures.problems.append(f"after {stage.name}: {found}")
                ids[stage.name] = _ids(engine)
                figures.stages += 1
            figures.failed_destroys += engine.until_done(engine.destroy, ATTEMPTS)
        left = emulator.objects()
        figures.orphans += sum(left.values())
        if left or engine.state():
            figures.problems.append(f"after destroy: the emulator holds {left}, the checkpoint {engine.state()}")
    finally:
        figures.retried, figures.recovered = retries_in(engine.stderr())
    figures.problems += _policies_kept(ids)


def _policies_kept(ids: dict[str, dict[str, str]]) -> list[str]:
    """The changes did what their policies say: the same objects updated, new runs on the same workflows, a new
    deployment for the one moved, the removed one gone."""
    problems = []
    if not ids["in-place"] == ids["new-run"] == ids["create"]:
        problems.append(f"in-place changes or new runs replaced something: {ids}")
    replaced = ids["replace"]
    if replaced.get("api") == ids["create"]["api"] or "batch" in replaced:
        problems.append(f"the replacement or the removal did not happen: {ids}")
    kept = {k: v for k, v in ids["create"].items() if k not in ("api", "batch")}
    if {k: v for k, v in replaced.items() if k != "api"} != kept:
        problems.append(f"the replacement changed other resources: {ids}")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.chaos.scenario", description=__doc__)
    parser.add_argument("--rate", type=float, required=True, help="share of writes that fail, 0 to 1")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="chaos-") as directory:
        figures = run_scenario(args.rate, args.seed, Path(directory))
    print(json.dumps(asdict(figures)) if args.json else figures.describe())
    for problem in [] if args.json else figures.problems:
        print(problem, file=sys.stderr)
    return 1 if figures.problems else 0


if __name__ == "__main__":
    sys.exit(main())
