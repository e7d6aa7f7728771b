"""Email addresses with matrix-js-sdk (Node 22) against a server started by
synctl, which mails through a real SMTP server on loopback (aiosmtpd): the
SDK's own requestToken, submit_url, addThreePidOnly, getThreePids and
setPassword calls, as Element Web makes them, then a login with the address.

The script (tests/e2e/js/email.mjs) waits for each code; the test reads it
out of the mail that reached the SMTP server and hands it over in a file, as
a person would type it.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.conftest import RunningServer, synctl_server
from tests.e2e.js_peer import JsPeer, JsSdk, ensure_js_sdk, register
from tests.push.mail.smtp_kit import SmtpServer
from tests.support.installs import installed_or_skip
from tests.threepids.kit import code_of

pytestmark = [
    pytest.mark.integration,
    pytest.mark.xdist_group("js_sdk"),
    pytest.mark.timeout(600),
]

ADDRESS = "js-user@example.org"
# How long the mail may take to reach the SMTP server (a wait, not an assertion
# on timing: the test fails only when nothing arrives at all).
MAIL_DEADLINE_S = 60.0


@pytest.fixture(scope="module")
def js_sdk() -> JsSdk:
    return installed_or_skip("Node 22 and matrix-js-sdk", ensure_js_sdk)


@pytest.fixture(scope="module")
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer().start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def chatly(
    smtp: SmtpServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningServer]:
    data_dir = tmp_path_factory.mktemp("js-email") / "data"
    settings = {
        "rate_limiting.enabled": "false",
        "email.smtp_host": "127.0.0.1",
        "email.smtp_port": str(smtp.port),
        "email.enable_tls": "false",
        "email.notif_from": "Chatly <verify@example.com>",
        "email.enable_threepid_validation": "true",
    }
    with synctl_server(data_dir, settings) as server:
        yield server


async def _wait_for_mail(smtp: SmtpServer, count: int) -> str:
    """The code of the ``count``-th mail, once it has arrived."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + MAIL_DEADLINE_S
    while len(smtp.received) < count:
        assert loop.time() < deadline, f"mail {count} never arrived"
        await asyncio.sleep(0.1)
    mail = smtp.received[count - 1]
    assert mail.rcpt_tos == [ADDRESS]
    return code_of(mail)


def test_add_an_address_reset_the_password_and_log_in_with_it(
    js_sdk: JsSdk,
    chatly: RunningServer,
    smtp: SmtpServer,
    tmp_path: Path,
) -> None:
    localpart = f"mailer-{secrets.token_hex(3)}"
    account = register(chatly.url, localpart, f"{localpart} old password")
    peer = JsPeer(
        js_sdk, tmp_path / "work", chatly.url, chatly.data_dir / "homeserver.log"
    )
    codes = tmp_path / "codes"
    codes.mkdir()
    new_password = f"{localpart} new password"

    async def go() -> dict[str, object]:
        running = await peer.start(
            "email.mjs",
            account,
            email=ADDRESS,
            code_dir=str(codes),
            new_password=new_password,
        )
        (codes / "add").write_text(await _wait_for_mail(smtp, 1))
        (codes / "reset").write_text(await _wait_for_mail(smtp, 2))
        return await running.result()

    result = asyncio.run(go())
    assert result["submit_url"] == f"{chatly.url}/_chatly/client/v1/email/submit_token"
    assert result["submitted"] == {"success": True}
    assert result["add_flows"] == [{"stages": ["m.login.password"]}]
    threepids = result["threepids"]
    assert isinstance(threepids, list)
    assert [(t["medium"], t["address"]) for t in threepids] == [("email", ADDRESS)]
    # The reset logged out every device (logout_devices: true).
    assert result["old_token_error"] == "M_UNKNOWN_TOKEN"
    assert result["relogin_user_id"] == account.user_id
    assert "reset the password" in smtp.received[1].part("plain")
