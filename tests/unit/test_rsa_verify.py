"""The pure-Python RSA verifier against ``cryptography`` (OpenSSL), kept as a
test-only oracle: the same verdict for every signature, good or tampered, and
the same (n, e) from every key both read.

Keys are generated once per size (1024 to 4096 bits, some not a whole number
of bytes, one with e = 3) and shared by every example.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import string
from collections.abc import Callable
from typing import Any

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jwt.algorithms import RSAAlgorithm

from chalicelib import rsa_verify
from chalicelib.rsa_verify import InvalidKey, RsaPublicKey

SIZES = (1024, 1025, 1536, 2047, 2048, 3072, 4096)
HASHES = {"sha256": hashes.SHA256, "md5": hashes.MD5}
ORACLE = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])


@functools.cache
def private_key(bits: int, exponent: int = 65537) -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=exponent, key_size=bits)


def ours(key: rsa.RSAPrivateKey) -> RsaPublicKey:
    numbers = key.public_key().public_numbers()
    return RsaPublicKey(n=numbers.n, e=numbers.e)


def oracle_says(key: rsa.RSAPrivateKey, message: bytes, signature: bytes, hash_name: str) -> bool:
    try:
        key.public_key().verify(signature, message, padding.PKCS1v15(), HASHES[hash_name]())
    except InvalidSignature:
        return False
    return True


def same_verdict(key: rsa.RSAPrivateKey, message: bytes, signature: bytes, hash_name: str) -> bool:
    """Both verdicts, asserted equal; returned."""
    verdict = rsa_verify.verify(ours(key), message, signature, hash_name)  # type: ignore[arg-type]
    assert verdict == oracle_says(key, message, signature, hash_name), (len(signature), hash_name)
    return verdict


def sign(key: rsa.RSAPrivateKey, message: bytes, hash_name: str) -> bytes:
    return key.sign(message, padding.PKCS1v15(), HASHES[hash_name]())


keys = st.builds(private_key, st.sampled_from(SIZES)) | st.just(private_key(2048, 3))
hash_names = st.sampled_from(sorted(HASHES))
messages = st.binary(max_size=256)


@ORACLE
@given(keys, hash_names, messages, messages)
def test_valid_signatures_pass_and_other_messages_fail(
    key: rsa.RSAPrivateKey, hash_name: str, message: bytes, other: bytes
) -> None:
    signature = sign(key, message, hash_name)
    assert same_verdict(key, message, signature, hash_name)
    if other != message:
        assert not same_verdict(key, other, signature, hash_name)
    wrong_hash = "md5" if hash_name == "sha256" else "sha256"
    assert not same_verdict(key, message, signature, wrong_hash)


@settings(ORACLE, max_examples=8)
@given(keys, hash_names, messages)
def test_every_single_bit_flip_fails(
    key: rsa.RSAPrivateKey, hash_name: str, message: bytes
) -> None:
    signature = sign(key, message, hash_name)
    for bit in range(len(signature) * 8):
        flipped = bytearray(signature)
        flipped[bit // 8] ^= 1 << (bit % 8)
        assert not same_verdict(key, message, bytes(flipped), hash_name), bit


@ORACLE
@given(keys, hash_names, messages, st.data())
def test_truncated_extended_and_wrong_length_signatures_fail(
    key: rsa.RSAPrivateKey, hash_name: str, message: bytes, data: st.DataObject
) -> None:
    signature = sign(key, message, hash_name)
    cut = data.draw(st.integers(1, len(signature)))
    extra = data.draw(st.binary(min_size=1, max_size=8))
    for tampered in (
        signature[:-cut],
        signature[cut:],
        signature + extra,
        extra + signature,
        b"\x00" + signature,  # the same number, one byte longer
        signature.lstrip(b"\x00")[1:],
        data.draw(st.binary(max_size=len(signature) + 2)),
    ):
        assert not same_verdict(key, message, tampered, hash_name)


def raw_sign(key: rsa.RSAPrivateKey, block: bytes) -> bytes:
    """``block``^d mod n: a signature over whatever encoding ``block`` holds."""
    numbers = key.private_numbers()
    size = (numbers.public_numbers.n.bit_length() + 7) // 8
    value = int.from_bytes(block, "big") % numbers.public_numbers.n
    return pow(value, numbers.d, numbers.public_numbers.n).to_bytes(size, "big")


def bad_encodings(digest: bytes, hash_name: str, size: int) -> dict[str, bytes]:
    """Blocks a lenient parser of the decrypted block might take for good ones."""
    prefix = rsa_verify.DIGEST_INFO_PREFIX[hash_name]
    good = rsa_verify.emsa_pkcs1_v1_5(digest, hash_name, size)  # type: ignore[arg-type]
    t = prefix + digest
    no_null = bytes([0x30, len(t) - 4, 0x30, prefix[3] - 2]) + prefix[4:-4] + prefix[-2:] + digest
    return {
        "block type 2": b"\x00\x02" + good[2:],
        "no leading zero": b"\x01" + good[2:] + b"\xff",
        "short padding, garbage after the digest": (
            b"\x00\x01" + b"\xff" * 8 + b"\x00" + t + b"\x00" * (size - len(t) - 11)
        ),
        "DigestInfo without NULL": b"\x00\x01"
        + b"\xff" * (size - len(no_null) - 3)
        + b"\x00"
        + no_null,
        "padding not 0xff": b"\x00\x01" + b"\xfe" + good[3:],
        "no separator": b"\x00\x01" + b"\xff" * (size - len(t) - 2) + t,
    }


@settings(ORACLE, max_examples=20)
@given(keys, hash_names, messages)
def test_malformed_encodings_signed_with_the_private_key_fail(
    key: rsa.RSAPrivateKey, hash_name: str, message: bytes
) -> None:
    """Signed for real, so only the encoding is wrong: both refuse each."""
    size = (key.key_size + 7) // 8
    digest = hashlib.new(hash_name, message).digest()
    good = rsa_verify.emsa_pkcs1_v1_5(digest, hash_name, size)  # type: ignore[arg-type]
    assert same_verdict(key, message, raw_sign(key, good), hash_name)
    for name, block in bad_encodings(digest, hash_name, size).items():
        assert len(block) == size, name
        assert not same_verdict(key, message, raw_sign(key, block), hash_name), name


def test_a_signature_not_below_the_modulus_fails() -> None:
    key = private_key(2048)
    n = key.public_key().public_numbers().n
    message = b"callback"
    for value in (n, n + int.from_bytes(sign(key, message, "md5"), "big") % (2**2048 - n)):
        assert not same_verdict(key, message, value.to_bytes(256, "big"), "md5")


# --- Keys: JWK and PEM -------------------------------------------------------


@ORACLE
@given(keys)
def test_jwk_and_pem_read_as_cryptography_writes_them(key: rsa.RSAPrivateKey) -> None:
    public = key.public_key()
    jwk = RSAAlgorithm.to_jwk(public, as_dict=True)
    pem = public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    assert rsa_verify.from_jwk(jwk) == ours(key)
    assert rsa_verify.from_pem(pem) == ours(key)
    assert rsa_verify.from_pem(b"explanatory text\n" + pem.replace(b"\n", b"\r\n")) == ours(key)


def pem_of(key: rsa.RSAPrivateKey) -> bytes:
    return key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def der_of(key: rsa.RSAPrivateKey) -> bytes:
    return key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


@settings(ORACLE, max_examples=30)
@given(st.sampled_from((1024, 2048, 4096)), st.data())
def test_a_tampered_der_is_refused_or_read_as_cryptography_reads_it(
    bits: int, data: st.DataObject
) -> None:
    """Never more lenient than OpenSSL: what we read, it reads the same."""
    der = bytearray(der_of(private_key(bits)))
    where = data.draw(st.integers(0, len(der) - 1))
    der[where] ^= data.draw(st.integers(1, 255))
    cut = data.draw(st.integers(0, 2))
    tampered = bytes(der[: len(der) - cut])
    try:
        key = rsa_verify.from_spki_der(tampered)
    except InvalidKey:
        return
    numbers = serialization.load_der_public_key(tampered).public_numbers()  # type: ignore[union-attr]
    assert (key.n, key.e) == (numbers.n, numbers.e)


def reads(read: Callable[[Any], RsaPublicKey], value: Any) -> bool:
    """Whether ``read`` takes ``value`` for a key rather than raising ``InvalidKey``."""
    try:
        read(value)
    except InvalidKey:
        return False
    return True


def test_der_that_is_not_strict_is_refused() -> None:
    der = der_of(private_key(2048))
    with_long_length = der[:1] + b"\x83\x00" + der[2:]  # 3-byte length where 2 do
    refused = {
        "trailing byte": der + b"\x00",
        "truncated": der[:-1],
        "non-minimal length": with_long_length,
        "indefinite length": der[:1] + b"\x80" + der[4:] + b"\x00\x00",
        "an EC key": ec.generate_private_key(ec.SECP256R1())
        .public_key()
        .public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo),
        "PKCS#1, not SubjectPublicKeyInfo": private_key(2048)
        .public_key()
        .public_bytes(serialization.Encoding.DER, serialization.PublicFormat.PKCS1),
    }
    assert [name for name, der in refused.items() if reads(rsa_verify.from_spki_der, der)] == []


def test_pem_that_is_not_a_public_key_is_refused() -> None:
    pem = pem_of(private_key(2048))
    for text in (
        pem.replace(b"PUBLIC KEY", b"RSA PUBLIC KEY"),
        pem.replace(b"-----END PUBLIC KEY-----", b""),
        pem.replace(b"M", b"*", 1),
        pem + b"trailing text",
        b"",
    ):
        with pytest.raises(InvalidKey):
            rsa_verify.from_pem(text)


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def test_jwk_members_are_read_strictly() -> None:
    """RFC 7518 2 (Base64urlUInt: fewest octets) and RFC 7515 2 (base64url, no padding)."""
    jwk = RSAAlgorithm.to_jwk(private_key(2048).public_key(), as_dict=True)
    n = base64.urlsafe_b64decode(jwk["n"] + "==")
    last = jwk["n"][-1]
    non_canonical = jwk["n"][:-1] + ("B" if last == "A" else chr(ord(last) + 1))
    refused = {
        "padded": {**jwk, "n": jwk["n"] + "=="},
        "leading zero": {**jwk, "n": b64url(b"\x00" + n)},
        "standard alphabet": {**jwk, "n": base64.b64encode(n).decode().rstrip("=")},
        "non-canonical": {**jwk, "n": non_canonical},
        "whitespace": {**jwk, "n": jwk["n"][:40] + "\n" + jwk["n"][40:]},
        "number": {**jwk, "e": 65537},
        "missing e": {"kty": "RSA", "n": jwk["n"]},
        "kty EC": {**jwk, "kty": "EC"},
        "private member": {**jwk, "d": jwk["n"]},
        "one character too many": {**jwk, "e": "AQABA"},
    }
    if len(n) * 8 % 6 == 0:
        del refused["non-canonical"]  # no spare bits to set
    assert [name for name, bad in refused.items() if reads(rsa_verify.from_jwk, bad)] == []


@pytest.mark.parametrize(
    ("n_bits", "e", "words"),
    [
        (1023, 65537, "modulus"),
        (16385, 65537, "modulus"),
        (2048, 1, "exponent"),
        (2048, 65536, "exponent"),
        (2048, 2**32 + 1, "exponent"),
    ],
)
def test_keys_out_of_bounds_are_refused(n_bits: int, e: int, words: str) -> None:
    n = (1 << (n_bits - 1)) | 1
    with pytest.raises(InvalidKey, match=words):
        RsaPublicKey(n=n, e=e)


def test_an_even_modulus_is_refused() -> None:
    with pytest.raises(InvalidKey, match="even"):
        RsaPublicKey(n=1 << 2047, e=65537)


def test_the_refusal_never_carries_key_material() -> None:
    jwk = {"kty": "RSA", "n": "AA" + "x" * 300, "e": "AQAB"}
    with pytest.raises(InvalidKey) as refusal:
        rsa_verify.from_jwk(jwk)
    assert "x" * 20 not in str(refusal.value)


members = st.one_of(st.text(), st.integers(), st.none(), st.lists(st.text(), max_size=2))
base64url_text = st.text(alphabet=string.ascii_letters + string.digits + "-_=")


@given(
    st.fixed_dictionaries(
        {"kty": st.sampled_from(["RSA", "EC", "oct"]) | members},
        optional={"n": base64url_text | members, "e": base64url_text | members, "d": members},
    )
)
def test_any_jwk_is_a_key_or_an_invalid_key(jwk: dict[str, Any]) -> None:
    """Nothing a key set holds makes the reader raise anything but InvalidKey."""
    try:
        key = rsa_verify.from_jwk(jwk)
    except InvalidKey:
        return
    assert key.n.bit_length() >= rsa_verify.MIN_MODULUS_BITS


@given(st.binary(max_size=600) | st.builds(lambda b: der_of(private_key(1024))[:b], st.integers()))
def test_any_bytes_are_a_key_or_an_invalid_key(data: bytes) -> None:
    for read in (rsa_verify.from_spki_der, rsa_verify.from_pem):
        try:
            read(data)
        except InvalidKey:
            continue
