"""Multi-process runs on machines without CUDA (CPU, gloo backend).

MMEngine 0.10.7's ``init_dist('pytorch')`` calls ``torch.cuda.set_device`` unconditionally
(an ``AttributeError`` on CPU-only torch builds) and wraps the model with
``DistributedDataParallel(device_ids=[LOCAL_RANK])``, which DDP refuses for a CPU module.
:func:`setup_cpu_distributed` initialises the gloo process group itself (MMEngine then sees
an initialised group and skips ``init_dist``) and sets ``model_wrapper_cfg.device_ids=None``.
On machines with CUDA it does nothing: MMEngine's own path (NCCL) is used.
"""
import os

import torch
import torch.distributed as torch_dist
from mmengine.config import Config


def setup_cpu_distributed(cfg: Config) -> bool:
    """Prepare ``cfg`` (and the process group) for a CPU multi-process run.

    Args:
        cfg (Config): The run's config, with ``cfg.launcher`` set; modified in place.

    Returns:
        bool: True when the CPU/gloo path was taken.
    """
    if cfg.get('launcher', 'none') != 'pytorch' or torch.cuda.is_available():
        return False
    for var in ('RANK', 'WORLD_SIZE', 'MASTER_ADDR', 'MASTER_PORT'):
        if var not in os.environ:
            raise RuntimeError(f'--launcher pytorch needs the environment variable {var} '
                               '(start the run with tools/dist_train.sh or torch.distributed.run)')
    env_cfg = cfg.setdefault('env_cfg', {})
    dist_cfg = env_cfg.setdefault('dist_cfg', {})
    backend = dist_cfg.get('backend', 'gloo')
    if backend == 'nccl':  # the mmdet default; NCCL needs GPUs
        backend = 'gloo'
    dist_cfg['backend'] = backend
    if not torch_dist.is_initialized():
        torch_dist.init_process_group(backend=backend)
    wrapper = cfg.get('model_wrapper_cfg') or dict(
        type='MMDistributedDataParallel', broadcast_buffers=False,
        find_unused_parameters=cfg.get('find_unused_parameters', False))
    wrapper['device_ids'] = None  # CPU module: DDP needs device_ids=None
    cfg.model_wrapper_cfg = wrapper
    return True
