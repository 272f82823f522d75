from .assigner_mixin import AssignerMixin, ATSSFCOSHead
from .flat_batch import FlatBatch
from .objectness_prediction import ObjectnessPredictionMixin
from .objectness_sampling import ObjectnessSamplingMixin
from .owp_fcos_head import OWPFCOSHead
from .pg_fcos_head import PGFCOSHead, PGOWPFCOSHead, PolicyGradientMixin
from .rba_fcos_head import RbAMixin, RbAOWPFCOSHead

__all__ = [
    'AssignerMixin', 'ATSSFCOSHead', 'FlatBatch', 'ObjectnessPredictionMixin',
    'ObjectnessSamplingMixin', 'OWPFCOSHead', 'PGFCOSHead', 'PGOWPFCOSHead',
    'PolicyGradientMixin', 'RbAMixin', 'RbAOWPFCOSHead'
]
