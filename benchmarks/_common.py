"""Helpers shared by the benchmark scripts (run as ``python benchmarks/bench_*.py``)."""
import contextlib
import logging
from typing import Iterator

from mmengine.logging import MMLogger


@contextlib.contextmanager
def silence_mmengine() -> Iterator[None]:
    """Hide MMEngine's INFO/WARNING logs (weight init messages) inside the block."""
    logger = MMLogger.get_current_instance()
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)
