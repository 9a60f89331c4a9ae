"""PUT tickets (``UPLOAD_METHOD=put``): signpost's beside botocore's.

* the core: ``issue_put_ticket`` with settings made once (the key, the
  headers, the presigned URL over Content-Type, Content-Disposition,
  If-None-Match, Content-Length and host);
* the route: ``POST /upload-tickets`` as a Lambda event through the whole app;
* botocore's ``generate_presigned_url("put_object")`` for the same object
  and the same signed headers (client made once, outside the timing).

``python -m bench.put`` times these rows alone and prints them;
``make bench`` times them with the rest.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from chalicelib.checks import TicketRequest
from chalicelib.keys import content_disposition
from chalicelib.put_tickets import issue_put_ticket
from chalicelib.settings import load_s3, load_settings
from chalicelib.tickets import Ticket

from .event import CONTENT_TYPE, FILENAME, S3, SIZE
from .timing import Case, run_cases

S3_PUT = {**S3, "UPLOAD_METHOD": "put"}


def core_put() -> Callable[[], Ticket]:
    from .cases import NOW, SEGMENT

    settings, s3 = load_settings(S3_PUT), load_s3(S3_PUT)
    request = TicketRequest(FILENAME, CONTENT_TYPE, SIZE)
    return lambda: issue_put_ticket(request, settings, s3, now=NOW, segment=SEGMENT)


def botocore_put(client: Any) -> Callable[[], str]:
    """botocore's presigned ``PutObject`` for the same key and signed headers."""
    from .cases import SEGMENT

    params = {
        "Bucket": S3["S3_BUCKET"],
        "Key": f"uploads/{SEGMENT}/{FILENAME}",
        "ContentType": CONTENT_TYPE,
        "ContentDisposition": content_disposition(FILENAME),
        "IfNoneMatch": "*",
        "ContentLength": SIZE,
    }
    return lambda: client.generate_presigned_url("put_object", Params=params, ExpiresIn=600)


def put_cases(app: Any, client: Any) -> list[Case]:
    from .cases import lambda_call, use_env

    return [
        Case("core_put", "PUT ticket: core issue_put_ticket", core_put()),
        Case("route_put", "PUT ticket: handler, Lambda event", lambda_call(app), use_env(S3_PUT)),
        Case("put_botocore", "PUT ticket: botocore generate_presigned_url", botocore_put(client)),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.put", description=__doc__)
    parser.add_argument("--samples", type=int, default=200, help="samples per case")
    parser.add_argument("--sample-ms", type=float, default=2.0, help="length of one sample")
    args = parser.parse_args()
    from app import app

    from .cases import botocore_client

    cases = put_cases(app, botocore_client())
    timings = run_cases(cases, args.samples, int(args.sample_ms * 1e6))
    for case in cases:
        stats = timings[case.name]
        print(
            f"{case.label:<50}{stats.median:>9.1f} us  (p10 {stats.p10:.1f}, p90 {stats.p90:.1f})"
        )
    ratio = timings["put_botocore"].median / timings["core_put"].median
    print(f"botocore / core: {ratio:.1f}x")


if __name__ == "__main__":
    main()
