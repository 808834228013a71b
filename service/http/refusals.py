"""Every answer but the success that a route gives, as its OpenAPI `responses`: a client
generated from `/schema/openapi.json` (Reeva's web app) then knows each status code and
its body. The codes are those `service.http.error_responses` maps each error to; the body
is the one every refusal shares.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import msgspec
from litestar.openapi import ResponseSpec


class ErrorBody(msgspec.Struct, omit_defaults=True):
    """What every refusal answers, with its status code again and a sentence for people."""

    status_code: int
    detail: str
    # Which fields failed validation, and why (400 only).
    extra: list[Any] | dict[str, Any] | None = None


MALFORMED = {400: "the body, a parameter or a header does not validate: `extra` names which"}
SERVICE_TOKEN = {401: "no x-service-token header, or not the service's token"}
TOO_LARGE = {413: "the body is larger than this route takes"}
UNSTORABLE = {422: "a value cannot be stored (e.g. a NUL character in a JSON string)"}
UNAVAILABLE = {503: "the database does not answer: retry after the Retry-After header's seconds"}
# What every internal route may answer, and every one that takes a body.
INTERNAL = {**MALFORMED, **SERVICE_TOKEN, **UNAVAILABLE}
INTERNAL_POST = {**INTERNAL, **TOO_LARGE, **UNSTORABLE}


def refusals(descriptions: Mapping[int, str]) -> dict[int, ResponseSpec]:
    """The `responses=` of a route handler: each status code it may refuse with, described."""
    return {
        status: ResponseSpec(ErrorBody, description=text, generate_examples=False)
        for status, text in descriptions.items()
    }
