"""Every exception the package defines derives from SmsdropError, so callers can tell ours from the libraries'."""

import importlib
import inspect
import pkgutil

import pytest

import smsdrop
from smsdrop.errors import SmsdropError


def _our_exceptions() -> list[type[BaseException]]:
    found = []
    for module in pkgutil.walk_packages(smsdrop.__path__, "smsdrop."):
        loaded = importlib.import_module(module.name)
        for _, value in inspect.getmembers(loaded, inspect.isclass):
            if issubclass(value, BaseException) and value.__module__ == module.name:
                found.append(value)
    return found


OURS = _our_exceptions()


def test_the_package_defines_exceptions_to_check():
    assert len(OURS) >= 10


@pytest.mark.parametrize("exception", OURS, ids=[e.__qualname__ for e in OURS])
def test_every_exception_of_the_package_is_an_smsdrop_error(exception):
    assert issubclass(exception, SmsdropError)
