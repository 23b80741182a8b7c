"""How the Readiness resource observes experiments: each one's run, by its number.

v1 has no list of runs across workflows, so a poll reads one run per experiment waited for; experiments are
few and train for minutes to hours, and the polls slow down as the wait grows (a twentieth of the time waited).
A failed run fails the wait with the run's message and the failed job's last log lines.
"""

from __future__ import annotations

from ...client import PaperspaceApi
from ...readiness.watch import Seen, Target
from .lifecycle import failure_report
from .wire import model_id_of


class ExperimentWatch:
    def poll(self, api: PaperspaceApi, targets: list[Target], round_: int) -> dict[str, Seen]:
        seen: dict[str, Seen] = {}
        for target in targets:
            if target.since is None:  # its operation returned without a run: nothing to wait for
                seen[target.resource] = Seen("no run", failure="it has no run (its create or update started none)")
                continue
            run = api.get_run(target.id, int(target.since))
            progress = f"run {run.number} {run.phase}"
            if run.failed:
                report = failure_report(api, target.id, run, target.secrets)
                seen[target.resource] = Seen(progress, failure=report)
                continue
            done = run.phase == "Succeeded" or (target.wait == "started" and run.phase == "Running")
            # named as the experiment's own outputs, which the stack exports take them for
            final = {"phase": run.phase, "runNumber": run.number, "modelId": model_id_of(run)}
            seen[target.resource] = Seen(progress, done=done, final=final)
        return seen
