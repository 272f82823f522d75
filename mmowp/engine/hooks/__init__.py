from .atomic_checkpoint_hook import AtomicCheckpointHook
from .check_invalid_loss_term_hook import CheckInvalidLossTermHook, InvalidLossError
from .class_agnostic_hook import ClassAgnosticFromModelHook, model_is_class_agnostic

__all__ = ['AtomicCheckpointHook', 'CheckInvalidLossTermHook', 'ClassAgnosticFromModelHook',
           'InvalidLossError', 'model_is_class_agnostic']
