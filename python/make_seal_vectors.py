"""Known-answer vectors for whyline's input sealing with AES-256-GCM (algorithm 1), computed
with Python's `cryptography` (OpenSSL), and with AEGIS-256 (algorithm 2), computed with
libsodium's AEGIS-256 through PyNaCl: neither with whyline's own code nor with the `aegis`
crate (libaegis) it seals with.

The construction (docs/ledger-format.md): a 24-byte nonce field is a 16-byte prefix and an
8-byte little-endian counter; the key is HMAC-SHA256(key, label || prefix), one label per
algorithm. AES-256-GCM's 96-bit nonce is four zero bytes followed by the counter; AEGIS-256's
256-bit nonce is the whole nonce field followed by eight zero bytes.

Writes crates/whyline-ledger/tests/fixtures/seal/aes_256_gcm.json and aegis_256.json.
Run: python3 python/make_seal_vectors.py   (needs requirements-seal.txt)
"""

import hashlib
import hmac
import json
import pathlib

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from nacl.bindings import crypto_aead_aegis256_encrypt

FIXTURES = pathlib.Path(__file__).resolve().parent.parent / "crates/whyline-ledger/tests/fixtures/seal"


def aes_256_gcm(derived: bytes, field: bytes, aad: bytes, plaintext: bytes) -> bytes:
    return AESGCM(derived).encrypt(b"\x00" * 4 + field[16:], plaintext, aad)


def aegis_256(derived: bytes, field: bytes, aad: bytes, plaintext: bytes) -> bytes:
    return crypto_aead_aegis256_encrypt(plaintext, aad, field + b"\x00" * 8, derived)


# Name, key label, sealing function, tag bytes: libsodium's AEGIS-256 gives the 256-bit tag
# only (whyline keeps the 128-bit one, which RFC 10032's vectors check); the ciphertext is
# the same for both, and the 256-bit tag still checks the key, the nonce and the associated
# data the Rust test passes.
ALGORITHMS = [
    ("aes_256_gcm.json", b"whyline sealed input AES-256-GCM key", aes_256_gcm, 16),
    ("aegis_256.json", b"whyline sealed input AEGIS-256 key", aegis_256, 32),
]


def case(label, seal, tag_len, key: bytes, prefix: bytes, counter: int, aad: bytes, plaintext: bytes) -> dict:
    derived = hmac.new(key, label + prefix, hashlib.sha256).digest()
    sealed = seal(derived, prefix + counter.to_bytes(8, "little"), aad, plaintext)
    return {
        "key": key.hex(),
        "nonce": (prefix + counter.to_bytes(8, "little")).hex(),
        "aad": aad.hex(),
        "plaintext": plaintext.hex(),
        "derived_key": derived.hex(),
        "ciphertext": sealed[:-tag_len].hex(),
        "tag" if tag_len == 16 else "tag256": sealed[-tag_len:].hex(),
    }


def main() -> None:
    FIXTURES.mkdir(parents=True, exist_ok=True)
    for name, label, seal, tag_len in ALGORITHMS:
        cases = [
            case(label, seal, tag_len, bytes(range(32)), bytes(range(0x40, 0x50)), 0, b"", b""),
            case(label, seal, tag_len, bytes([0x42] * 32), bytes([0x17] * 16), 1, bytes([7] * 124), bytes(range(109))),
            case(
                label,
                seal,
                tag_len,
                hashlib.sha256(b"subject key").digest(),
                hashlib.sha256(b"prefix").digest()[:16],
                2**64 - 1,
                hashlib.sha256(b"aad").digest() * 4,
                (b"the object was a cat " * 12)[:211],
            ),
        ]
        out = FIXTURES / name
        out.write_text(json.dumps({"label": label.decode(), "cases": cases}, indent=1) + "\n")
        print(f"wrote {len(cases)} cases to {out}")


if __name__ == "__main__":
    main()
