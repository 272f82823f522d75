"""A quieter console for ``tools/train.py`` / ``tools/test.py``: targeted filters only.

A training run of an mmowp config printed, besides MMEngine's usual environment / config /
hook listing, lines that say nothing a user can act on:

* Python warnings raised by the pinned stack on every run: setuptools' ``pkg_resources is
  deprecated`` (MMEngine imports it to resolve ``mmdet::`` bases, which every mmowp config
  inherits) and torch's ``torch.meshgrid: ... indexing argument`` (mmdet's
  ``MlvlPointGenerator``, the FCOS priors; its ``'ij'`` default is what mmdet means).
  :func:`install_warning_filters` ignores exactly these messages (``warnings.filterwarnings``
  with the message and category), nothing else.
* MMEngine log records, per run: one ``<param> is skipped since its requires_grad=False``
  WARNING per frozen parameter (the OWP recipe freezes the classifier; the paper configs
  freeze BN and the ResNet stem: hundreds of lines), one ``paramwise_options -- <param>:...``
  INFO per parameter with an lr / decay multiplier (``bias_lr_mult``, ``custom_keys``), and
  MMEngine's own ``CheckpointHook`` calling its deprecated ``FileClient`` (two WARNINGs).
  :func:`quiet_console` puts a filter on the *console* handler of the run's logger only:
  each per-parameter series becomes one line on the console (naming the first parameter
  and the log file); the two ``FileClient`` lines are dropped from the console. The log
  file (``work_dir/<timestamp>/<timestamp>.log``) keeps every record.

Nothing else is touched: the environment report, the config dump and the hook order stay
where MMEngine puts them, governed by its usual option, the config's ``log_level``
(``--cfg-options log_level=WARNING`` hides every INFO line, as in any MMEngine run).
"""
import logging
import re
import warnings
from typing import List, Optional, Pattern, Tuple

#: (message regex, category) of the Python warnings ignored by :func:`install_warning_filters`.
IGNORED_WARNINGS: Tuple[Tuple[str, type], ...] = (
    (r'pkg_resources is deprecated as an API', UserWarning),
    (r'torch\.meshgrid: in an upcoming release, it will be required to pass the indexing '
     r'argument', UserWarning),
)

#: Per-parameter log series shown as one console line: (regex, summary). ``{first}`` is the
#: first record's parameter name, ``{log}`` the run's log file.
COLLAPSED: Tuple[Tuple[str, str], ...] = (
    (r'^(?P<name>\S+) is skipped since its requires_grad=False$',
     'parameters with requires_grad=False (frozen by the config) are left out of the '
     'optimizer, from {first} on; the full list is in {log}'),
    (r'^paramwise_options -- (?P<name>[^:]+):',
     'paramwise_cfg sets lr / weight-decay multipliers per parameter, from {first} on; the '
     'full list is in {log}'),
)

#: Console-only drops: MMEngine's CheckpointHook uses its own deprecated FileClient.
DROPPED: Tuple[str, ...] = (
    r'^"FileClient" will be deprecated in future',
    r'^"HardDiskBackend" is the alias of "LocalBackend"',
)


def install_warning_filters() -> None:
    """Ignore the Python warnings of :data:`IGNORED_WARNINGS` (idempotent)."""
    for message, category in IGNORED_WARNINGS:
        warnings.filterwarnings('ignore', message=message, category=category)


class ConsoleFilter(logging.Filter):
    """Filter of one console handler: collapses :data:`COLLAPSED` series, drops
    :data:`DROPPED` records, lets everything else through.

    Args:
        handler (logging.Handler): The handler the filter is attached to (the one-line
            summaries are emitted on it).
        log_file (str, optional): Named in the summaries.
    """

    def __init__(self, handler: logging.Handler, log_file: Optional[str] = None) -> None:
        super().__init__()
        self.handler = handler
        self.log_file = log_file or 'the log file'
        self.collapsed: List[Tuple[Pattern, str]] = [(re.compile(p), s) for p, s in COLLAPSED]
        self.dropped: List[Pattern] = [re.compile(p) for p in DROPPED]
        #: number of records hidden per summary (index into :data:`COLLAPSED`)
        self.counts: List[int] = [0] * len(COLLAPSED)

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            msg = record.getMessage()
        except Exception:  # a malformed record is not ours to judge
            return True
        if any(p.search(msg) for p in self.dropped):
            return False
        for i, (pattern, summary) in enumerate(self.collapsed):
            m = pattern.search(msg)
            if m is None:
                continue
            self.counts[i] += 1
            if self.counts[i] == 1:  # the series' first record: one summary line instead
                line = logging.makeLogRecord(record.__dict__)
                line.msg, line.args = summary.format(first=m.group('name'),
                                                     log=self.log_file), None
                self.handler.emit(line)
            return False
        return True


def _console_handlers(logger: logging.Logger) -> List[logging.Handler]:
    return [h for h in logger.handlers
            if isinstance(h, logging.StreamHandler) and not isinstance(h, logging.FileHandler)]


def quiet_console(logger: Optional[logging.Logger] = None) -> List[ConsoleFilter]:
    """Install the warnings filters and, given a run's logger, the console filter.

    Call it once before the config is read (warnings) and once with ``runner.logger`` after
    ``Runner.from_cfg`` (console), as ``tools/train.py`` / ``tools/test.py`` do.

    Args:
        logger (logging.Logger, optional): The runner's ``MMLogger``; its console
            ``StreamHandler`` gets a :class:`ConsoleFilter` (once), its file handler nothing.

    Returns:
        list[ConsoleFilter]: The filters attached now or before (empty without a logger).
    """
    install_warning_filters()
    if logger is None:
        return []
    log_file = next((h.baseFilename for h in logger.handlers
                     if isinstance(h, logging.FileHandler)), None)
    filters = []
    for handler in _console_handlers(logger):
        found = [f for f in handler.filters if isinstance(f, ConsoleFilter)]
        if not found:
            found = [ConsoleFilter(handler, log_file)]
            handler.addFilter(found[0])
        filters.extend(found)
    return filters
