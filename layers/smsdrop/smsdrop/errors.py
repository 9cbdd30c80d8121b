"""The base of every exception smsdrop raises, so a caller can tell ours from the libraries'."""


class SmsdropError(Exception):
    """Something smsdrop decided: a verdict on a file or row, an instruction from the provider or an operator,
    a setting or secret that cannot be used, or a store or provider answer that cannot be acted on."""
