import re

import pytest

from smsdrop.provider.signing import sign, signed_headers


@pytest.mark.parametrize(
    ("key", "secret", "timestamp", "expected"),
    [
        ("key", "secret", 1630468800, "291bf92c541f645573358879e75ef65e"),
        ("bDqJFiq9", "s3cr3t", "1630468800", "9f889720d09491a99b73102629bc4acd"),
    ],
    ids=["int-timestamp", "str-timestamp"],
)
def test_the_sign_is_the_md5_of_key_secret_and_timestamp(key, secret, timestamp, expected):
    # expected values computed independently: printf '%s' 'keysecret1630468800' | md5sum
    assert sign(key, secret, timestamp) == expected


def test_the_sign_is_32_lowercase_hex_characters():
    assert re.fullmatch(r"[0-9a-f]{32}", sign("K", "S", 1))


def test_the_headers_carry_content_type_key_timestamp_and_sign():
    assert signed_headers("key", "secret", 1630468800) == {
        "Content-Type": "application/json;charset=UTF-8",
        "Api-Key": "key",
        "Timestamp": "1630468800",
        "Sign": "291bf92c541f645573358879e75ef65e",
    }


def test_a_new_timestamp_gives_a_new_sign():
    assert signed_headers("k", "s", 100)["Sign"] != signed_headers("k", "s", 101)["Sign"]
