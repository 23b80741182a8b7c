"""The Pulumi program: declares the resources of stacks/<stack>.yaml (see gradient_provider.program)."""

import pulumi

from gradient_provider.program import run_stack

run_stack(pulumi.get_stack())
