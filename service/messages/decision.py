"""The product's rules for an inbound message: answered how, and handed to Phase 3 or not.

A pure function from the facts the store read under the message's and its sender's locks
to one decision, so the rules read, change and are tested here, without a database;
`service.messages.deciding` gathers the facts and records the decision in one
transaction.

- A message decided before is not decided again (a replay, a job run twice).
- An unsent message, an echo (our own DM mirrored back: answering it would loop), a
  standby message (another app controls the conversation) and a message to an account the
  service does not answer (a mis-subscribed app, a removed account) are decided and never
  answered.
- A connected sender gets an acknowledgement, unless one went to them within the cooldown,
  and the message goes to Phase 3, unless it went there before or is a postback (an ice
  breaker or a button tap holds no reel or post).
- An unconnected sender is asked to verify, unless a verification DM to them is under way.
"""

from __future__ import annotations

import dataclasses
import enum

from service.store.rows import DMKind


class Outcome(enum.StrEnum):
    MISSING = "missing"
    ALREADY_DECIDED = "already_decided"
    ECHO = "echo"
    STANDBY = "standby"
    UNSENT = "unsent"
    UNKNOWN_ACCOUNT = "unknown_account"
    VERIFICATION_QUEUED = "verification_queued"
    VERIFICATION_SUPPRESSED = "verification_suppressed"
    ACKNOWLEDGED = "acknowledged"


@dataclasses.dataclass(frozen=True, kw_only=True)
class Facts:
    """What the rules read about a stored message and its sender."""

    decided: bool
    unsent: bool
    is_echo: bool
    source: str
    # Already handed to Phase 3 (`messages.processed`), whose row retention may have deleted.
    processed: bool
    connected: bool
    # The message was sent to an account the service answers (`instagram_accounts`).
    account_answered: bool = True
    # An acknowledgement went to the sender within the cooldown (read for a connected one).
    acknowledged_recently: bool = False
    # A verification DM to the sender is pending, or was sent lately with its token still
    # usable (read for an unconnected one).
    verification_under_way: bool = False


@dataclasses.dataclass(frozen=True)
class Decision:
    outcome: Outcome
    # The DM the message gets, if any.
    dm: DMKind | None = None
    to_phase3: bool = False


# The outcomes of a message that owes no DM, even one left pending by an earlier run.
OWES_NO_DM = frozenset(
    {Outcome.MISSING, Outcome.ECHO, Outcome.STANDBY, Outcome.UNSENT, Outcome.UNKNOWN_ACCOUNT}
)


def unanswered(facts: Facts) -> Outcome | None:
    """The outcome of a message that is not answered now, or None for one that is (whose
    sender the store then looks up)."""
    if facts.decided:
        return Outcome.ALREADY_DECIDED
    if facts.unsent:
        return Outcome.UNSENT
    if facts.is_echo:
        return Outcome.ECHO
    if facts.source == "standby":
        return Outcome.STANDBY
    if not facts.account_answered:
        return Outcome.UNKNOWN_ACCOUNT
    return None


def decide(facts: Facts) -> Decision:
    outcome = unanswered(facts)
    if outcome is not None:
        return Decision(outcome)
    if facts.connected:
        return Decision(
            Outcome.ACKNOWLEDGED,
            dm=None if facts.acknowledged_recently else DMKind.ACKNOWLEDGEMENT,
            to_phase3=facts.source != "postback" and not facts.processed,
        )
    if facts.verification_under_way:
        return Decision(Outcome.VERIFICATION_SUPPRESSED)
    return Decision(Outcome.VERIFICATION_QUEUED, dm=DMKind.VERIFICATION)
