"""Object keys are made only from validated parts: hashes, and plain export file names."""

from __future__ import annotations

import hashlib

import pytest

from pitwall.common.storage import (
    InvalidKey,
    checked_sha256,
    export_key,
    mcap_key,
    signals_prefix,
    staging_key,
)

SHA = hashlib.sha256(b"a run").hexdigest()
REQUEST = SHA[:32]

NOT_SHA256 = [
    "",
    "../" + SHA[3:],
    SHA[:32] + "/" + SHA[33:],
    "a/b",
    SHA.upper(),
    SHA[:63],
    SHA + "0",
    SHA[:63] + "g",
    " " + SHA[1:],
    SHA[:63] + "\n",
    "..",
    "%2e%2e%2f" + SHA[9:],
    None,
    12,
]


def test_keys_of_a_valid_hash() -> None:
    assert mcap_key(SHA) == f"mcap/{SHA}.mcap"
    assert staging_key(SHA) == f"incoming/{SHA}.mcap"
    assert signals_prefix(SHA) == SHA
    assert export_key(REQUEST, "run_1.mat") == f"exports/{REQUEST}/run_1.mat"
    assert export_key(REQUEST, "Mérida-ensayo.parquet") == f"exports/{REQUEST}/Mérida-ensayo.parquet"


@pytest.mark.parametrize("bad", NOT_SHA256, ids=repr)
@pytest.mark.parametrize("make", [checked_sha256, mcap_key, staging_key, signals_prefix], ids=lambda f: f.__name__)
def test_anything_but_a_sha256_is_refused(make: object, bad: object) -> None:
    with pytest.raises(InvalidKey, match="SHA-256"):
        make(bad)  # type: ignore[operator]


@pytest.mark.parametrize("bad", [REQUEST.upper(), REQUEST[:31], SHA, "../" + REQUEST[3:], "a/b", ""], ids=repr)
def test_export_request_hash_must_be_32_hex(bad: str) -> None:
    with pytest.raises(InvalidKey, match="request hash"):
        export_key(bad, "x.mat")


@pytest.mark.parametrize(
    "bad", ["", ".", "..", "...", "../x.mat", "a/b.mat", "a\\b.mat", "x.mat\n", "x y.mat", "x" * 256, "\x00.mat"],
    ids=repr,
)
def test_export_file_name_must_be_plain(bad: str) -> None:
    with pytest.raises(InvalidKey, match="plain file name"):
        export_key(REQUEST, bad)


def test_invalid_key_is_a_value_error() -> None:
    # Callers that already turn ValueError into a 4xx or a failed job keep doing so.
    assert issubclass(InvalidKey, ValueError)
