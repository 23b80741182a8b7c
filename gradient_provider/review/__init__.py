"""The review plan: what a stack-file change will do, from the git change alone (no API, no Pulumi state)."""
