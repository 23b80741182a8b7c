# The two Quickstart commands (`make up`, `make test`) and their helpers. Every target installs what is
# missing first (scripts/bootstrap: a pinned uv in .tools/, the locked environment in .venv/).
.PHONY: up test lint validate emulator bootstrap bench pulumi-cli

## Start the embedded Paperspace API emulator and reconcile the dev stack with `pulumi up` (local backend).
up:
	@scripts/up

## The whole test suite: lint, types, stack validation, then every test (emulator processes, the real
## pulumi.dynamic server, the program under mocks). CI runs this (.ci/run).
## Two workers (the machines have two cores); a file's tests stay together on one worker.
## tests/e2e run the real Pulumi CLI (built first, see pulumi-cli); without Go they are skipped, saying why
## (CI sets GRADIENT_REQUIRE_PULUMI_CLI=1 there, so a missing CLI fails instead).
test: bootstrap lint validate pulumi-cli
	.venv/bin/python -m pytest -n 2 --dist loadfile

## The Pulumi CLI pinned in tools/pulumi/go.mod, built from the Go module proxy into .tools/pulumi/bin (needs Go;
## a few minutes the first time, then skipped while its sources are unchanged).
pulumi-cli:
	@if command -v go >/dev/null 2>&1 || [ -n "$${GRADIENT_REQUIRE_PULUMI_CLI:-}" ]; then scripts/pulumi-cli >/dev/null; \
	else echo "pulumi-cli: no Go here: the real-CLI tests (tests/e2e) will be skipped" >&2; fi

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
	@if command -v go >/dev/null 2>&1; then \
		echo "gofmt -l tools/pulumi && go vet ./language-python"; \
		test -z "$$(gofmt -l tools/pulumi)" || { gofmt -l tools/pulumi; exit 1; }; \
		cd tools/pulumi && GOTOOLCHAIN=local GOFLAGS=-mod=readonly go vet ./language-python; fi

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
