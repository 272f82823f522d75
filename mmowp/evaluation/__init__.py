from .fast_coco_eval import Detections, EvalResult, GroundTruth, evaluate_boxes
from .open_world_metric import OpenWorldCocoMetric
from .unknown_detection_metric import UnknownDetectionMetric

__all__ = ['Detections', 'EvalResult', 'GroundTruth', 'evaluate_boxes', 'OpenWorldCocoMetric',
           'UnknownDetectionMetric']
