"""Delivery settings from the environment."""

import pytest

from smsdrop.config import ConfigError
from smsdrop.delivery.settings import DELIVERY_ENV, DeliverySettings


def test_unset_or_empty_variables_keep_the_defaults():
    assert DeliverySettings.from_env({"DELIVERY_MAX_AGE_HOURS": ""}) == DeliverySettings()
    assert DeliverySettings().max_age_s == 72 * 3600


@pytest.mark.parametrize(
    ("name", "raw", "field", "value"),
    [
        ("DELIVERY_MAX_AGE_HOURS", "48", "max_age_hours", 48.0),
        ("DELIVERY_MAX_AGE_HOURS", "0.5", "max_age_hours", 0.5),
        ("DELIVERY_TIME_MARGIN_MS", " 5000 ", "time_margin_ms", 5000),
        ("DELIVERY_THREADS", "2", "threads", 2),
    ],
    ids=["hours", "fractional-hours", "padded-margin", "threads"],
)
def test_each_variable_sets_its_field(name, raw, field, value):
    assert getattr(DeliverySettings.from_env({name: raw}), field) == value


@pytest.mark.parametrize(
    ("name", "raw"),
    [("DELIVERY_MAX_AGE_HOURS", "soon"), ("DELIVERY_MAX_AGE_HOURS", "0"), ("DELIVERY_THREADS", "1.5")],
    ids=["not-a-number", "zero", "fractional-threads"],
)
def test_a_malformed_value_names_its_variable(name, raw):
    with pytest.raises(ConfigError, match=name):
        DeliverySettings.from_env({name: raw})


def test_every_field_has_a_variable():
    assert set(DELIVERY_ENV) == set(DeliverySettings.__dataclass_fields__)
