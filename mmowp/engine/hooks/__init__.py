from .check_invalid_loss_term_hook import CheckInvalidLossTermHook, InvalidLossError

__all__ = ['CheckInvalidLossTermHook', 'InvalidLossError']
