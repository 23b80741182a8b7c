"""``python -m gradient_provider``: check stack files without Pulumi, credentials or network.

validate [FILE ...]   every stacks/*.yaml, Pulumi.yaml and Pulumi.<stack>.yaml by default; exit 0 when all
                      are valid, 1 otherwise, with one ``FILE:LINE: path: message`` line per problem; 4 when a
                      stack file's `policy:` denies it (docs/guardrails.md)
schema [--write]      print schemas/stack.schema.json as derived from the field-policy tables, or rewrite it
secrets FILE          list the secret Pulumi config keys a stack file reads
reference [--write]   check (or rewrite) the README's field reference
plan [FILE ...]       review what a stack-file change will do, against a git revision
logs --stack S EXPERIMENT [--run N] [--job J] [--follow]
                      print a run's logs (the latest run by default), job by job
artifacts --stack S EXPERIMENT [--run N]
                      list each job's artifacts dataset version per run (id, size, created)
drift --stack S [--format text|markdown]
                      what differs between stacks/S.yaml and what runs on Paperspace, per resource; exit 0
                      when nothing does, 2 when something does (no Pulumi CLI or state needed)
import --project ID [--project ID ...] [--dataset ID ...] --stack NAME [--force]
                      write stacks/NAME.yaml adopting (`adopt:`) those projects' deployments, workflows, the
                      datasets they use and the projects themselves; reads only, never a secret value
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import NoReturn

from .guardrails import POLICY_DENIED, denied, evaluate
from .kinds import registry
from .pulumi_files import PROJECT_FILE, check_file, is_pulumi_file
from .reference import refresh
from .review.gitsource import GitError, files_at, read_at
from .review.plan import StackPlan, plan_stack
from .review.render import to_json, to_markdown
from .stack import StackFile, load_stack, parse_stack, repository_root
from .stack_schema import render
from .yaml_source import MAX_BYTES, Problem, SourceError, decode

SCHEMA_FILE = Path("schemas/stack.schema.json")


def validate(files: list[str]) -> int:
    paths = [Path(f) for f in files] or sorted(Path("stacks").glob("*.yaml"))
    pulumi_files = [path for path in paths if is_pulumi_file(path)]
    paths = [path for path in paths if not is_pulumi_file(path)]
    if not files and Path(PROJECT_FILE).exists():
        pulumi_files = [Path(PROJECT_FILE), *sorted(Path(".").glob("Pulumi.*.yaml"))]
    if not paths and not pulumi_files:
        print("no stack files: give FILE arguments or run where stacks/*.yaml exist", file=sys.stderr)
        return 1
    failed = policy_denied = False
    for path in pulumi_files:
        try:
            problems = check_file(path)
        except Exception as error:  # a bug: still one clean line and exit 1 (the fuzz suite fails on these)
            problems = [internal_error(path, error)]
        failed = failed or bool(problems)
        for problem in problems:
            print(problem)
        if not problems:
            print(
                f"{path}: ok (Pulumi {'project' if path.name == PROJECT_FILE else 'stack config'} file)",
                file=sys.stderr,
            )
    for path in paths:
        try:
            stack = load_stack(path)
        except SourceError as error:
            failed = True
            for problem in error.problems:
                print(problem)
            continue
        except Exception as error:  # a bug: still one clean line and exit 1 (the fuzz suite fails on these)
            failed = True
            print(internal_error(path, error))
            continue
        violations = evaluate(stack)
        for violation in violations:
            print(violation)
        if denied(violations):
            policy_denied = True
            continue
        counts = ", ".join(f"{len(stack.section(kind.section))} {kind.section}" for kind in registry())
        print(f"{path}: ok ({counts})", file=sys.stderr)
    return 1 if failed else POLICY_DENIED if policy_denied else 0


def internal_error(path: Path, error: Exception) -> Problem:
    """What a bug in the checks prints: the file, and the kind of error (never its message, which may quote
    the file's values)."""
    return Problem(str(path), 1, "(file)", f"internal error ({type(error).__name__}) while checking; please report it")


def schema(write: bool) -> int:
    if write:
        SCHEMA_FILE.parent.mkdir(parents=True, exist_ok=True)
        SCHEMA_FILE.write_text(render())
        print(f"wrote {SCHEMA_FILE}", file=sys.stderr)
    else:
        sys.stdout.write(render())
    return 0


def secrets(file: str) -> int:
    try:
        stack = load_stack(Path(file))
    except SourceError as error:
        print(error, file=sys.stderr)
        return 1
    for key in stack.secret_keys:
        print(key)
    return 0


def reference(write: bool) -> int:
    readme = Path("README.md")
    if refresh(readme, write) or write:
        return 0
    print(
        f"{readme}: the field reference is stale; run: python -m gradient_provider reference --write", file=sys.stderr
    )
    return 1


def plan(files: list[str], stack: str | None, base: str, output: str) -> int:
    paths = [Path(f) for f in files] + ([Path("stacks") / f"{stack}.yaml"] if stack else [])
    try:
        if not paths:
            names = {p.name for p in Path("stacks").glob("*.yaml")} | set(files_at(base, Path("stacks")))
            paths = [Path("stacks") / name for name in sorted(names)]
        plans = [_plan_one(path, base) for path in paths]
    except SourceError as error:
        for problem in error.problems:
            print(problem)
        return 1
    except GitError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except Exception as error:  # a bug: one clean line and exit 1, never a value of the files
        print(f"error: internal error ({type(error).__name__}) while planning; please report it", file=sys.stderr)
        return 1
    code = max((p.exit_code for p in plans), default=0)
    sys.stdout.write(to_json(plans, code) if output == "json" else to_markdown(plans))
    return code


def _plan_one(path: Path, base: str) -> StackPlan:
    """Both sides of one stack file. A credential-looking literal is no error here (a change that removes one
    must be reviewable): the plan redacts it and warns instead."""
    name = f"{path}@{base}"
    old_data = read_at(base, path, limit=MAX_BYTES)
    old = parse_stack(name, decode(name, old_data), credentials=False) if old_data is not None else StackFile(name)
    new = load_stack(path, credentials=False, local=False) if path.exists() else StackFile(str(path))
    return plan_stack(str(path), base, old, new, root=repository_root(path))


class _Parser(argparse.ArgumentParser):
    """Usage errors exit 1, as every other error here: 2, 3 and 4 say what `plan` and `drift` found."""

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(1, f"{self.prog}: error: {message}\n")


def main(argv: list[str] | None = None) -> int:
    parser = _Parser(
        prog="python -m gradient_provider", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    commands = parser.add_subparsers(dest="command", required=True)
    validate_parser = commands.add_parser("validate", help="validate stack files")
    validate_parser.add_argument("files", nargs="*", metavar="FILE")
    schema_parser = commands.add_parser("schema", help="print or write the stack file JSON Schema")
    schema_parser.add_argument("--write", action="store_true", help=f"write {SCHEMA_FILE}")
    secrets_parser = commands.add_parser("secrets", help="list the secret config keys a stack file reads")
    secrets_parser.add_argument("file", metavar="FILE")
    reference_parser = commands.add_parser("reference", help="check or rewrite the README's field reference")
    reference_parser.add_argument("--write", action="store_true", help="rewrite README.md")
    plan_parser = commands.add_parser("plan", help="review what a stack-file change will do")
    plan_parser.add_argument("files", nargs="*", metavar="FILE")
    plan_parser.add_argument("--stack", metavar="NAME", help="plan stacks/NAME.yaml")
    plan_parser.add_argument("--base", default="HEAD", metavar="REF", help="git revision to compare with")
    plan_parser.add_argument("--format", dest="output", choices=["markdown", "json"], default="markdown")
    for name, text in (("logs", "print an experiment run's logs"), ("artifacts", "list an experiment's artifacts")):
        runs_parser = commands.add_parser(name, help=text)
        runs_parser.add_argument("--stack", required=True, metavar="NAME", help="the stack (stacks/NAME.yaml)")
        runs_parser.add_argument("experiment", metavar="EXPERIMENT", help="the experiment's key in the stack file")
        runs_parser.add_argument("--run", type=int, metavar="N", help="run number (default: the latest)")
        if name == "logs":
            runs_parser.add_argument("--job", metavar="J", help="only this job's lines")
            runs_parser.add_argument("--follow", action="store_true", help="keep printing until the run ends")
    import_parser = commands.add_parser("import", help="write a stack file that adopts what already runs")
    import_parser.add_argument("--project", action="append", required=True, metavar="ID", help="a project to import")
    import_parser.add_argument("--dataset", action="append", default=[], metavar="ID", help="a dataset to add")
    import_parser.add_argument("--stack", required=True, metavar="NAME", help="write stacks/NAME.yaml")
    import_parser.add_argument("--force", action="store_true", help="overwrite stacks/NAME.yaml if it exists")
    drift_parser = commands.add_parser("drift", help="what differs between a stack file and what runs")
    drift_parser.add_argument("--stack", required=True, metavar="NAME", help="the stack (stacks/NAME.yaml)")
    drift_parser.add_argument("--format", dest="output", choices=["text", "markdown"], default="text")
    args = parser.parse_args(argv)
    if args.command == "drift":
        from .drift import main as drift_main  # imports the HTTP client: only for this command

        return drift_main(args.stack, args.output, Path.cwd())
    if args.command == "import":
        from .importer import main as import_main  # imports the HTTP client: only for this command

        return import_main(args.project, args.stack, dataset_ids=args.dataset, force=args.force, root=Path.cwd())
    if args.command in ("logs", "artifacts"):
        from .runs_cli import main as runs_main  # imports the HTTP client: only for these two commands

        return runs_main(
            args.command,
            args.stack,
            args.experiment,
            args.run,
            getattr(args, "job", None),
            getattr(args, "follow", False),
        )
    if args.command == "plan":
        return plan(args.files, args.stack, args.base, args.output)
    if args.command == "reference":
        return reference(args.write)
    if args.command == "validate":
        return validate(args.files)
    if args.command == "secrets":
        return secrets(args.file)
    return schema(args.write)


if __name__ == "__main__":
    sys.exit(main())
