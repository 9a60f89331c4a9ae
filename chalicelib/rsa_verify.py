"""RSA signature verification with a public key, in pure Python: RSASSA-PKCS1-v1_5
(RFC 8017, section 8.2.2), for JWT RS256 (SHA-256) and OSS callbacks (MD5).

Why not ``cryptography``: it is native code, so the deployment zip would be
tied to one CPU architecture and one glibc, and PyJWT imports it at module
level whenever it is installed (tens of ms on every cold start, even for
HS256). Verifying with a public key needs only ``pow``.

The check is *encode-and-compare* (RFC 8017, 8.2.2 step 3 and 4): compute
``s^e mod n``, build the encoding the message must have, and compare the
whole block. The decrypted block is never parsed, so none of the forgeries
that lenient parsers allowed (Bleichenbacher's e=3 attack, 2006) can apply.

Keys come from a JWK (RFC 7517, 7518 6.3.1) or a PEM SubjectPublicKeyInfo
(RFC 7468, RFC 5280 4.1, RFC 3279 2.3.1), both read strictly. Every key is
checked when it is made (:class:`RsaPublicKey`), whatever its source.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from collections.abc import Mapping
from typing import Literal, NamedTuple

HashName = Literal["sha256", "md5"]

# The DER of DigestInfo up to the digest, per hash: RFC 8017, section 9.2, note 1.
DIGEST_INFO_PREFIX: dict[str, bytes] = {
    "sha256": bytes.fromhex("3031300d060960864801650304020105000420"),
    "md5": bytes.fromhex("3020300c06082a864886f70d020505000410"),
}

# 1024 bits: NIST SP 800-131A (rev. 2, table 2) still allows verifying
# signatures made with 1024- to 2047-bit keys ("legacy use"), and OSS's
# Callback page names no size for its key, so the callback takes 1024 and up;
# JWT keys must also pass PyJWT's 2048-bit minimum (chalicelib/pyjwt.py). It
# also leaves room for the encoding: k >= tLen + 11 (RFC 8017 9.2 step 3)
# holds for every DigestInfo above, so no "message too short" case exists.
MIN_MODULUS_BITS = 1024
# OpenSSL's own limit (OPENSSL_RSA_MAX_MODULUS_BITS): no larger key is in use,
# and it bounds the work a key set or a fetched PEM can ask of ``pow``.
MAX_MODULUS_BITS = 16384
# The public exponent: odd (an RSA exponent is coprime to the even
# lambda(n)), at least 3, and below 2**32: 65537 and 3 are the exponents in
# use, and the bound keeps ``pow`` to at most 32 squarings, however the key came.
MIN_EXPONENT = 3
EXPONENT_LIMIT = 2**32


class InvalidKey(ValueError):
    """Not an RSA public key we accept; the message says why (no key material)."""


class _Numbers(NamedTuple):
    n: int
    e: int


class RsaPublicKey(_Numbers):
    """A checked RSA public key: modulus ``n`` and public exponent ``e``.

    A NamedTuple, not a dataclass: ``dataclasses`` imports ``inspect``, ``ast``
    and ``dis``, which the app's import otherwise never loads.
    """

    __slots__ = ()

    def __new__(cls, n: int, e: int) -> RsaPublicKey:
        if not MIN_MODULUS_BITS <= n.bit_length() <= MAX_MODULUS_BITS:
            raise InvalidKey(
                f"the modulus must be {MIN_MODULUS_BITS} to {MAX_MODULUS_BITS} bits long"
            )
        if n % 2 == 0:
            raise InvalidKey("the modulus is even")
        if not MIN_EXPONENT <= e < EXPONENT_LIMIT or e % 2 == 0:
            raise InvalidKey("the public exponent must be odd, at least 3 and below 2**32")
        return super().__new__(cls, n, e)

    @property
    def bits(self) -> int:
        return self.n.bit_length()

    @property
    def size(self) -> int:
        """k: the modulus's length in bytes, which every signature must have."""
        return (self.bits + 7) // 8


def emsa_pkcs1_v1_5(digest: bytes, hash_name: HashName, size: int) -> bytes:
    """EM = 0x00 01 || PS (0xff...) || 0x00 || DigestInfo (RFC 8017, 9.2)."""
    t = DIGEST_INFO_PREFIX[hash_name] + digest
    return b"\x00\x01" + b"\xff" * (size - len(t) - 3) + b"\x00" + t


def verify(key: RsaPublicKey, message: bytes, signature: bytes, hash_name: HashName) -> bool:
    """Whether ``signature`` is ``key``'s RSASSA-PKCS1-v1_5 signature of ``message``."""
    k = key.size
    if len(signature) != k:  # 8.2.2 step 1
        return False
    s = int.from_bytes(signature, "big")
    if s >= key.n:  # RSAVP1 (5.2.2) step 1: "signature representative out of range"
        return False
    encoded = pow(s, key.e, key.n).to_bytes(k, "big")
    expected = emsa_pkcs1_v1_5(hashlib.new(hash_name, message).digest(), hash_name, k)
    return hmac.compare_digest(encoded, expected)


# --- JWK (RFC 7517; RSA members in RFC 7518, section 6.3) ---------------------

_BASE64URL = re.compile(r"[A-Za-z0-9_-]+")
_PRIVATE_MEMBERS = ("d", "p", "q", "dp", "dq", "qi", "oth")


def base64url_uint(value: object, name: str) -> int:
    """A Base64urlUInt (RFC 7518, section 2): base64url without padding, line
    breaks or other characters (RFC 7515, section 2), in the fewest octets,
    so no leading zero octet, and canonical (unused trailing bits zero)."""
    if not isinstance(value, str) or not _BASE64URL.fullmatch(value) or len(value) % 4 == 1:
        raise InvalidKey(f"'{name}' is not unpadded base64url")
    octets = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    if base64.urlsafe_b64encode(octets).rstrip(b"=") != value.encode("ascii"):
        raise InvalidKey(f"'{name}' is not canonical base64url")
    if octets[0] == 0:
        raise InvalidKey(f"'{name}' has a leading zero octet")
    return int.from_bytes(octets, "big")


def base64url_encode_uint(value: int) -> str:
    """The Base64urlUInt of a positive ``value``: its fewest octets, unpadded."""
    octets = value.to_bytes((value.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(octets).rstrip(b"=").decode("ascii")


def from_jwk(jwk: Mapping[str, object]) -> RsaPublicKey:
    """The public key of an RSA JWK. A JWK with private members is refused: a
    key set that publishes one lets anyone sign."""
    if jwk.get("kty") != "RSA":
        raise InvalidKey("not an RSA key (kty)")
    if any(member in jwk for member in _PRIVATE_MEMBERS):
        raise InvalidKey("the key carries private members")
    return RsaPublicKey(n=base64url_uint(jwk.get("n"), "n"), e=base64url_uint(jwk.get("e"), "e"))


# --- PEM SubjectPublicKeyInfo -----------------------------------------------

_PEM = re.compile(
    rb"-----BEGIN PUBLIC KEY-----(?P<body>[A-Za-z0-9+/=\s]*)-----END PUBLIC KEY-----\s*\Z"
)
_SEQUENCE, _INTEGER, _BIT_STRING = 0x30, 0x02, 0x03
# AlgorithmIdentifier{rsaEncryption (1.2.840.113549.1.1.1), NULL}: RFC 3279
# 2.3.1 says the parameters MUST be NULL.
_RSA_ENCRYPTION = bytes.fromhex("06092a864886f70d0101010500")


def from_pem(text: bytes) -> RsaPublicKey:
    """The key in a ``PUBLIC KEY`` PEM (RFC 7468, section 13). Text before the
    label is allowed and whitespace in the base64 ignored, as RFC 7468
    section 2 asks of parsers; anything else is refused."""
    start = text.find(b"-----BEGIN PUBLIC KEY-----")
    found = _PEM.match(text, max(start, 0))
    if start < 0 or found is None:
        raise InvalidKey("not a PEM public key")
    try:
        der = base64.b64decode(b"".join(found["body"].split()), validate=True)
    except (binascii.Error, ValueError):
        raise InvalidKey("the PEM body is not base64") from None
    return from_spki_der(der)


def from_spki_der(der: bytes) -> RsaPublicKey:
    """SubjectPublicKeyInfo (RFC 5280, 4.1): SEQUENCE { SEQUENCE { rsaEncryption,
    NULL }, BIT STRING { RSAPublicKey: SEQUENCE { INTEGER n, INTEGER e } } },
    in DER: definite, shortest lengths, nothing after any element."""
    info = _whole(der, _SEQUENCE)
    algorithm, at = _element(info, 0, _SEQUENCE)
    bits, end = _element(info, at, _BIT_STRING)
    if end != len(info) or algorithm != _RSA_ENCRYPTION:
        raise InvalidKey("not an RSA SubjectPublicKeyInfo")
    if not bits or bits[0] != 0:
        raise InvalidKey("the key's BIT STRING has unused bits")
    numbers = _whole(bits[1:], _SEQUENCE)
    n, at = _element(numbers, 0, _INTEGER)
    e, end = _element(numbers, at, _INTEGER)
    if end != len(numbers):
        raise InvalidKey("the RSAPublicKey has extra elements")
    return RsaPublicKey(n=_unsigned(n), e=_unsigned(e))


def _element(der: bytes, at: int, tag: int) -> tuple[bytes, int]:
    """The contents of the ``tag`` element at ``at``, and where the next begins
    (X.690, 8.1 and 10.1)."""
    if at + 2 > len(der) or der[at] != tag:
        raise InvalidKey("malformed DER")
    length, at = der[at + 1], at + 2
    if length & 0x80:
        count = length & 0x7F  # 0x80 (indefinite) is BER, not DER
        if not 1 <= count <= 4 or at + count > len(der) or der[at] == 0:
            raise InvalidKey("malformed DER length")
        length, at = int.from_bytes(der[at : at + count], "big"), at + count
        if length < 0x80:
            raise InvalidKey("malformed DER length")  # the short form was due
    if at + length > len(der):
        raise InvalidKey("truncated DER")
    return der[at : at + length], at + length


def _whole(der: bytes, tag: int) -> bytes:
    contents, end = _element(der, 0, tag)
    if end != len(der):
        raise InvalidKey("data after the DER element")
    return contents


def _unsigned(contents: bytes) -> int:
    """A positive DER INTEGER in its fewest octets (X.690, 8.3.2)."""
    if not contents or contents[0] & 0x80:
        raise InvalidKey("not a positive INTEGER")
    if len(contents) > 1 and contents[0] == 0 and not contents[1] & 0x80:
        raise InvalidKey("an INTEGER with a needless leading zero")
    return int.from_bytes(contents, "big")
