from .freeze_optim_wrapper_constructor import FreezeOptimWrapperConstructor

__all__ = ['FreezeOptimWrapperConstructor']
