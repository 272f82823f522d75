from .loading import CheckedLoadImageFromFile, ImageDecodeError
from .outlier_paste import PACK_META_KEYS, OutlierPaste

__all__ = ['CheckedLoadImageFromFile', 'ImageDecodeError', 'PACK_META_KEYS', 'OutlierPaste']
