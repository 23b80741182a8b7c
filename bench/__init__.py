"""``python -m bench``: the figures of issue #14, each measured side by side with its baseline in the same run.

Every figure is one function registered in ``registry.FIGURES`` (``@figure``); it returns a ``Result``: a
value, the baseline it is judged against, their ratio and the unit. ``python -m bench`` prints a table and one
JSON line per figure; ``--smoke`` runs every figure at a tiny size (what CI runs, through tests/bench). See
docs/bench.md for what each figure means.
"""
