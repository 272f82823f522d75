from .policy_gradient_loss import PolicyGradientLoss, pg_surrogate_loss
from .rba_loss import RbALoss
from .unknown_object_masked_loss import UnknownObjectMaskedLoss

__all__ = ['PolicyGradientLoss', 'pg_surrogate_loss', 'RbALoss', 'UnknownObjectMaskedLoss']
