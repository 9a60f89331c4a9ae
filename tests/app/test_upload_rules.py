"""``GET /upload-rules``: what a page shows and checks before a user picks.

The rules are derived from the extension table the checks use, so the
property that matters is agreement: an extension listed for a type is one
the ticket checks accept with that type, and one not listed is refused.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chalicelib.checks import check_content_type
from chalicelib.content_types import EXTENSION_TYPES, extensions_by_type
from chalicelib.errors import SignpostError
from chalicelib.variables import default

TABLE_TYPES = sorted({media_type for types in EXTENSION_TYPES.values() for media_type in types})
RANGES = sorted({media_type.split("/")[0] + "/*" for media_type in TABLE_TYPES})


def accepted(media_type: str, extension: str, allowed: tuple[str, ...]) -> bool:
    try:
        check_content_type(media_type, "file" + extension, allowed)
    except SignpostError:
        return False
    return True


def test_the_default_rules_list_each_type_with_its_extensions(env: Any, api: Any) -> None:
    response = api.get("/upload-rules")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    assert json.loads(response.body) == {
        "max_size": 10 * 1024**2,
        "content_types": {
            "image/png": [".png"],
            "image/jpeg": [".jpg", ".jpeg", ".jpe", ".jfif", ".pjpeg", ".pjp"],
            "image/gif": [".gif"],
            "image/webp": [".webp"],
            "application/pdf": [".pdf"],
        },
    }
    assert list(json.loads(response.body)["content_types"]) == str(
        default("ALLOWED_CONTENT_TYPES")
    ).split(",")


def test_the_rules_follow_the_settings(env: Any, api: Any) -> None:
    env(MAX_UPLOAD_BYTES="2048", ALLOWED_CONTENT_TYPES="application/pdf, IMAGE/PNG,application/pdf")
    rules = json.loads(api.get("/upload-rules").body)
    assert rules == {
        "max_size": 2048,
        "content_types": {"application/pdf": [".pdf"], "image/png": [".png"]},
    }


def test_a_range_expands_to_the_tables_types_and_stays_listed() -> None:
    rules = extensions_by_type(("image/*",))
    images = {media_type for media_type in TABLE_TYPES if media_type.startswith("image/")}
    assert set(rules) == images | {"image/*"}
    assert rules["image/*"] == []  # types the table does not know have no extension to show
    assert rules["image/svg+xml"] == [".svg", ".svgz"]
    assert ".jpg" in rules["image/jpeg"]
    assert ".jpg" in rules["image/pjpeg"]


def test_a_type_the_table_does_not_know_is_listed_without_extensions() -> None:
    assert extensions_by_type(("model/gltf-binary",)) == {"model/gltf-binary": []}


@given(
    allowed=st.lists(st.sampled_from(TABLE_TYPES + RANGES), min_size=1, max_size=6, unique=True),
    extension=st.sampled_from(sorted(EXTENSION_TYPES)),
    media_type=st.sampled_from(TABLE_TYPES),
)
def test_listed_exactly_when_the_ticket_checks_accept(
    allowed: list[str], extension: str, media_type: str
) -> None:
    """For every extension of the table and every type: the rules list the
    extension under the type if and only if a ticket for ``file.EXT`` sent as
    that type passes the checks. The page and the API agree by construction."""
    rules = extensions_by_type(allowed)
    listed = extension in rules.get(media_type, [])
    assert listed == accepted(media_type, extension, tuple(allowed))


@pytest.mark.parametrize("mode", ["api-key", "jwt"])
def test_the_rules_ask_for_the_same_credentials_as_tickets(env: Any, api: Any, mode: str) -> None:
    env(AUTH_MODE=mode, API_KEYS="k" * 32, JWT_SECRET="s" * 32)
    refused = api.get("/upload-rules")
    assert refused.status_code == 401
    assert json.loads(refused.body)["error"]["code"] == "MissingCredentials"
    assert refused.headers["WWW-Authenticate"] == "Bearer"
    if mode == "api-key":
        allowed = api.get("/upload-rules", headers={"Authorization": "Bearer " + "k" * 32})
        assert allowed.status_code == 200


def test_the_rules_carry_cors_for_a_listed_origin(env: Any, api: Any) -> None:
    env(CORS_ALLOW_ORIGIN="https://app.example.com")
    response = api.get("/upload-rules", headers={"Origin": "https://app.example.com"})
    assert response.headers["Access-Control-Allow-Origin"] == "https://app.example.com"
    assert response.headers["Cache-Control"] == "no-store"
    other = api.get("/upload-rules", headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in other.headers


def test_a_bad_setting_is_503_naming_it(env: Any, api: Any) -> None:
    env(ALLOWED_CONTENT_TYPES="image/png;q=1")
    response = api.get("/upload-rules")
    assert response.status_code == 503
    assert "ALLOWED_CONTENT_TYPES" in json.loads(response.body)["error"]["message"]
