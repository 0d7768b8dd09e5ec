"""Schema version shared by every record; bump the major part on breaking changes."""

SCHEMA_VERSION = "1.0"


def toolkit_version() -> str:
    """The installed trajkit version, recorded in every record and manifest."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("trajkit")
    except PackageNotFoundError:  # running from a source tree without installing
        return "0+unknown"
