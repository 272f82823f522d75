from .image_ap import batched_image_ap, image_ap
from .iou_sampling import distance_iou, iou_sampling
from .rba import RBA_SCORE_MODES, rba, rba_affine, rba_mode_scores, rba_rejection

__all__ = [
    'batched_image_ap', 'distance_iou', 'image_ap', 'iou_sampling', 'RBA_SCORE_MODES',
    'rba', 'rba_affine', 'rba_mode_scores', 'rba_rejection'
]
