from .compat import load_from_local_mmengine, lvis_numpy_shim, register_mmengine_local_loader

__all__ = ['load_from_local_mmengine', 'lvis_numpy_shim', 'register_mmengine_local_loader']
