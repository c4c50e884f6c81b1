"""Credential verifier throughput on one core.

Measures in one run, so the figures compare: the two Base45 decoders, Ed25519 verification
by OpenSSL (cryptography) and by libsodium (PyNaCl), full verification of valid tokens, the
station's check (verification + denylist), the same for device codes (protocol/device_cert.py:
an Ed25519 certificate and an ECDSA P-256 presentation), and rejection of garbage of several
kinds. Prints a table and one JSON line.

    .venv/bin/python bench/bench_verifier.py [--seconds 2]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import time
from collections.abc import Callable

import base45
import nacl.bindings
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from protocol.credential import (
    PREFIX,
    Claims,
    Rejected,
    b45decode,
    new_nonce,
    raw_public_key,
    sign_token,
    verify_token,
)
from protocol.device_cert import DeviceCert, present, sign_cert, verify_device_code
from station_agent.core.scan import StationView, check_scan

_BASE45 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"


def rate(label: str, items: list[str], check: Callable[[str], object], seconds: float) -> float:
    done, start = 0, time.perf_counter()
    deadline = start + seconds
    while time.perf_counter() < deadline:
        for item in items:
            check(item)
        done += len(items)
    per_s = done / (time.perf_counter() - start)
    print(f"{label:<38} {per_s:>12,.0f} /s   {1e6 / per_s:8.1f} µs each")
    return per_s


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=2.0)
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})  # one core
    rng = random.Random(1)
    key = Ed25519PrivateKey.generate()
    keys = {"k1": raw_public_key(key)}
    now = time.time()
    tokens = [
        sign_token(Claims("k1", f"r-{i:012d}", "ws-bench", int(now), 60, new_nonce(), 1), key)
        for i in range(500)
    ]
    phone = ec.generate_private_key(ec.SECP256R1())
    cert = DeviceCert(
        "k1", "r-abcdefghjkmn", "ws-bench", int(now), int(now) + 43_200, 60, 1,
        phone.public_key().public_bytes(Encoding.X962, PublicFormat.CompressedPoint),
    )  # fmt: skip
    signed_cert = sign_cert(cert, key)
    device_codes = [present(signed_cert, phone, now=now) for _ in range(100)]
    view = StationView("s", "ws-bench", keys, 1, now, {f"r-x{i}": 2 for i in range(1000)})
    message = tokens[0].encode()
    signature = key.sign(message)
    public, public_raw = key.public_key(), raw_public_key(key)
    body = tokens[0][len(PREFIX) :]

    def verify(text: str) -> Claims | Rejected:
        return verify_token(text, keys=keys, audience="ws-bench", now=now)

    def openssl(_: str) -> None:
        public.verify(signature, message)

    def libsodium(_: str) -> None:
        nacl.bindings.crypto_sign_open(signature + message, public_raw)

    garbage = {
        "not ours (URL, vCard, text)": [
            rng.choice(["https://example.com/", "BEGIN:VCARD", "hello", ""]) + str(i)
            for i in range(500)
        ],
        "over-long": ["WS1:" + "A" * 2000 for _ in range(100)],
        "bad Base45": [PREFIX + "abc" + str(i) for i in range(500)],
        "random Base45 body": [
            PREFIX + "".join(rng.choice(_BASE45) for _ in range(180)) for _ in range(500)
        ],
        "forged signature": [t[:-3] + ("000" if not t.endswith("000") else "111") for t in tokens],
    }
    s = args.seconds
    print(f"one core, {s:.1f} s per figure")
    results = {
        "base45_package_decode_per_s": rate(
            "Base45 decode, base45 package", [body] * 100, base45.b45decode, s
        ),
        "base45_ours_decode_per_s": rate("Base45 decode, ours (numpy)", [body] * 100, b45decode, s),
        "openssl_verify_per_s": rate("Ed25519 verify, OpenSSL", ["x"] * 100, openssl, s),
        "libsodium_verify_per_s": rate("Ed25519 verify, libsodium", ["x"] * 100, libsodium, s),
        "full_verify_per_s": rate("full verification, valid token", tokens, verify, s),
        "station_check_per_s": rate(
            "station check (+1000-entry denylist)", tokens, lambda t: check_scan(t, view, now), s
        ),
        "device_verify_per_s": rate(
            "full verification, valid device code",
            device_codes,
            lambda t: verify_device_code(t, keys=keys, audience="ws-bench", now=now),
            s,
        ),
        "device_station_check_per_s": rate(
            "station check, device code", device_codes, lambda t: check_scan(t, view, now), s
        ),
    }
    garbage_rates = {
        label: rate(f"reject: {label}", items, verify, s) for label, items in garbage.items()
    }
    mixed = [item for items in garbage.values() for item in items]
    rng.shuffle(mixed)
    results["garbage_rejections_per_s"] = rate("reject: mix of all five kinds", mixed, verify, s)
    results["forged_rejections_per_s"] = garbage_rates["forged signature"]
    results["unsigned_garbage_rejections_per_s"] = min(
        rate for label, rate in garbage_rates.items() if label != "forged signature"
    )
    results["libsodium_vs_openssl"] = (
        results["libsodium_verify_per_s"] / results["openssl_verify_per_s"]
    )
    results["base45_ours_vs_package"] = (
        results["base45_ours_decode_per_s"] / results["base45_package_decode_per_s"]
    )
    results["full_verify_vs_libsodium_floor"] = (
        results["full_verify_per_s"] / results["libsodium_verify_per_s"]
    )
    print(json.dumps({"bench": "verifier", **{k: round(v, 3) for k, v in results.items()}}))


if __name__ == "__main__":
    main()
