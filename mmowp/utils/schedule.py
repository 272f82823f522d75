"""Rescale an iteration-based training schedule (the toy tools shorten the paper schedules)."""
from mmengine.config import Config

#: A scheduler ``begin`` / ``end`` at or above this means "until training ends" (mmengine's
#: default ``end`` is ``INF``); such values are left as they are.
UNBOUNDED = 1e8


def _scaled(value: float, factor: float, low: int, high: int) -> int:
    return min(high, max(low, int(round(value * factor))))


def scale_schedule(cfg: Config, iters: int) -> Config:
    """Shrink or stretch an iteration-based schedule to ``iters`` iterations, in place.

    Every iteration count that is a point of the schedule scales by ``iters / max_iters``:
    ``train_cfg.max_iters`` (set to ``iters``) and ``train_cfg.val_interval``; ``begin``,
    ``end``, ``T_max`` and ``milestones`` of every ``param_scheduler`` (warm-up, lr steps);
    the ``start_iter`` of an ``UnknownObjectMaskedLoss`` classification loss. Ends and
    intervals stay within ``[1, iters]``, beginnings within ``[0, iters]``, milestones at
    least 1; a ``begin`` / ``end`` >= :data:`UNBOUNDED` is kept.

    Args:
        cfg (Config): A config whose ``train_cfg`` has ``max_iters``.
        iters (int): The new number of training iterations, >= 1.

    Returns:
        Config: ``cfg``, modified.
    """
    if not isinstance(iters, int) or iters < 1:
        raise ValueError(f'scale_schedule: iters must be an int >= 1, got {iters!r}')
    train_cfg = cfg.get('train_cfg') or {}
    if not train_cfg.get('max_iters'):
        raise ValueError('scale_schedule: the config has no train_cfg.max_iters (only '
                         'iteration-based schedules can be rescaled)')
    factor = iters / train_cfg['max_iters']
    train_cfg['max_iters'] = iters
    if train_cfg.get('val_interval'):
        train_cfg['val_interval'] = _scaled(train_cfg['val_interval'], factor, 1, iters)
    schedulers = cfg.get('param_scheduler') or []
    for sched in [schedulers] if isinstance(schedulers, dict) else schedulers:
        for key in ('begin', 'end', 'T_max'):
            if sched.get(key) is not None and sched[key] < UNBOUNDED:
                sched[key] = _scaled(sched[key], factor, 0 if key == 'begin' else 1, iters)
        if 'milestones' in sched:
            sched['milestones'] = [max(1, int(round(m * factor))) for m in sched['milestones']]
    loss_cls = cfg.get('model', {}).get('bbox_head', {}).get('loss_cls') or {}
    if loss_cls.get('type') == 'UnknownObjectMaskedLoss':
        loss_cls['start_iter'] = int(round(loss_cls['start_iter'] * factor))
    return cfg
