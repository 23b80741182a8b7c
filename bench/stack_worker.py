"""One measurement in a fresh process: ``python -m bench.stack_worker validate|plan RESOURCES``.

Prints ``{"seconds": ..., "csafeloader": ...}``: the operation on the generated stack, and PyYAML's
``yaml.load(text, Loader=yaml.CSafeLoader)`` of the same text (no line numbers, no checks), in this process.
Both are the CPU time of this process (``time.process_time``): each is single-threaded and CPU-bound, so on an
idle machine that is its wall time, and on a shared one it does not count the turns other processes take.

- validate: ``parse_stack`` of the text, as `python -m gradient_provider validate` runs it (credentials checked).
- plan: what `plan` does for one file: both versions parsed (credentials redacted, not refused) and compared.

The loader's bounds (1 MiB, 50,000 values) are lifted here: 10,000 resources are past both, and the figure
is about how the time grows, not where the bound stops it.
"""

from __future__ import annotations

import gc
import json
import sys
import time

import yaml

from gradient_provider import yaml_source
from gradient_provider.review.plan import plan_stack
from gradient_provider.stack import parse_stack

from .stacks import stack_text


def _validate(text: str, _: str) -> None:
    parse_stack("stacks/bench.yaml", text)


def _plan(text: str, old: str) -> None:
    before = parse_stack("stacks/bench.yaml@HEAD", old, credentials=False)
    after = parse_stack("stacks/bench.yaml", text, credentials=False)
    plan_stack("stacks/bench.yaml", "HEAD", before, after)


def main(argv: list[str]) -> int:
    operation, resources = argv[0], int(argv[1])
    run = {"validate": _validate, "plan": _plan}[operation]
    yaml_source.MAX_BYTES = yaml_source.MAX_VALUES = 1 << 40
    old = stack_text(resources)
    text = stack_text(resources, changed_every=10) if operation == "plan" else old
    parse_stack("warm-up.yaml", "projects: {}\n")  # compiles the schema validators, once per process as in use
    gc.collect()
    started = time.process_time()
    yaml.load(text, Loader=yaml.CSafeLoader)
    csafeloader = time.process_time() - started
    gc.collect()
    started = time.process_time()
    run(text, old)
    seconds = time.process_time() - started
    print(json.dumps({"seconds": seconds, "csafeloader": csafeloader}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
