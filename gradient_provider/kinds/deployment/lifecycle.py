"""Deployment: a model endpoint, created and updated through the v1 upsert. Pulumi id = deployment id."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ...client import GradientApiError, NotFoundError
from ...client.models import Deployment, DeploymentRun
from ...credentials import mask_text
from ...lifecycles import secret_env
from ...lifecycles.base import Created, Lifecycle, Observed, OperationFailedError
from ...lifecycles.policy import WAIT_IN_STACK, Policy
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
        ready = ready if run else wanted  # healthy: every replica was ready (the runs were not read)
        return "ready", ready, f"{ready}/{wanted} replicas ready"
    return "applied", ready, f"{ready}/{wanted} replicas ready"


Observation = tuple[Deployment, list[DeploymentRun]]


@dataclass
class _Watch:
    """The last observation of a wait. A failed wait raises; what it saw last still names the spec and its state."""

    seen: Observation | None = None

    @property
    def spec_id(self) -> str:
        spec = self.seen[0].latest_spec if self.seen else None
        return spec.id if spec else "(none seen)"

    @property
    def state(self) -> str:
        if self.seen is None:
            return "not observed"
        status, _, detail = observe(*self.seen)
        return f"{status}: {detail}"


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
        watch = _Watch()
        olds = self._with_status_before(ident, olds, news)
        # A rollback needs this update to see the failure itself: then it waits here, holding a slot.
        rolls_back = bool(news["rollback"]) and olds.get("status") == "ready"
        wait = "none" if news.get(WAIT_IN_STACK) and not rolls_back else news["wait"]
        try:
            self.api.upsert_deployment(news["projectId"], build_config(news, revision), deployment_id=ident)
            observed = self._wait(ident, news["name"], wait, news["timeoutSeconds"], watch, _secrets(olds, news))
        except OperationFailedError as failure:  # the new spec's instances failed, or its time ran out
            raise self._after_failed_update(ident, olds, news, synced, watch, failure) from failure
        except Exception:
            synced.undo(self.api)  # Pulumi keeps the old state: so does Paperspace, as far as secrets go
            raise
        return self._finish(ident, news, revision, retired + synced.retired, observed)

    def _with_status_before(self, ident: str, olds: dict[str, Any], news: dict[str, Any]) -> dict[str, Any]:
        """The old state with the status the deployment has now, when the state cannot know it: its last
        operation returned before it settled (the stack's Readiness resource waited), so whether there is a
        healthy spec to roll back to is read from Paperspace (one look, only when a rollback could follow)."""
        if (not olds.get(WAIT_IN_STACK) and not news.get(WAIT_IN_STACK)) or not news["rollback"]:
            return olds
        if olds.get("status") == "ready":
            return olds
        status, _, _ = observe(self.api.get_deployment(ident), self.api.deployment_runs(ident))
        return {**olds, "status": status}

    def read(self, ident: str, state: dict[str, Any]) -> Observed | None:
        try:
            deployment = self.api.get_deployment(ident)
            # one read per deployment when it is healthy: its runs only tell more while it is not
            healthy = deployment.latest_spec is not None and bool(deployment.latest_spec.dt_healthy)
            runs = [] if healthy else self.api.deployment_runs(ident)
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
        """Wait as the inputs ask (unless the stack's Readiness resource waits instead) and return every output."""
        wait = "none" if inputs.get(WAIT_IN_STACK) else inputs["wait"]
        observed = self._wait(deployment_id, inputs["name"], wait, inputs["timeoutSeconds"], _Watch(), _secrets(inputs))
        return self._finish(deployment_id, inputs, revision, retired, observed)

    def _wait(
        self, deployment_id: str, name: str, wait: str, timeout_seconds: float, watch: _Watch, secrets: list[str]
    ) -> Observation:
        """Wait as ``wait`` asks, failing fast on errored instances; ``watch`` keeps the last observation, so a
        failed wait can still say which spec it saw and in what state. An instance's message may echo its
        environment: ``secrets`` (values) and anything that looks like a credential are masked in it."""
        what = f"deployment {name!r} ({deployment_id})"

        def probe() -> tuple[bool, str, Observation]:
            latest = (self.api.get_deployment(deployment_id), self.api.deployment_runs(deployment_id))
            watch.seen = latest
            status, _, detail = observe(*latest)
            if status == "failed" and wait != "none":  # fail fast: errored instances do not recover by waiting
                raise OperationFailedError(f"{what} failed: {masked(detail, secrets)}")
            if wait == "ready":
                done = status in ("ready", "disabled")
            elif wait == "applied":
                done = status != "pending"
            else:
                done = True
            return done, f"{status}: {detail}", latest

        return self.wait_for(what, probe, timeout_seconds)

    def _finish(
        self, deployment_id: str, inputs: dict[str, Any], revision: int, retired: list[str], observed: Observation
    ) -> dict[str, Any]:
        """Every output after a wait. Retired secrets are deleted once the deployment is ready on the new spec
        (no old replica can need them any more)."""
        deployment, runs = observed
        settled = observe(deployment, runs)[0] in ("ready", "disabled")
        kept = secret_env.retire(self.api, inputs["projectId"], retired, now=settled)
        return self._outputs(inputs, deployment, runs, revision, kept)

    # -- rollback of a failed update ------------------------------------------------------------------------

    def _after_failed_update(
        self,
        ident: str,
        olds: dict[str, Any],
        news: dict[str, Any],
        synced: secret_env.Sync,
        watch: _Watch,
        failure: OperationFailedError,
    ) -> OperationFailedError:
        """The new spec failed or ran out of time: roll back when asked and when there is a healthy spec to go back
        to. The error always fails the update (Pulumi keeps the old state) and says what was done and what runs."""
        new_spec = f"spec {watch.spec_id}"
        if not news["rollback"]:
            synced.undo(self.api)
            return OperationFailedError(
                f"{failure}\nNot rolled back: rollback is off (`rollback: false`); the failed {new_spec} is left in "
                f"place ({watch.state}). Pulumi keeps the previous inputs; `refresh` shows what runs."
            )
        if olds.get("status") != "ready":
            synced.undo(self.api)
            return OperationFailedError(
                f"{failure}\nNot rolled back: the deployment was not ready before this update (its status was "
                f"{olds.get('status')!r}), so it has no healthy spec to go back to; the failed {new_spec} is left in "
                f"place ({watch.state})."
            )
        old_spec = f"spec {olds.get('specId')}"
        log.info("deployment %r (%s): %s failed; rolling back to %s", news["name"], ident, new_spec, old_spec)
        rollback = _Watch()
        try:
            self._roll_back(ident, olds, news, synced, rollback)
        except (OperationFailedError, GradientApiError) as error:
            latest = rollback if rollback.seen else watch
            return OperationFailedError(
                f"{failure}\nRollback failed: the new {new_spec} failed, and going back to the config that was "
                f"ready before this update ({old_spec}) failed too: {error}\nLatest state: spec {latest.spec_id}, "
                f"{latest.state}. Pulumi keeps the previous inputs; `refresh` shows what runs."
            )
        return OperationFailedError(
            f"{failure}\nRolled back: the new {new_spec} failed, so the config that was ready before this update "
            f"({old_spec}) was applied again and is live as spec {rollback.spec_id} ({rollback.state}). Pulumi keeps "
            "the previous inputs, which match what runs; the next `up` tries the change again."
        )

    def _roll_back(
        self, ident: str, olds: dict[str, Any], news: dict[str, Any], synced: secret_env.Sync, watch: _Watch
    ) -> Observation:
        """Apply the spec that was ready before the update again and wait until it is ready. Paperspace has no
        rollback call, so this upserts the old inputs through the wire mapping with the old secrets revision,
        which gives the old config exactly; the resource's own ``timeoutSeconds`` bounds the wait."""
        self._restore_secrets(synced)
        old = self.table.with_defaults(olds)
        revision = int(olds.get(secret_env.REVISION_OUTPUT) or 0)
        self.api.upsert_deployment(old["projectId"], build_config(old, revision), deployment_id=ident)
        return self._wait(ident, old["name"], "ready", news["timeoutSeconds"], watch, _secrets(olds, news))

    def _restore_secrets(self, synced: secret_env.Sync) -> None:
        """Give the old spec's secrets their old values before it starts again (replicas read them as they start),
        and delete the ones this update made. Unlike ``Sync.undo``, a value that cannot be put back stops the
        rollback: the old spec must not run with new values while Pulumi's state holds the old ones."""
        try:
            for name, value in sorted(synced.previous.items()):
                if value is None:
                    with contextlib.suppress(GradientApiError):
                        self.api.delete_secret(synced.project_id, name)
                else:
                    self.api.put_secret(synced.project_id, name, value)
        except GradientApiError:
            synced.undo(self.api)  # best effort for the rest, as a failed update without rollback does
            raise

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


def _secrets(*states: Mapping[str, Any]) -> list[str]:
    """The secret env values of the given inputs (old and new), to mask in what a failure quotes."""
    return [
        str(v) for state in states for v in (state.get(secret_env.FIELD) or {}).values() if isinstance(v, str) and v
    ]


def masked(text: str, secrets: list[str]) -> str:
    for value in secrets:
        text = text.replace(value, "[secret]")
    return mask_text(text)
