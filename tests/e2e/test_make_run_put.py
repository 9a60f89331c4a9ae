"""``make run`` in S3 mode with ``UPLOAD_METHOD=put``: PUT tickets from the API
over HTTP, put to the dev bucket over HTTP as a browser puts them, and the
simple page uploading with one in Chromium.

What a user sees is asserted: the dev bucket's status and error code, and
the bytes it keeps.
"""

from __future__ import annotations

import base64
import hashlib
import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import urlsplit, urlunsplit
from xml.etree import ElementTree

import pytest
import requests

from tests.e2e.test_make_run import addresses, make_run
from tests.support.browser import cancel_midway, chromium, new_page
from tests.support.devbucket import PNG, make_png
from tests.support.run import child_env

TIMEOUT = 10


class Running(NamedTuple):
    api: str
    page: str
    objects: Path


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    tmp_path = tmp_path_factory.mktemp("make-run-put")
    env = child_env(UPLOAD_METHOD="put")
    with make_run(tmp_path, env, "--provider", "s3") as (process, lines):
        api, page = addresses(process, lines)
        yield Running(api, page, tmp_path / "dev-bucket" / "signpost-dev" / "objects")


def md5_of(content: bytes) -> str:
    return base64.b64encode(hashlib.md5(content).digest()).decode()


def ticket(running: Running, content: bytes = PNG, **extra: Any) -> dict[str, Any]:
    body = {"filename": "cat.png", "content_type": "image/png", "size": len(content), **extra}
    response = requests.post(f"{running.api}/upload-tickets", json=body, timeout=TIMEOUT)
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def put(url: str, headers: Mapping[str, str], content: bytes = PNG) -> requests.Response:
    return requests.put(url, data=content, headers=dict(headers), timeout=TIMEOUT)


def code_of(response: requests.Response) -> str:
    return ElementTree.fromstring(response.content).findtext("Code") or ""


def test_a_good_put_is_stored_byte_equal(running: Running) -> None:
    issued = ticket(running, content_md5=md5_of(PNG))
    assert issued["method"] == "PUT"
    response = put(issued["url"], issued["headers"])
    assert response.status_code == 200, response.text
    assert (running.objects / issued["key"]).read_bytes() == PNG
    served = requests.get(issued["url"].split("?")[0], timeout=TIMEOUT)
    assert served.content == PNG
    assert served.headers["Content-Type"] == "image/png"
    assert served.headers["Content-Disposition"] == issued["headers"]["Content-Disposition"]


def without(headers: Mapping[str, str], name: str) -> dict[str, str]:
    return {key: value for key, value in headers.items() if key != name}


def moved(url: str) -> str:
    split = urlsplit(url)
    return urlunsplit(split._replace(path=split.path.replace("/cat.png", "/dog.png")))


FLIPPED = PNG[:-1] + bytes([PNG[-1] ^ 1])


@pytest.mark.parametrize(
    ("what", "status", "codes"),
    [
        ("a different type", 403, {"SignatureDoesNotMatch"}),
        ("a byte too many", 403, {"SignatureDoesNotMatch"}),
        ("a flipped MD5", 400, {"BadDigest"}),
        ("a dropped If-None-Match", 400, {"AuthorizationQueryParametersError"}),
        ("another key", 403, {"SignatureDoesNotMatch"}),
    ],
)
def test_the_dev_bucket_refuses_what_the_ticket_does_not_allow(
    running: Running, what: str, status: int, codes: set[str]
) -> None:
    issued = ticket(running, content_md5=md5_of(PNG))
    url, headers, content = issued["url"], dict(issued["headers"]), PNG
    if what == "a different type":
        headers["Content-Type"] = "text/html"
    elif what == "a byte too many":
        content = PNG + b"\0"
    elif what == "a flipped MD5":
        content = FLIPPED
    elif what == "a dropped If-None-Match":
        headers = without(headers, "If-None-Match")
    else:
        url = moved(url)
    response = put(url, headers, content)
    assert response.status_code == status, response.text
    assert code_of(response) in codes
    assert not (running.objects / issued["key"]).exists()
    assert not (running.objects / issued["key"].replace("/cat.png", "/dog.png")).exists()


def test_a_second_put_to_the_same_key_is_refused(running: Running) -> None:
    issued = ticket(running)
    assert put(issued["url"], issued["headers"]).status_code == 200
    again = put(issued["url"], issued["headers"], FLIPPED)
    assert again.status_code == 412, again.text
    assert code_of(again) == "PreconditionFailed"
    assert (running.objects / issued["key"]).read_bytes() == PNG


def test_a_put_ticket_without_a_size_is_refused_saying_how(running: Running) -> None:
    response = requests.post(
        f"{running.api}/upload-tickets",
        json={"filename": "cat.png", "content_type": "image/png"},
        timeout=TIMEOUT,
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "InvalidSize"
    assert "size" in response.json()["message"]


def test_the_simple_page_uploads_with_a_put_ticket(running: Running, tmp_path: Path) -> None:
    content = make_png(24, 24, (10, 200, 90))
    (tmp_path / "leaf.png").write_bytes(content)
    with chromium() as browser, new_page(browser, running.page + "simple.html") as page:
        sent: list[str] = []
        page.on("request", lambda request: sent.append(request.method))
        page.locator("#status", has_text="Up to").wait_for()
        page.set_input_files("#files", str(tmp_path / "leaf.png"))
        page.get_by_role("link", name="Download leaf.png").wait_for()
        assert page.locator(".upload .error").all_inner_texts() == []
    assert "PUT" in sent
    (stored,) = running.objects.rglob("leaf.png")
    assert stored.read_bytes() == content


def test_a_put_upload_shows_progress_and_cancels_midway(running: Running, tmp_path: Path) -> None:
    """As for a form: the upload slowed to 256 KiB/s by Chromium's network
    emulation, Cancel stops it with nothing stored, Retry sends it whole."""
    content = os.urandom(2 * 1024**2)
    (tmp_path / "slow.pdf").write_bytes(content)
    with chromium() as browser, new_page(browser, running.page + "simple.html") as page:
        page.locator("#status", has_text="Up to").wait_for()
        row, full_speed = cancel_midway(page, tmp_path / "slow.pdf")
        assert list(running.objects.rglob("slow.pdf")) == []
        full_speed()
        row.get_by_role("button", name="Retry slow.pdf").click()
        row.get_by_role("link", name="Download slow.pdf").wait_for()
    assert [path.read_bytes() for path in running.objects.rglob("slow.pdf")] == [content]
