import pytest

from smsdrop.masking import mask_digits, mask_number


@pytest.mark.parametrize(
    ("number", "masked"),
    [("919876543210", "••••3210"), ("+44 7700 900123", "••••0123"), ("123", "••••"), ("", "••••")],
    ids=["digits", "formatted", "too-short-to-show-any", "empty"],
)
def test_a_number_shows_only_its_last_four_digits(number, masked):
    assert mask_number(number) == masked


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("abnormal number 91856321412", "abnormal number ••••1412"),
        ("code -9 for 123456 only", "code -9 for 123456 only"),
        ("91856321412,919876543210", "••••1412,••••3210"),
    ],
    ids=["phone-number", "short-digits-kept", "several"],
)
def test_numbers_inside_a_text_keep_only_their_last_four_digits(text, expected):
    assert mask_digits(text) == expected
