from switchgear.keys.material import KEY_PREFIX, digest, display_prefix, looks_like_key, new_key


def test_a_new_key_has_the_virtual_key_form_and_is_never_repeated() -> None:
    keys = {new_key() for _ in range(1000)}
    assert len(keys) == 1000
    for key in keys:
        assert key.startswith(KEY_PREFIX)
        assert looks_like_key(key.encode())


def test_the_digest_is_sha256_hex_and_the_same_for_str_and_bytes() -> None:
    key = "sk-sg-" + "a" * 43
    assert digest(key) == digest(key.encode())
    assert digest(key) == "".join(f"{b:02x}" for b in __import__("hashlib").sha256(key.encode()).digest())
    assert len(digest(key)) == 64


def test_the_display_prefix_hides_the_rest_of_the_key() -> None:
    key = new_key()
    shown = display_prefix(key)
    assert shown.startswith("sk-sg-") and shown.endswith("…")
    assert len(shown) == len("sk-sg-") + 5


def test_other_tokens_do_not_look_like_keys() -> None:
    assert not looks_like_key(b"sk-abc")
    assert not looks_like_key(b"sk-sg-short")
    assert not looks_like_key(b"Bearer sk-sg-" + b"a" * 43)
