"""The Pulumi program: declare the resources of one stack file, with real dependencies between them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pulumi

from .guardrails import WARN, denied, evaluate
from .kinds import Kind, in_dependency_order, registry
from .lifecycles import secret_env
from .lifecycles.policy import OWNER, WAIT_IN_STACK
from .readiness.lifecycle import READINESS_ID
from .resources import RESOURCES, GradientResource, Readiness
from .stack import Declaration, SecretRef, StackFile, load_stack
from .yaml_source import SourceError

STACKS_DIR = Path("stacks")

# section -> key -> the declared resource
DeclaredStack = dict[str, dict[str, GradientResource]]


def run_stack(stack_name: str, root: Path | None = None) -> DeclaredStack:
    """Load ``stacks/<stack>.yaml``, declare its resources and export their ids, endpoints and runs.

    Every check happens before the first resource is declared, so an invalid file applies nothing.
    """
    path = (root or Path.cwd()) / STACKS_DIR / f"{stack_name}.yaml"
    try:
        stack = load_stack(path)
    except SourceError as error:
        raise pulumi.RunError(f"invalid stack file {path}:\n{error}") from None
    violations = evaluate(stack)
    for warning in (v for v in violations if v.level == WARN):
        pulumi.log.warn(str(warning))
    refused = denied(violations)
    if refused:
        lines = "\n".join(str(violation) for violation in refused)
        raise pulumi.RunError(f"the stack's policy denies it; nothing was applied:\n{lines}")
    secrets = _secret_config(stack)
    deferred = deferred_waits(stack)
    declared = declare(stack, secrets, deferred)
    readiness = declare_readiness(stack, declared, deferred)
    export(declared, readiness)
    return declared


def _secret_config(stack: StackFile) -> dict[str, pulumi.Output[str]]:
    config = pulumi.Config()
    missing = [key for key in stack.secret_keys if config.get_secret(key) is None]
    if missing:
        lines = "\n".join(f"  pulumi config set --secret {key} <value>" for key in missing)
        raise pulumi.RunError(f"{stack.file}: secret config is missing; set it with:\n{lines}")
    return {key: config.require_secret(key) for key in stack.secret_keys}


def _inputs(kind: Kind, declaration: Declaration, secrets: dict[str, pulumi.Output[str]]) -> dict[str, Any]:
    """Provider inputs: values read from secret config go to ``secretEnv`` (kept as Paperspace project
    secrets, never written into a spec); the rest of a secret-valued map stays as written."""
    inputs = dict(declaration.inputs)
    for name, rule in kind.table.fields.items():
        if not rule.secret_values or name not in inputs:
            continue
        values = inputs.pop(name)
        plain = {var: value for var, value in values.items() if not isinstance(value, SecretRef)}
        secret = {var: secrets[value.key] for var, value in values.items() if isinstance(value, SecretRef)}
        if plain:
            inputs[name] = plain
        if secret:
            inputs[secret_env.FIELD] = secret
    return inputs


def declare(stack: StackFile, secrets: dict[str, pulumi.Output[str]], deferred: set[tuple[str, str]]) -> DeclaredStack:
    """Declare every entry, kinds in dependency order; a reference becomes the target resource's output,
    so it is a real dependency (a deployment waits for the experiment whose model it mounts)."""
    declared: DeclaredStack = {}
    for kind in in_dependency_order():
        resource_class = RESOURCES[kind.kind]
        declared[kind.section] = {}
        for key, declaration in stack.section(kind.section).items():
            inputs = _inputs(kind, declaration, secrets)
            if OWNER in kind.table.fields:  # what marks the object a create makes
                inputs[OWNER] = f"{pulumi.get_project()}/{pulumi.get_stack()}/{kind.section}/{key}"
            if (kind.section, key) in deferred:
                inputs[WAIT_IN_STACK] = True
            for ref in kind.references:
                if ref.within is not None:
                    keys = declaration.nested_references.get(ref.input, ())
                    if keys:
                        inputs[ref.input] = {key: _output(declared[ref.target][key], ref.output) for key in keys}
                    continue
                target_key = declaration.references.get(ref.field)
                if target_key is not None:
                    inputs[ref.input] = _output(declared[ref.target][target_key], ref.output)
            declared[kind.section][key] = resource_class(key, inputs)
    return declared


def deferred_waits(stack: StackFile) -> set[tuple[str, str]]:
    """The entries whose waits the stack's Readiness resource takes over: those of kinds that can be watched,
    that wait for something, and whose outputs no other entry consumes (an experiment whose model a deployment
    mounts must finish in its own operation: the deployment needs the model's id to be created)."""
    consumed = {
        (ref.target, target)
        for kind in registry()
        for ref in kind.references
        if ref.within is None and ref.output != "id"
        for declaration in stack.section(kind.section).values()
        if (target := declaration.references.get(ref.field)) is not None
    }
    return {
        (kind.section, key)
        for kind in registry()
        if kind.watch is not None
        for key, declaration in stack.section(kind.section).items()
        if kind.table.with_defaults(declaration.inputs).get("wait") != "none" and (kind.section, key) not in consumed
    }


def declare_readiness(stack: StackFile, declared: DeclaredStack, deferred: set[tuple[str, str]]) -> Readiness | None:
    """The one resource that waits for every deferred entry at once, after all of them; None when none is."""
    targets = []
    for kind in registry():
        for key in sorted(stack.section(kind.section)):
            if (kind.section, key) not in deferred:
                continue
            resource = declared[kind.section][key]
            inputs = kind.table.with_defaults(stack.section(kind.section)[key].inputs)
            targets.append(
                {
                    "resource": f"{kind.section}.{key}",
                    "kind": kind.kind,
                    "id": resource.id,
                    "projectId": _output(resource, "projectId"),
                    "name": inputs["name"],
                    "wait": inputs["wait"],
                    "timeoutSeconds": inputs["timeoutSeconds"],
                    "since": _output(resource, kind.watch_since),
                    # masked in the log lines a failure quotes; a secret input, encrypted in state
                    "secrets": getattr(resource, secret_env.FIELD, None) or {},
                }
            )
    return Readiness(READINESS_ID, {"targets": targets}) if targets else None


def _output(resource: GradientResource, output: str) -> pulumi.Output[Any]:
    """A resource's output that a reference resolves to: its Pulumi id, or a named output."""
    return resource.id if output == "id" else getattr(resource, output)


def export(declared: DeclaredStack, readiness: Readiness | None = None) -> None:
    """Each kind's exports; for an entry the Readiness resource waited for, the values it reached (a status, a
    run's phase and model) rather than those its own operation returned before it settled."""
    for kind in registry():
        pulumi.export(
            kind.section,
            {
                key: {
                    name: _exported(resource, output, f"{kind.section}.{key}", readiness)
                    for name, output in kind.exports.items()
                }
                for key, resource in declared.get(kind.section, {}).items()
            },
        )
    if readiness is not None:
        pulumi.export("readiness", readiness.statuses)


def _exported(resource: GradientResource, output: str, name: str, readiness: Readiness | None) -> pulumi.Output[Any]:
    own = _output(resource, output)
    if readiness is None or output == "id":
        return own
    return pulumi.Output.all(own, readiness.statuses).apply(
        lambda values: (values[1] or {}).get(name, {}).get(output, values[0])
    )
