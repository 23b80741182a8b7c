"""A recording stand-in for the Pulumi CLI, for tests of the scripts and README commands that call `pulumi`.

It does what the real CLI does before any work, so that a project the real CLI refuses fails here too:
- every command loads `Pulumi.yaml` from the working directory: Pulumi's own JSON Schema for it
  (../shared/reference/pulumi-project.schema.json) and the `Project.Validate` rules must pass;
- `preview`, `up`, `refresh` and `destroy` start the Python language host, which, per `runtime.options`,
  needs `uv` on PATH (toolchain uv: "Could not find `uv` executable") or runs
  `<virtualenv>/bin/python -m pip list --format json` (toolchain pip) and fails when that fails.
Then it records the call (argv, a few environment variables, stdin for `config set` without a value) as a
JSON line in $FAKE_PULUMI_LOG. `config get` exits 1 (nothing is set); `up` checks that PAPERSPACE_API_URL,
when set, answers /health.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Any

RECORDED_ENV = ("PULUMI_BACKEND_URL", "PULUMI_CONFIG_PASSPHRASE", "PAPERSPACE_API_KEY", "PAPERSPACE_API_URL")
ENGINE_COMMANDS = ("preview", "up", "refresh", "destroy")


def _fail(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return 255


def _load_project(cwd: Path, repo_root: Path) -> tuple[dict[str, Any] | None, str | None]:
    import yaml
    from jsonschema import Draft202012Validator

    from gradient_provider.pulumi_files import check_file

    project_file = cwd / "Pulumi.yaml"
    if not project_file.exists():
        return None, "no Pulumi.yaml project file found (searching upwards from the current directory)"
    schema_file = repo_root.parent / "shared" / "reference" / "pulumi-project.schema.json"
    project = yaml.safe_load(project_file.read_text())
    errors = list(Draft202012Validator(json.loads(schema_file.read_text())).iter_errors(project))
    if errors:
        return None, f"could not validate '{project_file}': " + "; ".join(e.message for e in errors)
    problems = check_file(project_file)
    if problems:
        return None, f"could not unmarshal '{project_file}': {problems[0].message}"
    return project, None


def _language_host(cwd: Path, project: dict[str, Any]) -> str | None:
    runtime = project.get("runtime")
    options = runtime.get("options") or {} if isinstance(runtime, dict) else {}
    toolchain = options.get("toolchain") or ("uv" if (cwd / "uv.lock").exists() else "pip")
    if toolchain == "uv" and shutil.which("uv") is None:
        return "Could not find `uv` executable.\nInstall uv and make sure it is in your PATH."
    if toolchain == "pip" and options.get("virtualenv"):
        python = cwd / str(options["virtualenv"]) / "bin" / "python"
        listed = subprocess.run([str(python), "-m", "pip", "list", "--format", "json"], capture_output=True)
        if listed.returncode != 0:
            return f"failed to discover package requirements: {python} -m pip list failed"
    return None


def main(repo_root: Path) -> int:
    args = sys.argv[1:]
    cwd = Path.cwd()
    project, error = _load_project(cwd, repo_root)
    if error:
        return _fail(error)
    assert project is not None
    if args[:1] and args[0] in ENGINE_COMMANDS:
        error = _language_host(cwd, project)
        if error:
            return _fail(error)
    if args == ["version"]:
        print("v3.0.0-fake")
        return 0
    call: dict[str, Any] = {"args": args, "env": {key: os.environ.get(key) for key in RECORDED_ENV}}
    if args[:1] == ["up"] and os.environ.get("PAPERSPACE_API_URL"):
        with urllib.request.urlopen(os.environ["PAPERSPACE_API_URL"] + "/health") as response:
            call["emulator"] = json.load(response)
    if args[:2] == ["config", "get"]:
        return 1  # nothing is set yet
    if args[:2] == ["config", "set"] and len(_positional(args[2:])) == 1:
        call["stdin"] = sys.stdin.readline().strip()  # the value was not on the command line
    with open(os.environ["FAKE_PULUMI_LOG"], "a") as log:
        log.write(json.dumps(call) + "\n")
    return 0


def _positional(args: list[str]) -> list[str]:
    found, skip = [], False
    for arg in args:
        if skip:
            skip = False
        elif arg in ("--stack", "-s", "--config-file"):
            skip = True
        elif not arg.startswith("-"):
            found.append(arg)
    return found


def install(bin_dir: Path, repo_root: Path) -> Path:
    """Write an executable `pulumi` into ``bin_dir`` that runs this stand-in with this interpreter."""
    bin_dir.mkdir(parents=True, exist_ok=True)
    script = bin_dir / "pulumi"
    script.write_text(
        f"#!{sys.executable}\nimport sys\nsys.path.insert(0, {str(repo_root)!r})\n"
        "from pathlib import Path\nfrom tests.support.fake_pulumi import main\n"
        f"sys.exit(main(Path({str(repo_root)!r})))\n"
    )
    script.chmod(0o755)
    return script
