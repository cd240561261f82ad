"""The strength rule of a secret an operator chooses (an API token key, the metrics token): plain
Python, so that the settings can apply it at start."""

SECRET_MIN_LENGTH = 32
SECRET_MIN_DISTINCT = 12
SECRET_ALPHABET = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_")


def secret_problem(value: str) -> str | None:
    """Why `value` is too weak to be a token an operator chose, or None."""
    if len(value) < SECRET_MIN_LENGTH:
        return f"at least {SECRET_MIN_LENGTH} characters"
    if not set(value) <= SECRET_ALPHABET:
        return "letters, digits, '-' and '_' only"
    if len(set(value)) < SECRET_MIN_DISTINCT:
        return f"at least {SECRET_MIN_DISTINCT} different characters (a random key)"
    return None
