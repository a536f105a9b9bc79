"""Where the index lives unless the user says otherwise."""

DEFAULT_UPSTREAM = "https://pypi.org"
DEFAULT_FILES_HOST = "https://files.pythonhosted.org"
# The pip that resolves for `fetch` and `lock` unless --pip-version names another.
DEFAULT_PIP_VERSION = "26.3"
