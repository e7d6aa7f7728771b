"""Adding an email address to an account: requestToken mails a code and a
link to a real SMTP server on loopback; either one validates the session,
which /account/3pid/add (behind the password) then uses once. Wrong,
expired and reused codes fail."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.push.mail.smtp_kit import SmtpServer
from tests.support import User
from tests.support.server import TestServer
from tests.threepids.kit import (
    LIFETIME_S,
    PASSWORD_TOKEN,
    REGISTER_TOKEN,
    THREEPID_TOKEN,
    V3,
    code_of,
    last_mail,
    link_of,
    make_email_server,
    request_token,
    submit_code,
)

ADDRESS = "alice@example.org"


@pytest.fixture
def smtp(smtp_server: Callable[..., SmtpServer]) -> SmtpServer:
    return smtp_server()


@pytest.fixture
def server(make_server: Callable[..., TestServer], smtp: SmtpServer) -> TestServer:
    return make_email_server(make_server, smtp)


def add(user: User, sid: str, secret: str = "secret1", expect: int = 200) -> Any:
    """POST /account/3pid/add, through its UIA round with the password."""
    body = {"sid": sid, "client_secret": secret}
    first = user.post("/account/3pid/add", body, expect=401)
    assert first.json["flows"] == [{"stages": ["m.login.password"]}]
    return user.post(
        "/account/3pid/add",
        {
            **body,
            "auth": {
                "type": "m.login.password",
                "session": first.json["session"],
                "identifier": {"type": "m.id.user", "user": user.localpart},
                "password": "password123",
            },
        },
        expect=expect,
    )


def threepids(user: User) -> list[Any]:
    return list(user.get("/account/3pid", expect=200).json["threepids"])


def test_code_validates_and_the_address_is_added(
    server: TestServer, smtp: SmtpServer
) -> None:
    alice = server.user("alice")
    resp = request_token(server, THREEPID_TOKEN, "Alice@Example.org")
    assert resp.code == 200, resp.json
    sid = resp.json["sid"]
    mail = last_mail(smtp, ADDRESS)
    assert mail.message["From"] == "Chatly <verify@example.com>"
    code = code_of(mail)
    # Not validated yet: nothing to add.
    assert add(alice, sid, expect=400).json["errcode"] == "M_THREEPID_AUTH_FAILED"
    ok = submit_code(server, resp.json["submit_url"], sid, code)
    assert (ok.code, ok.json) == (200, {"success": True})
    add(alice, sid)
    [entry] = threepids(alice)
    assert entry["medium"] == "email" and entry["address"] == ADDRESS
    assert entry["validated_at"] <= entry["added_at"]
    # The code is used up, and so is the validated session.
    again = submit_code(server, resp.json["submit_url"], sid, code)
    assert (again.code, again.json["errcode"]) == (400, "M_UNKNOWN")
    assert add(alice, sid, expect=400).json["errcode"] == "M_THREEPID_AUTH_FAILED"


def test_link_validates(server: TestServer, smtp: SmtpServer) -> None:
    alice = server.user("alice")
    sid = request_token(server, THREEPID_TOKEN, ADDRESS).json["sid"]
    link = link_of(last_mail(smtp, ADDRESS))
    page = server.request("GET", link)
    assert page.code == 200
    assert "verified" in page.body.decode()
    # The link is used up.
    used = server.request("GET", link)
    assert used.code == 400 and "does not work" in used.body.decode()
    add(alice, sid)
    assert [t["address"] for t in threepids(alice)] == [ADDRESS]


def test_link_leads_to_next_link(server: TestServer, smtp: SmtpServer) -> None:
    resp = request_token(
        server, THREEPID_TOKEN, ADDRESS, next_link="https://app.example.com/done?x=1"
    )
    sid = resp.json["sid"]
    page = server.request("GET", link_of(last_mail(smtp, ADDRESS)))
    assert page.code == 302
    assert page.header("Location") == f"https://app.example.com/done?x=1&sid={sid}"
    bad = request_token(server, THREEPID_TOKEN, ADDRESS, next_link="file:///etc/passwd")
    assert (bad.code, bad.json["errcode"]) == (400, "M_INVALID_PARAM")


def test_next_link_domain_whitelist(
    make_server: Callable[..., TestServer], smtp: SmtpServer
) -> None:
    server = make_email_server(
        make_server, smtp, next_link_domain_whitelist=["app.example.com"]
    )
    ok = request_token(
        server, THREEPID_TOKEN, ADDRESS, next_link="https://app.example.com/done"
    )
    assert ok.code == 200, ok.json
    for elsewhere in ("https://evil.example.net/x", "https://app.example.com.evil/"):
        bad = request_token(server, THREEPID_TOKEN, ADDRESS, next_link=elsewhere)
        assert (bad.code, bad.json["errcode"]) == (400, "M_INVALID_PARAM"), elsewhere
    assert len(smtp.received) == 1


def test_allowed_local_3pids(
    make_server: Callable[..., TestServer], smtp: SmtpServer
) -> None:
    """Only addresses matching registration.allowed_local_3pids may be added
    or registered with (403 M_THREEPID_DENIED, no mail); password reset is
    not limited."""
    allowed = [{"medium": "email", "pattern": r"^[^@]+@example\.org$"}]
    server = make_email_server(
        make_server,
        smtp,
        registration={"enable_registration": True, "allowed_local_3pids": allowed},
    )
    assert request_token(server, THREEPID_TOKEN, ADDRESS).code == 200
    for path in (THREEPID_TOKEN, REGISTER_TOKEN):
        denied = request_token(server, path, "mallory@example.net")
        assert (denied.code, denied.json["errcode"]) == (403, "M_THREEPID_DENIED")
    assert request_token(server, PASSWORD_TOKEN, "mallory@example.net").code == 200
    assert len(smtp.received) == 1


def test_wrong_code_fails_and_too_many_burn_it(
    server: TestServer, smtp: SmtpServer
) -> None:
    resp = request_token(server, THREEPID_TOKEN, ADDRESS)
    sid, url = resp.json["sid"], resp.json["submit_url"]
    code = code_of(last_mail(smtp, ADDRESS))
    wrong = "000000" if code != "000000" else "111111"
    bad = submit_code(server, url, sid, wrong)
    assert (bad.code, bad.json["errcode"]) == (400, "M_UNKNOWN")
    # The right code with another client secret fails too.
    assert submit_code(server, url, sid, code, secret="other").code == 400
    for _ in range(4):
        assert submit_code(server, url, sid, wrong).code == 400
    # Five wrong codes: the right one no longer works...
    assert submit_code(server, url, sid, code).code == 400
    # ...until a new send attempt mails a new one.
    again = request_token(server, THREEPID_TOKEN, ADDRESS, attempt=2)
    assert again.json["sid"] == sid
    assert len(smtp.received) == 2
    assert submit_code(server, url, sid, code_of(last_mail(smtp, ADDRESS))).code == 200


def test_expired_code_fails(server: TestServer, smtp: SmtpServer) -> None:
    resp = request_token(server, THREEPID_TOKEN, ADDRESS)
    mail = last_mail(smtp, ADDRESS)
    server.advance(LIFETIME_S + 1)
    late = submit_code(server, resp.json["submit_url"], resp.json["sid"], code_of(mail))
    assert (late.code, late.json["errcode"]) == (400, "M_UNKNOWN")
    assert server.request("GET", link_of(mail)).code == 400


def test_send_attempt_and_client_secret(server: TestServer, smtp: SmtpServer) -> None:
    first = request_token(server, THREEPID_TOKEN, ADDRESS, attempt=1)
    # The same send_attempt again: the same session, no new mail.
    same = request_token(server, THREEPID_TOKEN, ADDRESS, attempt=1)
    assert same.json["sid"] == first.json["sid"]
    assert len(smtp.received) == 1
    old_code = code_of(smtp.received[0])
    # A higher one: the same session, a new mail whose code replaces the old.
    newer = request_token(server, THREEPID_TOKEN, ADDRESS, attempt=2)
    assert newer.json["sid"] == first.json["sid"]
    assert len(smtp.received) == 2
    new_code = code_of(smtp.received[1])
    url, sid = first.json["submit_url"], first.json["sid"]
    if old_code != new_code:
        assert submit_code(server, url, sid, old_code).code == 400
    assert submit_code(server, url, sid, new_code).code == 200
    # Another client secret: another session.
    other = request_token(server, THREEPID_TOKEN, ADDRESS, secret="secret2")
    assert other.json["sid"] != sid
    for secret in ("", "has space", "x" * 256):
        bad = request_token(server, THREEPID_TOKEN, ADDRESS, secret=secret)
        assert (bad.code, bad.json["errcode"]) == (400, "M_INVALID_PARAM"), secret


def test_bad_requests(server: TestServer, smtp: SmtpServer) -> None:
    for body in (
        {"client_secret": "s", "send_attempt": 1},
        {"email": ADDRESS, "send_attempt": 1},
        {"email": ADDRESS, "client_secret": "s", "send_attempt": "1"},
        {"email": ADDRESS, "client_secret": "s", "send_attempt": -1},
    ):
        resp = server.request("POST", THREEPID_TOKEN, body)
        assert resp.code == 400 and resp.json["errcode"].startswith("M_"), body
    for address in ("not-an-address", "a@b@c", ""):
        resp = request_token(server, THREEPID_TOKEN, address)
        assert (resp.code, resp.json["errcode"]) == (400, "M_INVALID_PARAM"), address
    msisdn = server.request(
        "POST",
        V3 + "/account/3pid/msisdn/requestToken",
        {"client_secret": "s", "country": "GB", "phone_number": "1", "send_attempt": 1},
    )
    assert (msisdn.code, msisdn.json["errcode"]) == (
        400,
        "M_THREEPID_MEDIUM_NOT_SUPPORTED",
    )
    assert smtp.received == []


def test_address_in_use_answers_like_any_other(
    server: TestServer, smtp: SmtpServer
) -> None:
    """No enumeration: an address another user holds gets a sid too, and its
    owner a mail saying so, without a code."""
    bob = server.user("bob")
    now = server.hs.core.clock.time_msec()
    server.get_success(
        server.hs.mail.threepids.insert_threepid(
            bob.user_id, "email", ADDRESS, validated_at=now, now=now
        )
    )
    resp = request_token(server, THREEPID_TOKEN, ADDRESS)
    assert resp.code == 200 and set(resp.json) == {"sid", "submit_url"}
    mail = last_mail(smtp, ADDRESS)
    assert "already belongs to an account" in mail.part("plain")
    assert "Your code" not in mail.part("plain")


def test_delete_and_unbind_without_bindings(
    server: TestServer, smtp: SmtpServer
) -> None:
    alice = server.user("alice")
    sid = request_token(server, THREEPID_TOKEN, ADDRESS).json["sid"]
    server.request("GET", link_of(last_mail(smtp, ADDRESS)))
    add(alice, sid)
    unbind = alice.post(
        "/account/3pid/unbind", {"medium": "email", "address": ADDRESS}, expect=200
    )
    assert unbind.json == {"id_server_unbind_result": "no-support"}
    bad = alice.post("/account/3pid/delete", {"medium": "fax", "address": ADDRESS})
    assert bad.code == 400
    deleted = alice.post(
        "/account/3pid/delete", {"medium": "email", "address": ADDRESS}, expect=200
    )
    assert deleted.json == {"id_server_unbind_result": "no-support"}
    assert threepids(alice) == []
    # Nobody holds it any more.
    assert (
        server.get_success(server.hs.mail.threepids.get_threepid("email", ADDRESS))
        is None
    )
    assert server.request("GET", V3 + "/account/3pid").code == 401


def test_off_unless_enabled(make_server: Callable[..., TestServer]) -> None:
    server = make_server()
    resp = request_token(server, THREEPID_TOKEN, ADDRESS)
    assert (resp.code, resp.json["errcode"]) == (400, "M_THREEPID_MEDIUM_NOT_SUPPORTED")


def test_admin_templates_replace_the_shipped_ones(
    make_server: Callable[..., TestServer], smtp: SmtpServer, tmp_path: Any
) -> None:
    """email.template_dir replaces a template by file name; the shipped base
    (verification_code) can still be extended."""
    (tmp_path / "add_threepid.txt").write_text(
        "Hello from the admin. Your code: {{ code }}\nLink: {{ link }}\n"
    )
    (tmp_path / "add_threepid.html").write_text(
        '{% extends "verification_code.html" %}'
        "{% block intro %}Admin intro for {{ address }}{% endblock %}"
    )
    server = make_email_server(make_server, smtp, template_dir=str(tmp_path))
    request_token(server, THREEPID_TOKEN, ADDRESS)
    mail = last_mail(smtp, ADDRESS)
    assert mail.part("plain").startswith("Hello from the admin. Your code: ")
    assert "Admin intro for alice@example.org" in mail.part("html")
    code_of(mail)
    link_of(mail)


def test_broken_admin_template_stops_the_start(
    make_server: Callable[..., TestServer], smtp: SmtpServer, tmp_path: Any
) -> None:
    from homeserver.config.loader import ConfigError

    (tmp_path / "registration.txt").write_text("{% if %}\n")
    with pytest.raises(ConfigError, match="email.template_dir"):
        make_email_server(make_server, smtp, template_dir=str(tmp_path))


def test_capability_says_addresses_can_change(server: TestServer) -> None:
    alice = server.user("alice")
    caps = alice.get("/capabilities", expect=200).json["capabilities"]
    assert caps["m.3pid_changes"] == {"enabled": True}


def test_deactivation_gives_the_address_up(
    server: TestServer, smtp: SmtpServer
) -> None:
    alice = server.user("alice")
    sid = request_token(server, THREEPID_TOKEN, ADDRESS).json["sid"]
    server.request("GET", link_of(last_mail(smtp, ADDRESS)))
    add(alice, sid)
    first = alice.post("/account/deactivate", {}, expect=401)
    alice.post(
        "/account/deactivate",
        {
            "auth": {
                "type": "m.login.password",
                "session": first.json["session"],
                "identifier": {"type": "m.id.user", "user": "alice"},
                "password": "password123",
            }
        },
        expect=200,
    )
    assert (
        server.get_success(server.hs.mail.threepids.get_threepid("email", ADDRESS))
        is None
    )
    # Someone else may now prove and add it.
    bob = server.user("bob")
    sid = request_token(server, THREEPID_TOKEN, ADDRESS, secret="bobs").json["sid"]
    assert "Your code" in last_mail(smtp, ADDRESS).part("plain")
    server.request("GET", link_of(last_mail(smtp, ADDRESS)))
    add(bob, sid, secret="bobs")
    assert [t["address"] for t in threepids(bob)] == [ADDRESS]
