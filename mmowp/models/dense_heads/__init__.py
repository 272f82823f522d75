from .assigner_mixin import AssignerMixin, ATSSFCOSHead
from .owp_fcos_head import OWPFCOSHead
from .pg_fcos_head import PGFCOSHead, PGOWPFCOSHead, PolicyGradientMixin

__all__ = [
    'AssignerMixin', 'ATSSFCOSHead', 'OWPFCOSHead', 'PGFCOSHead', 'PGOWPFCOSHead',
    'PolicyGradientMixin'
]
