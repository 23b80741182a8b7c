"""How the Readiness resource observes deployments: one list per project per poll, whatever their number.

The list (projectDeployments-list) gives each deployment's latest spec: applied, healthy, or rejected. Errored
instances show only in a deployment's runs, so each poll also reads the runs of one deployment that is
applied but not healthy yet, in turn: a crash loop fails the wait within a few polls, and a poll costs one
list per project plus at most one read.
"""

from __future__ import annotations

from collections import defaultdict

from ...client import PaperspaceApi
from ...client.models import Deployment
from ...readiness.watch import Seen, Target
from .lifecycle import masked, observe


class DeploymentWatch:
    def poll(self, api: PaperspaceApi, targets: list[Target], round_: int) -> dict[str, Seen]:
        by_project: dict[str, list[Target]] = defaultdict(list)
        for target in targets:
            by_project[target.project_id].append(target)
        found: dict[str, Deployment] = {}
        for project_id in by_project:
            found.update({d.id: d for d in api.project_deployments(project_id)})
        seen: dict[str, Seen] = {}
        unhealthy: list[Target] = []
        for target in targets:
            deployment = found.get(target.id)
            if deployment is None:
                seen[target.resource] = Seen("gone", failure="it no longer exists on Paperspace")
                continue
            status, _, detail = observe(deployment, [])
            seen[target.resource] = _seen(target, deployment, status, detail)
            if status == "applied" and not seen[target.resource].done:
                unhealthy.append(target)
        if unhealthy:  # errored instances show only in runs: one deployment's, in turn
            target = unhealthy[round_ % len(unhealthy)]
            deployment = found[target.id]
            status, _, detail = observe(deployment, api.deployment_runs(target.id))
            seen[target.resource] = _seen(target, deployment, status, detail)
        return seen


def _seen(target: Target, deployment: Deployment, status: str, detail: str) -> Seen:
    detail = masked(detail, [str(v) for v in target.secrets.values() if isinstance(v, str) and v])
    progress = f"{status}: {detail}"
    if status == "failed":
        return Seen(progress, failure=detail)
    done = status in ("ready", "disabled") if target.wait == "ready" else status != "pending"  # or: applied
    spec = deployment.latest_spec
    # named as the deployment's own outputs, which the stack exports take them for; ready means every replica
    wanted = int(((spec.data.get("resources") or {}) if spec else {}).get("replicas", 1))
    final = {
        "status": status,
        "specId": spec.id if spec else None,
        "endpoint": deployment.url,
        "readyReplicas": wanted if status == "ready" else None,
    }
    return Seen(progress, done=done, final=final)
