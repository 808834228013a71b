"""The product's rules for an inbound message (`service.messages.decision`), from facts alone."""

from __future__ import annotations

import pytest

from service.messages.decision import Decision, Facts, Outcome, decide
from service.store.rows import DMKind


def facts(**changes) -> Facts:
    """A new message from a connected sender, before any DM, changed by `changes`."""
    base = {
        "decided": False,
        "unsent": False,
        "is_echo": False,
        "source": "messaging",
        "processed": False,
        "connected": True,
    }
    return Facts(**(base | changes))


def test_a_connected_senders_message_is_acknowledged_and_handed_to_phase3():
    assert decide(facts()) == Decision(
        Outcome.ACKNOWLEDGED, dm=DMKind.ACKNOWLEDGEMENT, to_phase3=True
    )


def test_within_the_cooldown_a_connected_sender_gets_no_second_acknowledgement():
    assert decide(facts(acknowledged_recently=True)) == Decision(
        Outcome.ACKNOWLEDGED, dm=None, to_phase3=True
    )


def test_a_postback_is_acknowledged_but_never_reaches_phase3():
    assert decide(facts(source="postback")) == Decision(
        Outcome.ACKNOWLEDGED, dm=DMKind.ACKNOWLEDGEMENT, to_phase3=False
    )


def test_a_message_handed_to_phase3_before_is_not_handed_again():
    assert not decide(facts(processed=True)).to_phase3


def test_an_unconnected_sender_is_asked_to_verify():
    assert decide(facts(connected=False)) == Decision(
        Outcome.VERIFICATION_QUEUED, dm=DMKind.VERIFICATION
    )


def test_an_unconnected_sender_with_a_verification_under_way_gets_no_second_one():
    assert decide(facts(connected=False, verification_under_way=True)) == Decision(
        Outcome.VERIFICATION_SUPPRESSED
    )


@pytest.mark.parametrize(
    ("changes", "outcome"),
    [
        ({"decided": True}, Outcome.ALREADY_DECIDED),
        ({"unsent": True}, Outcome.UNSENT),
        ({"is_echo": True}, Outcome.ECHO),
        ({"source": "standby"}, Outcome.STANDBY),
        ({"decided": True, "is_echo": True}, Outcome.ALREADY_DECIDED),
        ({"unsent": True, "is_echo": True}, Outcome.UNSENT),
    ],
)
@pytest.mark.parametrize("connected", [True, False])
def test_decided_unsent_echo_and_standby_messages_are_never_answered(changes, outcome, connected):
    assert decide(facts(connected=connected, **changes)) == Decision(outcome)


@pytest.mark.parametrize("connected", [True, False])
def test_a_message_to_an_account_not_answered_is_never_answered_nor_handed_on(connected):
    assert decide(facts(account_answered=False, connected=connected)) == Decision(
        Outcome.UNKNOWN_ACCOUNT
    )
