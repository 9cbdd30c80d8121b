import pytest

from smsdrop.provider.codes import Action, ProviderCode, classify

STOP = ["-1", "-2", "-10", "-13", "-19", "-30", "-31", "-32"]
RETRY = ["-12", "-15", "-16", "-18", "-27"]
REJECT = ["-3", "-4", "-5", "-6", "-7", "-8", "-9", "-22", "-28"]


@pytest.mark.parametrize(
    ("code", "action"),
    [(c, Action.STOP) for c in STOP] + [(c, Action.RETRY) for c in RETRY] + [(c, Action.REJECT) for c in REJECT],
    ids=[f"stop{c}" for c in STOP] + [f"retry{c}" for c in RETRY] + [f"reject{c}" for c in REJECT],
)
def test_each_documented_code_has_the_action_the_contract_gives_it(code, action):
    verdict = classify(code, "whatever the provider says")
    assert (verdict.code, verdict.action, verdict.known) == (code, action, True)


def test_the_enum_holds_exactly_the_codes_of_the_contract():
    assert {c.value for c in ProviderCode} == set(STOP + RETRY + REJECT)


def test_every_code_has_a_message_a_person_can_read():
    assert all(len(c.message) > 20 and c.message[0].isupper() for c in ProviderCode)


@pytest.mark.parametrize(
    ("reason", "expected"),
    [("DST_MCCMNC_LIMIT", "DST_MCCMNC_LIMIT"), ("", "The provider answered with undocumented code -99")],
    ids=["with-reason", "without-reason"],
)
def test_an_undocumented_negative_code_rejects_the_call_with_the_providers_reason(reason, expected):
    verdict = classify("-99", reason)
    assert (verdict.action, verdict.known, verdict.message) == (Action.REJECT, False, expected)
    assert verdict.describe(reason) == expected


@pytest.mark.parametrize(
    ("provider_reason", "expected"),
    [
        ("Sensitive words: casino", f"{ProviderCode('-3').message} (provider: Sensitive words: casino)"),
        ("", ProviderCode("-3").message),
    ],
    ids=["adds-the-providers-words", "our-message-alone"],
)
def test_a_known_code_is_described_with_our_message_first(provider_reason, expected):
    assert classify("-3").describe(provider_reason) == expected


def test_a_code_is_found_by_its_status_string():
    assert ProviderCode("-10") is ProviderCode.INSUFFICIENT_BALANCE
    assert ProviderCode.INSUFFICIENT_BALANCE == "-10"
