from .generate import GeneratorConfig, annotation_files, generate
from .open_world_coco import OpenWorldCocoDataset, OpenWorldLVISV1Dataset
from .splits import resolve_classes, split_names
from .transforms import OutlierPaste

__all__ = [
    'GeneratorConfig', 'annotation_files', 'generate', 'OpenWorldCocoDataset',
    'OpenWorldLVISV1Dataset', 'resolve_classes', 'split_names', 'OutlierPaste'
]
