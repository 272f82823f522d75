from . import assigners  # noqa: F401
