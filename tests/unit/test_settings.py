import pytest

from smsdrop.config import ConfigError, Settings


def test_settings_keep_defaults_when_the_environment_is_empty():
    assert Settings.from_env({}) == Settings()


@pytest.mark.parametrize(
    ("env", "field", "expected"),
    [
        ({"NUMBERS_PER_CALL": "500"}, "numbers_per_call", 500),
        ({"GATEWAY_ALLOW_HTTP": "true"}, "allow_http", True),
        ({"REJECT_DUPLICATES": "off"}, "reject_duplicates", False),
        ({"CALLS_PER_SECOND": "2.5"}, "calls_per_second", 2.5),
        ({"DEFAULT_REGION": "IN"}, "default_region", "IN"),
    ],
    ids=["int", "bool-true", "bool-off", "float", "str"],
)
def test_settings_read_each_kind_of_value(env, field, expected):
    assert getattr(Settings.from_env(env), field) == expected


@pytest.mark.parametrize(
    "env",
    [{"NUMBERS_PER_CALL": "many"}, {"GATEWAY_ALLOW_HTTP": "maybe"}],
    ids=["not-a-number", "not-a-bool"],
)
def test_a_malformed_setting_names_its_variable(env):
    (name,) = env
    with pytest.raises(ConfigError, match=name):
        Settings.from_env(env)
