from .outlier_paste import PACK_META_KEYS, OutlierPaste

__all__ = ['PACK_META_KEYS', 'OutlierPaste']
