from . import dense_heads, losses, task_modules  # noqa: F401
