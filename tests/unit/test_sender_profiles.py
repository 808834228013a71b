"""What Meta's User Profile API answer comes to (`service.sender_profiles.fetching`)."""

from __future__ import annotations

import pytest

from service.instagram.graph_errors import error_from_response
from service.sender_profiles.fetching import Outcome, outcome_of
from service.store.rows import SenderProfile

ANSWER = {
    "name": "Ada Lovelace",
    "username": "ada",
    "profile_pic": "https://cdn.example/ada.jpg",
    "is_verified_user": False,
    "follower_count": 1234,
    "is_user_follow_business": True,
    "is_business_follow_user": False,
    "id": "1254001234567890",
}


def refusal(code: int, status: int = 400):
    body = f'{{"error": {{"message": "m", "code": {code}}}}}'.encode()
    return error_from_response(status, {}, body)


def test_a_profile_is_stored_under_our_names():
    assert outcome_of(ANSWER).profile == SenderProfile(
        display_name="Ada Lovelace",
        username="ada",
        profile_pic_url="https://cdn.example/ada.jpg",
        is_verified_user=False,
        follower_count=1234,
        is_user_follow_business=True,
        is_business_follow_user=False,
    )


def test_fields_missing_or_of_another_type_are_none():
    fetched = outcome_of({"username": 7, "follower_count": True, "is_verified_user": "yes"})

    assert fetched.outcome is Outcome.FETCHED
    assert fetched.profile == SenderProfile(
        display_name=None,
        username=None,
        profile_pic_url=None,
        is_verified_user=None,
        follower_count=None,
        is_user_follow_business=None,
        is_business_follow_user=None,
    )


@pytest.mark.parametrize(
    ("code", "outcome"),
    [(230, Outcome.CONSENT_REQUIRED), (551, Outcome.UNAVAILABLE), (100, Outcome.UNAVAILABLE)],
)
def test_a_lasting_refusal_is_an_outcome_to_record(code, outcome):
    assert outcome_of(refusal(code)).outcome is outcome


@pytest.mark.parametrize(("code", "status"), [(2, 500), (4, 400), (190, 400)])
def test_a_passing_failure_or_a_refused_token_records_no_profile_outcome(code, status):
    fetched = outcome_of(refusal(code, status))

    assert fetched.outcome is Outcome.FAILED and fetched.profile is None
