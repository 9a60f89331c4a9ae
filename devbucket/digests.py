"""``Content-MD5``: the digest an uploader declares, checked against the bytes.

RFC 1864: the base64 of the body's 16-byte MD5. S3's error responses: a
value that is not that is ``400 InvalidDigest`` ("The Content-MD5 you
specified is not valid"), one that is another body's is ``400 BadDigest``
("The Content-MD5 you specified did not match what we received"). Both
PutObject's header and POST Object's ``Content-MD5`` form field ("Amazon S3
checks the object against the provided MD5 value") are checked so.
"""

from __future__ import annotations

import base64
import binascii

from .errors import ServiceError


def declared_md5(value: str) -> bytes:
    """The 16 bytes ``value`` declares; ``InvalidDigest`` if it declares none.

    Decoded as base64 leniently about padding bits: the services do not
    document refusing a non-canonical spelling, so the dev bucket does not.
    """
    try:
        digest = base64.b64decode(value.strip(), validate=True)
    except (binascii.Error, ValueError):
        digest = b""
    if len(digest) != 16:
        raise ServiceError(400, "InvalidDigest", "The Content-MD5 you specified is not valid.")
    return digest


def check_md5(declared: str, md5_hex: str) -> None:
    """``BadDigest`` unless the bytes received have the declared MD5."""
    if declared_md5(declared).hex() != md5_hex:
        raise ServiceError(
            400, "BadDigest", "The Content-MD5 you specified did not match what we received."
        )
