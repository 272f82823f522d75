from .atomic_checkpoint_hook import AtomicCheckpointHook
from .check_invalid_loss_term_hook import CheckInvalidLossTermHook, InvalidLossError

__all__ = ['AtomicCheckpointHook', 'CheckInvalidLossTermHook', 'InvalidLossError']
