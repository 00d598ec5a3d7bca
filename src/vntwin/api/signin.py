"""Sign-in: a user name and password for an API token (OAuth 2 password grant shape)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from vntwin.catalog.service import Catalog
from vntwin.catalog.users import sign_in
from vntwin.errors import NotAuthorized, RateLimited


class TokenResponse(BaseModel):
    """A new API token; send it as ``Authorization: <token>`` (or ``Bearer <token>``)."""

    access_token: str
    token_type: str = "bearer"  # noqa: S105 - the OAuth token type, not a secret


def router() -> APIRouter:
    """``POST /auth/token``."""
    api = APIRouter(tags=["Sign-in"])

    @api.post("/auth/token", response_model=TokenResponse,
              responses={401: {"description": "Wrong user name or password"},
                         429: {"description": "Too many failed attempts from this client"}},
              summary="Sign in with a user name and password; get an API token")
    async def token(request: Request, username: Annotated[str, Form(max_length=100)],
                    password: Annotated[str, Form(max_length=1000)]) -> object:
        cat: Catalog = request.app.state.catalog
        client = request.client.host if request.client else ""
        try:
            issued = await run_in_threadpool(sign_in, cat, username, password, client)
        except (NotAuthorized, RateLimited) as exc:
            status = 429 if isinstance(exc, RateLimited) else 401
            return JSONResponse({"title": "Too Many Requests" if status == 429 else
                                 "Unauthorized", "status": status, "detail": exc.message},
                                status_code=status, media_type="application/problem+json")
        return TokenResponse(access_token=issued)

    return api
