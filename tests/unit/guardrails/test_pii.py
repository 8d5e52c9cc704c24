"""The structured PII tier: validators, placeholders, reversible masking, and the stream
redactor catching values split across chunks of any size."""

from __future__ import annotations

import random

import pytest

from switchgear.guardrails.pii import Detector, Masker
from switchgear.guardrails.pii.patterns import iban_valid, luhn
from switchgear.guardrails.pii.stream import HeldText

DETECTOR = Detector()


def kinds(text: str) -> list[tuple[str, str]]:
    return [(text[s:e], k) for s, e, k in DETECTOR.find(text)]


@pytest.mark.parametrize(
    ("text", "value", "kind"),
    [
        ("mail me: john.smith+x@mail.example.co.uk!", "john.smith+x@mail.example.co.uk", "EMAIL_ADDRESS"),
        ("card 5555 5555 5555 4444 ok", "5555 5555 5555 4444", "CREDIT_CARD"),
        ("card 2223-0031-2200-3222", "2223-0031-2200-3222", "CREDIT_CARD"),  # 2-series Mastercard
        ("IBAN DE89 3704 0044 0532 0130 00 please", "DE89 3704 0044 0532 0130 00", "IBAN_CODE"),
        ("ssn 078-05-1120", "078-05-1120", "US_SSN"),
        ("from 192.168.10.4 and", "192.168.10.4", "IP_ADDRESS"),
        ("v6 2001:db8::8a2e:370:7334 here", "2001:db8::8a2e:370:7334", "IP_ADDRESS"),
        ("born on 1984-03-02 in", "1984-03-02", "DATE_TIME"),
        ("key sk-proj-abcdefghijklmnopqrstuvwx12", "sk-proj-abcdefghijklmnopqrstuvwx12", "SECRET"),
        ("aws AKIAIOSFODNN7EXAMPLE x", "AKIAIOSFODNN7EXAMPLE", "SECRET"),
        (
            "db postgres://app:hunter2@db.internal:5432/x",
            "postgres://app:hunter2@db.internal:5432/x",
            "URL_CREDENTIALS",
        ),
        ("Phone: 020 7946 0958", "020 7946 0958", "PHONE_NUMBER"),
        ("call +44 20 7946 0958 now", "+44 20 7946 0958", "PHONE_NUMBER"),
        ("ship to 221 Baker Street, London", "221 Baker Street, London", "STREET_ADDRESS"),
        ("please ship it to 20789 Allika 46", "20789 Allika 46", "STREET_ADDRESS"),
    ],
)
def test_each_type_is_found(text: str, value: str, kind: str) -> None:
    assert (value, kind) in kinds(text)


@pytest.mark.parametrize(
    "text",
    [
        "card 4111 1111 1111 1112",  # Luhn fails
        "ssn 666-12-3456 and 900-12-3456 and 123-00-4567",  # area / group rules
        "version 1.2.3.4000 and 999.1.1.1",
        "It takes 2 hours to drive 4 miles at 5 PM.",
        "What is 12 * 34? The answer is 408.",
        "Run at 12:30:45 on port 8080",
        "Read Chapter 5 Section 2 before Monday.",
        "In 2020 Microsoft Teams grew 70 percent.",
        "It costs 12 Euros per 100 grams",
    ],
)
def test_near_misses_are_left_alone(text: str) -> None:
    assert kinds(text) == []


def test_an_iban_failing_mod_97_is_not_an_iban() -> None:
    assert "IBAN_CODE" not in {k for _, k in kinds("IBAN DE89 3704 0044 0532 0130 01")}


def test_validators() -> None:
    assert luhn("4111111111111111") and not luhn("4111111111111112")
    assert iban_valid("GB82 WEST 1234 5698 7654 32") and not iban_valid("GB82 WEST 1234 5698 7654 33")


def test_placeholders_are_typed_numbered_and_restore_only_their_own_values() -> None:
    masker = Masker(DETECTOR)
    masked = masker.mask("a@x.io then b@y.io then a@x.io")
    assert masked == "<EMAIL_1> then <EMAIL_2> then <EMAIL_1>"
    assert masker.found == {"EMAIL_ADDRESS": 3}
    assert masker.restore("hi <EMAIL_2> and <EMAIL_9>") == "hi b@y.io and <EMAIL_9>"
    other = Masker(DETECTOR)  # another request: no values
    assert other.restore("hi <EMAIL_2>") == "hi <EMAIL_2>"


def test_a_restored_value_is_not_masked_again_in_one_pass() -> None:
    masker = Masker(DETECTOR)
    masker.mask("write to a@x.io")
    text = "sent to <EMAIL_1>, cc c@z.io"
    assert masker.rewrite(text, masker.spans(text, restore=True)) == "sent to a@x.io, cc <EMAIL_2>"


TEXTS = [
    "Contact jane.roe@example.org or +1 415-555-0132 about card 4111-1111-1111-1111.",
    "IBAN GB82 WEST 1234 5698 7654 32, token "
    "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.abcdefghijk done",
    "-----BEGIN RSA PRIVATE KEY-----\nMIIBOgIBAAJBAKj34GkxFhD90vcNLYLInFEX6Ppy1tPf9Cnzj4p4WGeKLs1Pt8Qu\n"
    "-----END RSA PRIVATE KEY----- end",
]


@pytest.mark.parametrize("text", TEXTS)
@pytest.mark.parametrize("seed", range(20))
def test_a_stream_masks_values_split_across_chunks_like_the_whole_text(text: str, seed: int) -> None:
    rng = random.Random(seed)
    whole = Masker(DETECTOR).mask(text)
    held = HeldText(Masker(DETECTOR), window=32, restore=False)
    out, i = [], 0
    while i < len(text):
        n = rng.randint(1, 9)
        out.append(held.feed(text[i : i + n]))
        i += n
    out.append(held.finish())
    assert "".join(out) == whole
    assert "jane.roe" not in "".join(out[:-1]) or "jane.roe" not in text  # never released raw


def test_a_stream_restores_a_placeholder_split_across_chunks() -> None:
    masker = Masker(DETECTOR)
    masker.mask("mine is a@x.io")
    held = HeldText(masker, window=32, restore=True)
    pieces = ["Your address <EM", "AIL", "_1> is noted, and that is all there is to it, friend."]
    assert "".join(held.feed(p) for p in pieces) + held.finish() == pieces[0][:-3] + "a@x.io" + pieces[2][3:]


def test_only_the_configured_types_are_looked_for() -> None:
    assert Detector(["EMAIL_ADDRESS"]).find("a@x.io 078-05-1120") == [(0, 6, "EMAIL_ADDRESS")]
    with pytest.raises(ValueError, match="unknown PII types"):
        Detector(["NAME"])


def test_look_alike_digits_and_invisible_characters_are_folded() -> None:
    text = "card \uff14\uff11\uff11\uff11 1111 1111 1111 and j\u200bane@exa\u200bmple.org"
    assert Masker(DETECTOR).mask(text) == "card <CARD_1> and <EMAIL_1>"
