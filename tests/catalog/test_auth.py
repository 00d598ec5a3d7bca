from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from vntwin.catalog.auth import user_for_token
from vntwin.catalog.models import ApiToken, utcnow
from vntwin.catalog.users import token_revoke, user_create
from vntwin.errors import NotAuthorized


def test_tokens_hashed_at_rest(cat):
    _, token = user_create(cat, "nguoi-dung")
    secret = token[len("vnt_") + 33:]  # the secret itself may contain "_"
    assert len(secret) >= 40
    with cat.read() as s:
        row = s.scalars(select(ApiToken)).one()
        assert secret not in (row.secret_hash, row.salt)
        assert len(row.salt) == 32 and len(row.secret_hash) == 64
        stored = " ".join(str(v) for v in vars(row).values())
        assert secret not in stored


def test_revoked_and_expired_tokens_fail(cat, api):
    user, token = user_create(cat, "nguoi-dung")
    assert api.ok("user_show", token, method="GET", id="nguoi-dung")["email"] == ""
    from dataclasses import replace

    from vntwin.catalog.auth import ANONYMOUS
    me = replace(ANONYMOUS, user_id=user["id"], name=user["name"])
    token_revoke(cat, me, token)
    status, body = api.call("user_show", token, method="GET", id="nguoi-dung")
    assert status == 403 and "revoked" in body["error"]["message"]
    _, token2 = user_create(cat, "nguoi-khac")
    with cat.sessions() as s, s.begin():
        for row in s.scalars(select(ApiToken).where(ApiToken.revoked_at.is_(None))):
            row.expires_at = utcnow() - timedelta(seconds=1)
    status, body = api.call("user_show", token2, method="GET", id="nguoi-khac")
    assert status == 403 and "expired" in body["error"]["message"]
    with cat.sessions() as s, pytest.raises(NotAuthorized):
        user_for_token(s, "vnt_" + "0" * 32 + "_guess")


def test_failed_token_checks_are_rate_limited(cat, api):
    _, token = user_create(cat, "nguoi-dung")
    limit = cat.settings.auth_failures_per_minute
    for _ in range(limit):
        status, _ = api.call("status_show", "vnt_bad", method="GET")
        assert status == 403
    status, body = api.call("status_show", token, method="GET")  # even a good token waits
    assert status == 429
    assert "too many failed" in body["error"]["message"]


def test_user_create_cli_prints_token_last(tmp_path, backend):
    from typer.testing import CliRunner

    from vntwin.cli import app
    from vntwin.testing import database_url

    with database_url(backend, tmp_path) as url:
        env = {"VNTWIN_DATA_DIR": str(tmp_path / "d")}
        if url:
            env["VNTWIN_DATABASE_URL"] = url
        runner = CliRunner()
        r = runner.invoke(app, ["user", "create", "quan-tri", "--sysadmin"], env=env)
        assert r.exit_code == 0, r.output
        assert r.stdout.strip().splitlines()[-1].startswith("vnt_")
        r = runner.invoke(app, ["user", "create", "quan-tri"], env=env)
        assert r.exit_code == 1 and "not available" in r.output


def test_sign_in_gives_a_token_and_failures_are_limited(cat, client, api):
    user_create(cat, "dang-nhap", password="mat-khau-dai-12345")
    r = client.post("/auth/token", data={"username": "dang-nhap",
                                         "password": "mat-khau-dai-12345"})
    assert r.status_code == 200, r.text
    token = r.json()["access_token"]
    assert r.json()["token_type"] == "bearer"
    assert api.ok("user_show", f"Bearer {token}", method="GET", id="dang-nhap")["name"] == \
        "dang-nhap"
    for attempt in ({"username": "dang-nhap", "password": "sai"},
                    {"username": "khong-co", "password": "sai"}):
        r = client.post("/auth/token", data=attempt)
        assert r.status_code == 401 and r.json()["detail"] == "wrong user name or password"
    for _ in range(cat.settings.auth_failures_per_minute):
        client.post("/auth/token", data={"username": "dang-nhap", "password": "sai"})
    r = client.post("/auth/token", data={"username": "dang-nhap",
                                         "password": "mat-khau-dai-12345"})
    assert r.status_code == 429
