"""The timing harness of the benchmark scripts (run as ``python benchmarks/bench_*.py``).

Every measurement is a :class:`Timing`: wall-clock time (``time.perf_counter``) and the
process CPU time of all threads (``time.process_time``), which other processes on a shared
machine disturb much less than wall time. :func:`interleaved` runs the compared functions in
turn (a, b, a, b, ...) after a warm-up call each, so they see the same warm state and
background load; the scripts report :func:`best` (the minimum) or :func:`median` of the runs.
"""
import statistics
import time
from typing import Any, Callable, Dict, List, NamedTuple, Optional, Sequence, Tuple


class Timing(NamedTuple):
    """Seconds of one call: wall clock and process CPU time (all threads)."""
    wall: float
    cpu: float


def timed(fn: Callable[..., Any], *args: Any, sync: Optional[Callable[[], None]] = None,
          **kwargs: Any) -> Tuple[Any, Timing]:
    """Call ``fn(*args, **kwargs)`` once.

    Args:
        fn (Callable): The function to time.
        *args, **kwargs: Its arguments.
        sync (Callable, optional): Called before the clocks start and before they stop, e.g.
            ``torch.cuda.synchronize`` so that queued GPU work counts. Defaults to None.

    Returns:
        tuple: ``fn``'s result and its :class:`Timing`.
    """
    if sync is not None:
        sync()
    wall, cpu = time.perf_counter(), time.process_time()
    out = fn(*args, **kwargs)
    if sync is not None:
        sync()
    return out, Timing(time.perf_counter() - wall, time.process_time() - cpu)


def interleaved(fns: Dict[str, Callable[[], Any]], reps: int, warmup: int = 1,
                sync: Optional[Callable[[], None]] = None) -> Dict[str, List[Timing]]:
    """Time several argument-less functions ``reps`` times each, in turn.

    Args:
        fns (dict[str, Callable]): Name -> function to time.
        reps (int): Timed calls of each function.
        warmup (int): Untimed calls of each function first (lazy inits, allocator caches).
            Defaults to 1.
        sync (Callable, optional): See :func:`timed`.

    Returns:
        dict[str, list[Timing]]: The timings of each function, in call order.
    """
    for _ in range(warmup):
        for fn in fns.values():
            fn()
    times = {name: [] for name in fns}
    for _ in range(reps):
        for name, fn in fns.items():
            times[name].append(timed(fn, sync=sync)[1])
    return times


def best(times: Sequence[Timing], kind: str = 'wall') -> float:
    """The minimum ``kind`` (``'wall'`` or ``'cpu'``) seconds of ``times``."""
    return min(getattr(t, kind) for t in times)


def median(times: Sequence[Timing], kind: str = 'wall') -> float:
    """The median ``kind`` (``'wall'`` or ``'cpu'``) seconds of ``times``."""
    return statistics.median(getattr(t, kind) for t in times)
