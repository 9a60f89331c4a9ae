"""The table of variables: complete, read by the loaders, and what the docs say.

``chalicelib/variables.py`` is the one list of every setting. These tests
keep it honest: the code reads exactly its names, the loaders fall back to
its defaults, and ``docs/settings.md`` lists each row with the same default,
secrecy and meaning, so neither can drift from the other.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from pathlib import Path

from chalicelib import settings
from chalicelib.variables import GROUPS, NAMES, VARIABLES, default
from tests.support.environment import OSS_ENV

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "settings.md"
# A row of the doc's tables: | `NAME` | default | secret | meaning |
DOC_ROW = re.compile(r"^\|\s*`([A-Z][A-Z0-9_]+)`\s*\|(.*)\|\s*$")
VARIABLE_LITERAL = re.compile(r"\"([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+)\"")


class Recording(Mapping[str, str]):
    """An environment that notes every name looked up in it."""

    def __init__(self, values: Mapping[str, str], seen: set[str]) -> None:
        self._values, self._seen = values, seen

    def __getitem__(self, name: str) -> str:
        self._seen.add(name)
        return self._values[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)


def doc_rows() -> list[tuple[str, str, str, str]]:
    rows = []
    for line in DOC.read_text(encoding="utf-8").splitlines():
        match = DOC_ROW.match(line)
        if match:
            default_cell, secret, meaning = (cell.strip() for cell in match[2].split("|"))
            rows.append((match[1], default_cell, secret, meaning))
    return rows


def test_the_docs_list_every_variable_as_the_table_does() -> None:
    expected = [
        (
            variable.name,
            "—" if variable.default is None else f"`{variable.default}`",
            "yes" if variable.secret else "",
            variable.meaning,
        )
        for group in GROUPS
        for variable in VARIABLES
        if variable.group == group
    ]
    assert doc_rows() == expected, "docs/settings.md and chalicelib/variables.py differ"


def test_each_name_is_listed_once_in_a_known_group() -> None:
    assert len(set(NAMES)) == len(VARIABLES)
    assert {variable.group for variable in VARIABLES} == set(GROUPS)
    assert all(variable.meaning and "|" not in variable.meaning for variable in VARIABLES)


def test_every_variable_named_in_the_code_is_in_the_table() -> None:
    sources = [ROOT / "app.py", ROOT / "fc.py", *sorted((ROOT / "chalicelib").glob("*.py"))]
    named = {
        name
        for source in sources
        if source.name != "variables.py"
        for name in VARIABLE_LITERAL.findall(source.read_text(encoding="utf-8"))
    }
    assert named == set(NAMES)


def test_the_loaders_read_every_variable_of_the_table_and_no_other() -> None:
    seen: set[str] = set()

    def env(**values: str) -> Recording:
        return Recording({**OSS_ENV, **values}, seen)

    settings.load_settings(env())
    settings.load_oss(env())
    settings.load_oss(env(OSS_ENDPOINT="http://127.0.0.1:9000"), signature_version="v1")
    settings.load_oss(
        Recording(
            {
                "OSS_BUCKET": "role-bucket",
                "OSS_REGION": "cn-hangzhou",
                "ALIBABA_CLOUD_ACCESS_KEY_ID": "role-key",
                "ALIBABA_CLOUD_ACCESS_KEY_SECRET": "role-secret",
                "ALIBABA_CLOUD_SECURITY_TOKEN": "role-token",
            },
            seen,
        )
    )
    settings.load_s3(
        env(
            S3_BUCKET="bucket",
            S3_REGION="eu-west-1",
            AWS_ACCESS_KEY_ID="AKIA",
            AWS_SECRET_ACCESS_KEY="secret",
        )
    )
    settings.load_s3(
        env(
            S3_BUCKET="bucket",
            AWS_REGION="eu-west-1",
            AWS_ACCESS_KEY_ID="A",
            AWS_SECRET_ACCESS_KEY="s",
        )
    )
    settings.load_auth(env(AUTH_MODE="api-key", API_KEYS="key"))
    settings.load_auth(env(AUTH_MODE="jwt", JWT_JWKS_URL="https://issuer.example.com/jwks"))
    settings.legacy_route_on(env())
    settings.verify_content_on(env())
    settings.load_allowed_origins(env())
    settings.load_callback_url(env(OSS_CALLBACK_URL="https://api.example.com/oss-callback"))
    settings.load_callback_key_prefixes(env())
    settings.on_lambda(env())
    assert seen == set(NAMES)


def test_unset_variables_take_the_tables_defaults() -> None:
    common = settings.load_settings({})
    assert common.provider == default("STORAGE_PROVIDER") == "oss"
    assert common.upload_dir == default("UPLOAD_DIR") == "uploads/"
    assert common.expire_seconds == int(default("EXPIRE_SECONDS") or "") == 600
    assert common.max_upload_bytes == int(default("MAX_UPLOAD_BYTES") or "") == 10 * 1024**2
    assert ",".join(common.allowed_content_types) == default("ALLOWED_CONTENT_TYPES")
    assert settings.load_auth({}).mode == default("AUTH_MODE") == "none"
    assert settings.legacy_route_on({}) is False
    assert settings.verify_content_on({}) is False
    assert settings.load_allowed_origins({}) == frozenset()
    oss = settings.load_oss(OSS_ENV)
    assert oss.signature_version == default("OSS_SIGNATURE_VERSION") == "v4"
    assert oss.url == "https://signpost-test.oss-cn-hangzhou.aliyuncs.com"
    s3 = {
        "S3_BUCKET": "uploads-x",
        "AWS_REGION": "eu-west-1",
        **dict.fromkeys(("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"), "k"),
    }
    assert settings.load_s3(s3).url == "https://uploads-x.s3.eu-west-1.amazonaws.com"
    assert (
        settings.load_s3({**s3, "S3_BUCKET": "up.x"}).url
        == "https://s3.eu-west-1.amazonaws.com/up.x"
    )
