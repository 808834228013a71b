"""The benchmark's one error: what stops a figure (or the run) with a reason to print."""


class BenchError(Exception):
    """A missing tool, a process that did not start, a deadline passed, a wrong count."""
