"""Known-answer vectors for whyline's AES-256-GCM input sealing (algorithm 1), computed with
Python's `cryptography` (OpenSSL), not with whyline's own code.

The construction (docs/ledger-format.md): a 24-byte nonce field is a 16-byte prefix and an
8-byte little-endian counter; the AES-256-GCM key is HMAC-SHA256(key, label || prefix) and
the 96-bit nonce is four zero bytes followed by the counter.

Writes crates/whyline-ledger/tests/fixtures/seal/aes_256_gcm.json.
Run: python3 python/make_seal_vectors.py   (needs cryptography; requirements-seal.txt)
"""

import hashlib
import hmac
import json
import pathlib

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

LABEL = b"whyline sealed input AES-256-GCM key"
OUT = (
    pathlib.Path(__file__).resolve().parent.parent
    / "crates/whyline-ledger/tests/fixtures/seal/aes_256_gcm.json"
)


def case(key: bytes, prefix: bytes, counter: int, aad: bytes, plaintext: bytes) -> dict:
    derived = hmac.new(key, LABEL + prefix, hashlib.sha256).digest()
    nonce = b"\x00" * 4 + counter.to_bytes(8, "little")
    sealed = AESGCM(derived).encrypt(nonce, plaintext, aad)
    return {
        "key": key.hex(),
        "nonce": (prefix + counter.to_bytes(8, "little")).hex(),
        "aad": aad.hex(),
        "plaintext": plaintext.hex(),
        "derived_key": derived.hex(),
        "ciphertext": sealed[:-16].hex(),
        "tag": sealed[-16:].hex(),
    }


def main() -> None:
    cases = [
        case(bytes(range(32)), bytes(range(0x40, 0x50)), 0, b"", b""),
        case(bytes([0x42] * 32), bytes([0x17] * 16), 1, bytes([7] * 124), bytes(range(109))),
        case(
            hashlib.sha256(b"subject key").digest(),
            hashlib.sha256(b"prefix").digest()[:16],
            2**64 - 1,
            hashlib.sha256(b"aad").digest() * 4,
            (b"the object was a cat " * 12)[:211],
        ),
    ]
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps({"label": LABEL.decode(), "cases": cases}, indent=1) + "\n")
    print(f"wrote {len(cases)} cases to {OUT}")


if __name__ == "__main__":
    main()
