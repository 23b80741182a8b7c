# The two Quickstart commands (`make up`, `make test`) and their helpers. Every target installs what is
# missing first (scripts/bootstrap: a pinned uv in .tools/, the locked environment in .venv/).
.PHONY: up test lint validate emulator bootstrap bench

## Start the embedded Paperspace API emulator and reconcile the dev stack with `pulumi up` (local backend).
up:
	@scripts/up

## The whole test suite: lint, types, stack validation, then every test (emulator processes, the real
## pulumi.dynamic server, the program under mocks). CI runs this (.ci/run).
## Two workers (the machines have two cores); a file's tests stay together on one worker.
test: bootstrap lint validate
	.venv/bin/python -m pytest -n 2 --dist loadfile

bootstrap:
	@scripts/bootstrap

## pyproject supports Python 3.11 to 3.13; CI has only 3.11, so the types are also checked as 3.13 sees them
## and the lock must still resolve for every supported version.
lint: bootstrap
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .
	.venv/bin/mypy
	.venv/bin/mypy --python-version 3.13
	.tools/bin/uv lock --check --quiet

## Validate the repository's stack files (also fit for pre-commit).
validate: bootstrap
	.venv/bin/python -m gradient_provider validate

## Only the emulator, on a fixed port with state in .emulator/state.sqlite (for curl, see docs/emulator.md).
emulator: bootstrap
	@mkdir -p .emulator
	.venv/bin/python -m emulator --port $${PORT:-8787} --state .emulator/state.sqlite --log-level info

## The figures of issue #14 (validate and plan speed, emulator throughput), each beside its baseline measured in
## the same run: a table, then one JSON line per figure (docs/bench.md). A few minutes; `--smoke` is seconds.
bench: bootstrap
	.venv/bin/python -m bench
