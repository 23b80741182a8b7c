# The two Quickstart commands and their helpers. Every target installs what is missing first.
.PHONY: test lint emulator bootstrap

bootstrap:
	@scripts/bootstrap

## Run the whole test suite: lint, types, then every test (against emulator processes and the real
## pulumi.dynamic server). This is what CI runs (.ci/run).
test: bootstrap lint
	.venv/bin/python -m pytest

lint: bootstrap
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .
	.venv/bin/mypy

## Start the Paperspace API emulator on a fixed port with state in .emulator/state.sqlite.
emulator: bootstrap
	@mkdir -p .emulator
	.venv/bin/python -m emulator --port $${PORT:-8787} --state .emulator/state.sqlite --log-level info
