from typing import Annotated

from fastapi import APIRouter, Form
from pydantic import BaseModel

from app.auth import service
from app.db import DbSession
from app.errors import UnsupportedGrantType
from app.openapi import errors_declared

router = APIRouter(tags=["auth"])


class TokenOut(BaseModel):
    access_token: str
    token_type: str
    expires_in: int
    scope: str


@router.post("/v1/auth/token", response_model=TokenOut, responses=errors_declared(400, 401))
def issue_token(
    session: DbSession,
    grant_type: Annotated[str, Form(min_length=1)],
    client_id: Annotated[str, Form(min_length=1, max_length=64)],
    client_secret: Annotated[str, Form(min_length=1, max_length=256)],
    scope: Annotated[str | None, Form(max_length=500)] = None,
) -> dict[str, object]:
    """OAuth2 client credentials (RFC 6749 §4.4)."""
    if grant_type != "client_credentials":
        raise UnsupportedGrantType("only grant_type=client_credentials is supported")
    return service.issue_token(session, client_id=client_id, client_secret=client_secret, scope=scope)
