"""The account calls (token refresh, webhook subscription) against the sandbox on a real
loopback socket, and the token at rest (cipher and keyed digest)."""

from __future__ import annotations

import httpx
import pytest

from service.instagram import InvalidAccessTokenError, account_api, build_http_client
from service.instagram.token_cipher import TokenCipher, UndecryptableToken, new_key

TOKEN = "sandbox-token-for-account-calls"


@pytest.mark.parametrize(
    ("base", "host"),
    [
        ("https://graph.instagram.com/v24.0", "https://graph.instagram.com"),
        ("https://graph.instagram.com/v24.0/", "https://graph.instagram.com"),
        ("https://graph.instagram.com/v3", "https://graph.instagram.com"),
        ("http://127.0.0.1:8900", "http://127.0.0.1:8900"),
        ("http://127.0.0.1:8900/v24.0", "http://127.0.0.1:8900"),
    ],
)
def test_the_refresh_url_drops_the_version_path(base, host):
    assert account_api.host_url(base) == host


async def test_a_refresh_returns_the_new_token_and_its_lifetime(sandbox):
    async with build_http_client(5) as http:
        refreshed = await account_api.refresh_token(http, f"{sandbox.url}/v24.0", TOKEN)
    assert refreshed.access_token == sandbox.accounts.issued[0]
    assert refreshed.expires_in == 60 * 86400
    assert TOKEN not in repr(refreshed) and refreshed.access_token not in repr(refreshed)


async def test_a_refused_refresh_raises_code_190_without_the_token(sandbox):
    sandbox.accounts.revoke(TOKEN)
    async with build_http_client(5) as http:
        with pytest.raises(InvalidAccessTokenError) as raised:
            await account_api.refresh_token(http, sandbox.url, TOKEN)
    assert TOKEN not in str(raised.value)


async def test_subscribing_then_reading_the_subscription(sandbox):
    async with build_http_client(5) as http:
        assert await account_api.subscriptions(http, sandbox.url, "me", TOKEN) == []
        assert await account_api.subscribe(http, sandbox.url, "me", TOKEN) == {"success": True}
        [app] = await account_api.subscriptions(http, sandbox.url, "me", TOKEN)
    assert app.fields == account_api.WEBHOOK_FIELDS


def test_a_revoked_token_is_refused_by_the_send_api_too(sandbox):
    sandbox.accounts.revoke(TOKEN)
    response = httpx.post(
        f"{sandbox.url}/me/messages",
        json={"recipient": {"id": "1"}, "message": {"text": "hi"}},
        headers={"Authorization": f"Bearer {TOKEN}"},
    )
    assert response.status_code == 400 and response.json()["error"]["code"] == 190
    assert sandbox.messages() == []


def test_the_cipher_round_trips_and_its_digest_depends_on_the_key():
    one, other = TokenCipher(new_key()), TokenCipher(new_key())
    assert one.decrypt(one.encrypt(TOKEN)) == TOKEN
    assert TOKEN not in one.encrypt(TOKEN)
    assert one.digest(TOKEN) == one.digest(TOKEN) != other.digest(TOKEN)
    with pytest.raises(UndecryptableToken):
        other.decrypt(one.encrypt(TOKEN))
