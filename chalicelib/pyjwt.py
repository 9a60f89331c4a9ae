"""PyJWT as signpost uses it: RS256 without ``cryptography``, and without
PyJWT's JWKS client. Imported only when a token is checked (it imports PyJWT);
everything here that needs PyJWT takes it from this module.

* RS256 is :mod:`chalicelib.rsa_verify` as an algorithm in PyJWT's own
  registry, so PyJWT still parses the token and checks the header and
  claims, and HS256 stays PyJWT's.
* PyJWT's package imports its JWKS client (``jwt.jwks_client``), and with it
  ``urllib.request``, ``http.client``, ``email`` and ``ssl``: about 17 ms of
  CPU on a cold start (bench/RESULTS.md), paid even for HS256. signpost
  reads key sets itself (:mod:`chalicelib.fetch`: bounded, no redirects), so
  an empty module stands in for the client, unless PyJWT was imported
  before (then it is left as it is). ``jwt.PyJWKClient`` is ``None`` here.
"""

from __future__ import annotations

import json
import sys
import types
from typing import Any, Literal, NoReturn, overload

if "jwt" not in sys.modules:
    _STAND_IN = types.ModuleType("jwt.jwks_client", "Not loaded: see chalicelib/pyjwt.py.")
    _STAND_IN.PyJWKClient = None  # type: ignore[attr-defined]
    sys.modules["jwt.jwks_client"] = _STAND_IN

import jwt as jwt  # re-exported: auth takes PyJWT from here
from jwt.algorithms import Algorithm
from jwt.types import JWKDict

from .rsa_verify import InvalidKey, RsaPublicKey, base64url_encode_uint, from_jwk, verify

# NIST SP 800-131A's minimum, as PyJWT's own RS256 asks with
# ``enforce_minimum_key_length``.
MIN_KEY_BITS = 2048


class RS256(Algorithm):
    """RSASSA-PKCS1-v1_5 with SHA-256 (RFC 7518, 3.3), verification only."""

    def prepare_key(self, key: Any) -> RsaPublicKey:
        """Only a key made by :func:`from_jwk`: never a string, so no token can
        have a shared secret read as a public key, or the reverse."""
        if not isinstance(key, RsaPublicKey):
            raise jwt.InvalidKeyError("RS256 takes an RSA public key from the key set.")
        return key

    def check_key_length(self, key: RsaPublicKey) -> str | None:
        if key.bits < MIN_KEY_BITS:
            return f"The RSA key is {key.bits} bits long, below {MIN_KEY_BITS} bits."
        return None

    def sign(self, msg: bytes, key: Any) -> NoReturn:
        raise NotImplementedError("signpost only verifies tokens")

    def verify(self, msg: bytes, key: RsaPublicKey, sig: bytes) -> bool:
        return verify(key, msg, sig, "sha256")

    @overload
    @staticmethod
    def to_jwk(key_obj: RsaPublicKey, as_dict: Literal[True]) -> JWKDict: ...

    @overload
    @staticmethod
    def to_jwk(key_obj: RsaPublicKey, as_dict: Literal[False] = False) -> str: ...

    @staticmethod
    def to_jwk(key_obj: RsaPublicKey, as_dict: bool = False) -> JWKDict | str:
        jwk: JWKDict = {
            "kty": "RSA",
            "n": base64url_encode_uint(key_obj.n),
            "e": base64url_encode_uint(key_obj.e),
        }
        return jwk if as_dict else json.dumps(jwk)

    @staticmethod
    def from_jwk(jwk: str | JWKDict) -> RsaPublicKey:
        try:
            document = json.loads(jwk) if isinstance(jwk, str) else jwk
            if not isinstance(document, dict):
                raise InvalidKey("a JWK is a JSON object")
            return from_jwk(document)
        except (InvalidKey, ValueError, RecursionError) as error:
            raise jwt.InvalidKeyError(f"Not an RSA public key we accept: {error}") from None


def decoder() -> jwt.PyJWT:
    """A PyJWT of our own: HS256 as PyJWT has it, RS256 ours. The module-wide
    ``jwt`` registry is left alone (with ``cryptography`` installed it already
    holds an RS256)."""
    signatures = jwt.PyJWS(algorithms=["HS256"])
    signatures.register_algorithm("RS256", RS256())
    tokens = jwt.PyJWT()
    tokens._jws = signatures  # as PyJWT wires its own module-wide decoder to its PyJWS
    return tokens


DECODER = decoder()
