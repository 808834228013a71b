"""The OpenAPI schema tells a client generated from it every answer a route gives: requests
drawn from `/schema/openapi.json` (schemathesis, valid and invalid ones) against a real
`ingest web`, each answer checked for a documented status code, content type and body."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.generation.modes import GenerationMode

from tests.faults.harness import HEADERS
from tests.faults.schema_cases import check_cases
from tests.faults.test_hostile_input import OPERATIONS

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
# About 200 requests in all, in about half a minute with the start of `ingest web`.
CONFORMANCE = settings(
    max_examples=6, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck)
)
# Answers a caller's own mistakes bring, beside the schema's: no service token, a wrong one.
UNAUTHENTICATED = [{}, {"x-service-token": "not-the-token", "authorization": "Bearer nope"}]


@pytest.mark.parametrize("mode", list(GenerationMode))
@pytest.mark.parametrize("method, path", OPERATIONS)
def test_every_answer_is_documented(web, api_schema, method, path, mode):
    def conforms(case):
        case.call_and_validate(headers=HEADERS, checks=CHECKS)

    check_cases(api_schema[path][method], mode, CONFORMANCE, conforms)


@pytest.mark.parametrize("headers", UNAUTHENTICATED, ids=["no token", "a wrong token"])
@pytest.mark.parametrize("method, path", OPERATIONS)
def test_every_refusal_of_a_caller_is_documented(web, api_schema, method, path, headers):
    guarded = path.startswith("/api/internal/") or path == "/metrics"

    @given(case=api_schema[path][method].as_strategy())
    @settings(CONFORMANCE, max_examples=3)
    def conforms(case):
        answer = case.call_and_validate(headers=headers, checks=CHECKS)
        assert answer.status_code == 401 or not guarded

    conforms()
