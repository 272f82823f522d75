from .image_ap import batched_image_ap, image_ap
from .iou_sampling import distance_iou, iou_sampling
from .rba import rba, rba_affine, rba_rejection, rba_votes
from .scoring import RBA_SCORE_MODES, ScoreMode, all_score_modes

__all__ = [
    'all_score_modes', 'batched_image_ap', 'distance_iou', 'image_ap', 'iou_sampling',
    'RBA_SCORE_MODES', 'rba', 'rba_affine', 'rba_rejection', 'rba_votes', 'ScoreMode'
]
