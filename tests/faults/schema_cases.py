"""Requests drawn from the OpenAPI schema, as schemathesis' pytest plugin would draw them
(it does not run on this pytest yet)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import APIOperation, Case
from schemathesis.generation.modes import GenerationMode


def check_cases(
    operation: APIOperation, mode: GenerationMode, how: settings, check: Callable[[Case], None]
) -> None:
    """`check` each case of `operation` that `mode` draws, as many as `how` says; the test
    is skipped where the operation takes no input that could be made invalid."""

    @given(case=operation.as_strategy(generation_mode=mode))
    @how
    def each(case: Case) -> None:
        check(case)

    try:
        each()
    except Unsatisfiable:
        if mode is not GenerationMode.NEGATIVE:
            raise
        pytest.skip(f"{operation.label} takes no input that could be made invalid")
