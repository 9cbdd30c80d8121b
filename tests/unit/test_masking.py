import pytest

from smsdrop.masking import mask_number


@pytest.mark.parametrize(
    ("number", "masked"),
    [("919876543210", "••••3210"), ("+44 7700 900123", "••••0123"), ("123", "••••"), ("", "••••")],
    ids=["digits", "formatted", "too-short-to-show-any", "empty"],
)
def test_a_number_shows_only_its_last_four_digits(number, masked):
    assert mask_number(number) == masked
