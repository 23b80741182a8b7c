"""Deployment: a model endpoint, created and updated through the v1 upsert. Pulumi id = deployment id."""

from __future__ import annotations

import contextlib
import logging
from typing import Any

from ...client import GradientApiError, NotFoundError
from ...client.models import Deployment, DeploymentRun
from ...lifecycles import secret_env
from ...lifecycles.base import Created, Lifecycle, Observed, OperationFailedError
from ...lifecycles.policy import Policy
from .table import SECRET_PREFIX, TABLE
from .wire import build_config, inputs_from_config

log = logging.getLogger("gradient_provider")

_LOCAL_ONLY = TABLE.by_policy(Policy.LOCAL_ONLY)


def observe(deployment: Deployment, runs: list[DeploymentRun]) -> tuple[str, int, str]:
    """(status, ready replicas, a sentence for logs and errors) from a deployment and its runs."""
    spec = deployment.latest_spec
    if spec is None:
        return "pending", 0, "no spec yet"
    if spec.error and not spec.external_applied:
        return "failed", 0, f"the spec was rejected: {spec.error}"
    if not spec.external_applied:
        return "pending", 0, "waiting for the spec to be applied"
    resources = spec.data.get("resources") or {}
    wanted = int(resources.get("replicas", 1)) if spec.data.get("enabled", True) else 0
    if wanted == 0:
        return "disabled", 0, "scaled to zero"
    run = runs[0] if runs else None
    ready = run.ready_replicas if run else 0
    failing = [i for i in run.instances if i.failed] if run else []
    if failing:
        detail = "; ".join(f"instance {i.id} {i.state}: {i.message or 'no message'}" for i in failing)
        return "failed", ready, detail
    if spec.dt_healthy:
        return "ready", ready, f"{ready}/{wanted} replicas ready"
    return "applied", ready, f"{ready}/{wanted} replicas ready"


class DeploymentLifecycle(Lifecycle):
    table = TABLE

    def create(self, inputs: dict[str, Any]) -> Created:
        existing = self.api.find_deployment(inputs["projectId"], inputs["name"])
        previous: dict[str, Any] = {}
        if existing is not None:
            log.info("deployment %r: adopting the existing deployment %s of that name", inputs["name"], existing.id)
            live = existing.latest_spec.data if existing.latest_spec else {}
            previous[secret_env.REVISION_OUTPUT] = inputs_from_config(existing.project_id, live, {})[1]
        # Adopting: one more than the revision it runs, so a changed secret value restarts its replicas.
        revision = secret_env.next_revision(previous, inputs)
        synced = secret_env.sync(self.api, SECRET_PREFIX, inputs["projectId"], {}, inputs)
        try:
            deployment_id = self.api.upsert_deployment(inputs["projectId"], build_config(inputs, revision))
        except Exception:
            if existing is None:
                # The upsert may have been applied although it failed (its answer lost, the retries spent):
                # what this create made must not outlive the create Pulumi does not record.
                with contextlib.suppress(GradientApiError):
                    made = self.api.find_deployment(inputs["projectId"], inputs["name"])
                    if made is not None:
                        self.api.delete_deployment(made.id)
            self._forget_secrets(inputs, synced, adopted=existing is not None)
            raise
        try:
            return Created(deployment_id, self._settle(deployment_id, inputs, revision, []))
        except Exception as error:
            if existing is not None:
                raise
            # Pulumi records nothing for a failed create: remove what this create made, so nothing is orphaned.
            with contextlib.suppress(NotFoundError):
                self.api.delete_deployment(deployment_id)
            self._forget_secrets(inputs, synced, adopted=False)
            raise OperationFailedError(f"{error}\nThe new deployment {deployment_id} was deleted again.") from error

    def update(self, ident: str, olds: dict[str, Any], news: dict[str, Any]) -> dict[str, Any]:
        revision = secret_env.next_revision(olds, news)
        retired = list(olds.get(secret_env.RETIRED_OUTPUT) or [])
        if not self.diff(olds, news).touches_api:
            return {**olds, **news, secret_env.REVISION_OUTPUT: revision, secret_env.RETIRED_OUTPUT: retired}
        synced = secret_env.sync(self.api, SECRET_PREFIX, news["projectId"], olds, news)
        try:
            self.api.upsert_deployment(news["projectId"], build_config(news, revision), deployment_id=ident)
            return self._settle(ident, news, revision, retired + synced.retired)
        except Exception:
            synced.undo(self.api)  # Pulumi keeps the old state: so does Paperspace, as far as secrets go
            raise

    def read(self, ident: str, state: dict[str, Any]) -> Observed | None:
        try:
            deployment = self.api.get_deployment(ident)
            runs = self.api.deployment_runs(ident)
        except NotFoundError:
            return None
        config = deployment.latest_spec.data if deployment.latest_spec else {}
        live, revision = inputs_from_config(deployment.project_id, config, state)
        inputs = self.table.with_defaults({**live, **{k: state[k] for k in _LOCAL_ONLY if k in state}})
        retired = list(state.get(secret_env.RETIRED_OUTPUT) or [])
        return Observed(ident, self._outputs(inputs, deployment, runs, revision, retired), inputs)

    def delete(self, ident: str, state: dict[str, Any]) -> None:
        with contextlib.suppress(NotFoundError):
            self.api.delete_deployment(ident)
        secret_env.delete_all(self.api, SECRET_PREFIX, state)

    def _forget_secrets(self, inputs: dict[str, Any], synced: secret_env.Sync, *, adopted: bool) -> None:
        with contextlib.suppress(GradientApiError):
            if adopted:
                synced.undo(self.api)
            else:
                secret_env.delete_all(self.api, SECRET_PREFIX, inputs)

    def _settle(self, deployment_id: str, inputs: dict[str, Any], revision: int, retired: list[str]) -> dict[str, Any]:
        """Wait as the inputs ask, failing fast on errored instances; return every output. Retired secrets are
        deleted once the deployment is ready on the new spec (no old replica can need them any more)."""
        what = f"deployment {inputs['name']!r} ({deployment_id})"
        wait: str = inputs["wait"]

        def probe() -> tuple[bool, str, tuple[Deployment, list[DeploymentRun]]]:
            latest = (self.api.get_deployment(deployment_id), self.api.deployment_runs(deployment_id))
            status, _, detail = observe(*latest)
            if status == "failed" and wait != "none":  # fail fast: errored instances do not recover by waiting
                raise OperationFailedError(f"{what} failed: {detail}")
            if wait == "ready":
                done = status in ("ready", "disabled")
            elif wait == "applied":
                done = status != "pending"
            else:
                done = True
            return done, f"{status}: {detail}", latest

        deployment, runs = self.wait_for(what, probe, inputs["timeoutSeconds"])
        settled = observe(deployment, runs)[0] in ("ready", "disabled")
        kept = secret_env.retire(self.api, inputs["projectId"], retired, now=settled)
        return self._outputs(inputs, deployment, runs, revision, kept)

    @staticmethod
    def _outputs(
        inputs: dict[str, Any], deployment: Deployment, runs: list[DeploymentRun], revision: int, retired: list[str]
    ) -> dict[str, Any]:
        status, ready, _ = observe(deployment, runs)
        return {
            **inputs,
            "deploymentId": deployment.id,
            "endpoint": deployment.url,
            "specId": deployment.latest_spec.id if deployment.latest_spec else None,
            "readyReplicas": ready,
            "status": status,
            secret_env.REVISION_OUTPUT: revision,
            secret_env.RETIRED_OUTPUT: retired,
        }
