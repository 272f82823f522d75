from .compat import load_from_local_trusted, lvis_numpy_shim, register_trusted_local_loader

__all__ = ['load_from_local_trusted', 'lvis_numpy_shim', 'register_trusted_local_loader']
