"""Helpers of the page tests: signing in through the form, reading CSRF tokens."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

# Real figures: the 2019 census populations of Hà Nội and Đà Nẵng (General Statistics Office).
CSV = "tinh,dan_so\nHà Nội,8053663\nĐà Nẵng,1134310\n".encode()
PASSWORD = "mật khẩu dài 2025"


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "no CSRF token in the page"
    return match.group(1)


def sign_in(client: TestClient, name: str, password: str = PASSWORD) -> None:
    token = csrf_of(client.get("/user/login").text)
    r = client.post("/user/login", data={"username": name, "password": password,
                                         "csrf_token": token, "next": "/"},
                    follow_redirects=False)
    assert r.status_code == 303, r.text
