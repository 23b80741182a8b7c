"""Experiment: a training run, backed by a Paperspace workflow and its runs. Pulumi id = workflow id.

Changing a run-affecting field (policy new-run) starts a new run on the same workflow and keeps the
history; `name` or `projectId` replace the experiment. v1 workflows carry no project and cannot change their
spec (workflows-update takes a name only): the project is kept in state and every run carries its own spec.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from typing import Any

from ...client import GradientApiError, NotFoundError, PaperspaceApi
from ...client.models import Workflow, WorkflowRun
from ...credentials import mask_text
from ...lifecycles import secret_env
from ...lifecycles.base import Created, Lifecycle, Observed, OperationFailedError, log
from ...lifecycles.policy import WAIT_IN_STACK, InputDiff, Policy
from ...workspace.stage import stage
from .table import MODEL_JOB, SECRET_PREFIX, TABLE
from .wire import build_spec, dataset_versions, inputs_from_spec, model_id_of, spec_key

LOG_TAIL_LINES = 20  # of a failed job, at the end of the error that `pulumi up` shows

_KEPT_FROM_STATE = [*TABLE.by_policy(Policy.LOCAL_ONLY), "rerun"]


class ExperimentLifecycle(Lifecycle):
    table = TABLE

    def create(self, inputs: dict[str, Any]) -> Created:
        inputs = stage(self.api, inputs)  # a local workspace: uploaded (or found there) before anything is touched
        # Adopt a workflow of this name in the project: after a failed `up` (Pulumi records nothing for a failed
        # create) the next one finds it again, keeps its history and retries, instead of leaving it orphaned.
        adopted = [w for w in self.api.list_workflows(inputs["projectId"]) if w.name == inputs["name"]]
        if adopted:
            log.info("experiment %r: adopting the existing workflow %s of that name", inputs["name"], adopted[0].id)
        revision = secret_env.next_revision({}, inputs)
        synced = secret_env.sync(self.api, SECRET_PREFIX, inputs["projectId"], {}, inputs)
        workflow: Workflow | None = adopted[0] if adopted else None
        try:
            if workflow is None:
                workflow = self.api.create_workflow(inputs["projectId"], inputs["name"], build_spec(inputs, revision))
            return Created(workflow.id, self._ensure_run(workflow, inputs, revision, []))
        except Exception:
            if not adopted:
                self._forget(workflow, inputs, synced)
            raise

    def _forget(self, workflow: Workflow | None, inputs: dict[str, Any], synced: secret_env.Sync) -> None:
        """After a failed create: when no run was started, nothing of it is worth keeping. A started run is kept
        (with its workflow and secrets): its history explains the failure, and the next `up` adopts it."""
        with contextlib.suppress(GradientApiError):
            if workflow is not None and self.api.list_runs(workflow.id):
                return
            if workflow is not None:
                self.api.delete_workflow(workflow.id)
            synced.undo(self.api)

    @classmethod
    def diff(cls, olds: Mapping[str, Any], news: Mapping[str, Any]) -> InputDiff:
        """The table's diff; and, for an experiment the stack's Readiness resource waits for, a look again while
        the state does not record the run's end: its create or update returned before the run ended, so a run
        that failed (or never started) would otherwise never be retried. The update starts a new run only if the
        latest one with these inputs failed (see ``_ensure_run``); one still going is waited for again."""
        found = super().diff(olds, news)
        wait = news.get("wait") or olds.get("wait")
        if found.has_changes or not news.get(WAIT_IN_STACK) or wait == "none":
            return found
        ended = {"Succeeded", "Running"} if wait == "started" else {"Succeeded"}
        if olds.get("phase") in ended:
            return found
        return InputDiff(("phase",), (), cls.table, {"phase": Policy.NEW_RUN})

    def update(self, ident: str, olds: dict[str, Any], news: dict[str, Any]) -> dict[str, Any]:
        revision = secret_env.next_revision(olds, news)
        retired = list(olds.get(secret_env.RETIRED_OUTPUT) or [])
        if not self.diff(olds, news).starts_run:
            return {**olds, **news, secret_env.REVISION_OUTPUT: revision, secret_env.RETIRED_OUTPUT: retired}
        news = stage(self.api, news)  # a local workspace: uploaded (or found there) before anything is touched
        synced = secret_env.sync(self.api, SECRET_PREFIX, news["projectId"], olds, news)
        try:
            return self._ensure_run(self.api.get_workflow(ident), news, revision, retired + synced.retired)
        except Exception:
            synced.undo(self.api)  # Pulumi keeps the old state: so does Paperspace, as far as secrets go
            raise

    def read(self, ident: str, state: dict[str, Any]) -> Observed | None:
        try:
            runs = self.api.list_runs(ident)  # a 404 when the workflow is gone
            # A refresh of a resource with runs reads nothing else (one read per resource): the name is the
            # state's (v1 renames only through workflows-update); without runs, or when adopting, the workflow.
            if runs and state.get("workflowId") == ident and state.get("name"):
                workflow = Workflow(ident, str(state["name"]), None)
            else:
                workflow = self.api.get_workflow(ident)
        except NotFoundError:
            return None
        live_spec = runs[-1].spec if runs else workflow.spec or {}
        kept = {key: state[key] for key in _KEPT_FROM_STATE if key in state}
        inputs = self.table.with_defaults({**inputs_from_spec(workflow.name, live_spec, state), **kept})
        revision = int(state.get(secret_env.REVISION_OUTPUT) or 0)
        retired = list(state.get(secret_env.RETIRED_OUTPUT) or [])
        return Observed(ident, self._outputs(workflow, runs, inputs, revision, retired), inputs)

    def adoptable_in(self, project_id: str, observed: Observed) -> bool:
        # A v1 workflow does not say which project holds it (the read took the project from the entry): the
        # project's list of workflows does.
        return any(workflow.id == observed.id for workflow in self.api.list_workflows(project_id))

    def delete(self, ident: str, state: dict[str, Any]) -> None:
        try:
            for run in self.api.list_runs(ident):
                if run.active:
                    self.api.cancel_run(ident, run.number)
            self.api.delete_workflow(ident)
        except NotFoundError:
            pass
        secret_env.delete_all(self.api, SECRET_PREFIX, state)

    def _ensure_run(
        self, workflow: Workflow, inputs: dict[str, Any], revision: int, retired: list[str]
    ) -> dict[str, Any]:
        """Start a run for the inputs, unless the latest run already is one (still going or succeeded); wait.

        A new run supersedes older ones still going (they would train and register a stale model): they are
        canceled first. Retired secrets are deleted once no run that could use them is active.
        """
        spec = build_spec(inputs, revision)
        key = spec_key(spec)
        runs = self.api.list_runs(workflow.id)
        latest = runs[-1] if runs else None
        if latest is None or spec_key(latest.spec) != key or latest.failed:
            for run in runs:
                if run.active:
                    log.info("experiment %r: canceling run %d, superseded by a new one", workflow.name, run.number)
                    self.api.cancel_run(workflow.id, run.number)
            latest = self.api.start_run(workflow.id, spec, matches=lambda live: spec_key(live) == key)
            runs = [*runs, latest]
        runs[-1] = self._wait(workflow, latest, inputs)
        idle = not runs[-1].active and not any(run.active for run in runs[:-1])
        kept = secret_env.retire(self.api, inputs["projectId"], retired, now=idle)
        return self._outputs(workflow, runs, inputs, revision, kept)

    def _wait(self, workflow: Workflow, run: WorkflowRun, inputs: dict[str, Any]) -> WorkflowRun:
        what = f"experiment {workflow.name!r} ({workflow.id}) run {run.number}"
        wait: str = inputs["wait"]
        if wait == "none" or inputs.get(WAIT_IN_STACK):  # or the stack's Readiness resource waits for it
            return run

        def probe() -> tuple[bool, str, WorkflowRun]:
            current = self.api.get_run(workflow.id, run.number)
            if current.failed:
                secrets = inputs.get(secret_env.FIELD) or {}
                report = failure_report(self.api, workflow.id, current, secrets)
                raise OperationFailedError(f"experiment {workflow.name!r} ({workflow.id}) {report}")
            done = current.phase == "Succeeded" or (wait == "started" and current.phase == "Running")
            return done, current.phase, current

        return self.wait_for(what, probe, inputs["timeoutSeconds"])

    def _outputs(
        self, workflow: Workflow, runs: list[WorkflowRun], inputs: dict[str, Any], revision: int, retired: list[str]
    ) -> dict[str, Any]:
        latest = runs[-1] if runs else None
        versions = [version for run in runs for version in dataset_versions(run)]
        return {
            **inputs,
            "workflowId": workflow.id,
            "runNumber": latest.number if latest else None,
            "phase": latest.phase if latest else None,
            "startedAt": latest.started if latest else None,
            "finishedAt": latest.finished if latest else None,
            "modelId": self._model_id(runs, inputs),
            "runs": [
                {
                    "number": r.number,
                    "specHash": spec_key(r.spec),
                    "phase": r.phase,
                    "jobs": {
                        name: {"phase": j.phase, "started": j.started, "finished": j.finished, "message": j.message}
                        for name, j in r.jobs.items()
                    },
                }
                for r in runs
            ],
            "artifacts": [
                {k: v for k, v in found.items() if k != "artifacts"} for found in versions if found["artifacts"]
            ],
            "datasetVersions": [{k: v for k, v in found.items() if k != "artifacts"} for found in versions],
            secret_env.REVISION_OUTPUT: revision,
            secret_env.RETIRED_OUTPUT: retired,
        }

    def _model_id(self, runs: list[WorkflowRun], inputs: dict[str, Any]) -> str | None:
        """The model registered under ``model.name``: from the newest succeeded run that registered that name,
        else the newest model of that name in the project (e.g. after the run history was lost)."""
        if not inputs.get("model"):
            return None
        name = inputs["model"]["name"]
        for run in reversed(runs):
            registered = ((run.spec.get("jobs") or {}).get(MODEL_JOB) or {}).get("with") or {}
            if run.phase == "Succeeded" and registered.get("name") == name and (found := model_id_of(run)):
                return found
        named = [m for m in self.api.list_models(inputs["projectId"]) if m.name == name]
        return max(named, key=lambda m: m.dt_created).id if named else None


def failure_report(api: PaperspaceApi, workflow_id: str, run: WorkflowRun, secrets: Mapping[str, Any]) -> str:
    """Why a run failed: its phase and message, each job that did not succeed, and the failed job's last log
    lines with the given secret values and anything that looks like a credential masked."""
    return f"run {run.number} ended {run.phase}: {_failure(run)}{_log_tail(api, workflow_id, run, secrets)}"


def _log_tail(api: PaperspaceApi, workflow_id: str, run: WorkflowRun, secrets: Mapping[str, Any]) -> str:
    """The last lines the failed job logged (a job may print its environment: values are masked)."""
    failed = [name for name, job in run.jobs.items() if job.phase in ("Failed", "Error")]
    if not failed:
        return ""
    # the job the run's message names first: the one that failed the run when several ended badly
    failed.sort(key=lambda name: f"'{name}'" not in (run.message or ""))
    try:
        logs = {job.name: job for job in api.run_logs(workflow_id, run)}
    except GradientApiError as error:
        return f"\n(the logs of job {failed[0]!r} could not be read: {error})"
    job = logs.get(failed[0])
    if job is None or not job.lines:
        return f"\n(job {failed[0]!r} logged nothing)"
    values = [str(v) for v in secrets.values() if isinstance(v, str) and v]
    shown = []
    for line in job.lines[-LOG_TAIL_LINES:]:
        text = line.message
        for value in values:
            text = text.replace(value, "[secret]")
        shown.append(f"  {mask_text(text)}")
    header = f"last {len(shown)} log line(s) of job {failed[0]!r}"
    hint = f"python -m gradient_provider logs --stack STACK EXPERIMENT --run {run.number} --job {failed[0]}"
    return f"\n{header} (all of them: {hint}):\n" + "\n".join(shown)


def _failure(run: WorkflowRun) -> str:
    """The run's message, and each job that did not succeed with its own message (unless the run's says it)."""
    parts = [run.message] if run.message else []
    for name, job in run.jobs.items():
        if job.phase in ("Failed", "Error") and not (job.message and run.message and job.message in run.message):
            parts.append(f"job {name!r} {job.phase}" + (f": {job.message}" if job.message else ""))
    return "; ".join(parts) or "no message"
