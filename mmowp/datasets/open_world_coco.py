"""COCO / LVIS datasets restricted to the known (base) classes of an open-world split.

FCOS-OWP §5: the detector is trained on the seen (base) classes only; the images keep
their unseen (novel) objects, which are simply not annotated. mmdet's ``CocoDataset``
already drops every annotation whose category is not in ``metainfo['classes']``
(``parse_data_info``), so these datasets only turn ``known_classes`` (a split name such as
``'voc'`` or a list of names) into those classes, resolved against the categories of the
annotation file itself, in category-id order (the label order mmdet uses).
"""
import copy
import json
import os.path as osp
from typing import List, Optional

from mmdet.datasets import CocoDataset, LVISV1Dataset
from mmdet.datasets.api_wrappers import COCO
from mmdet.registry import DATASETS
from mmengine.fileio import get_local_path

from ..utils import lvis_numpy_shim
from ..utils.optional import import_optional
from .splits import ClassSpec, resolve_classes
from .validate import validate_coco_dict


class _KnownClassesMixin:
    """Resolve ``known_classes`` against the json categories and set the metainfo."""

    known_classes: Optional[ClassSpec]

    def _set_known_classes(self, categories: List[dict]) -> None:
        if self.known_classes is None:
            return
        names = resolve_classes(self.known_classes, categories, source=str(self.ann_file))
        given = self._metainfo.get('classes')
        if self._classes_from_user and given is not None and set(given) != set(names):
            raise ValueError(
                f'metainfo classes {list(given)} disagree with known_classes='
                f'{self.known_classes!r} ({list(names)}); give only one of them')
        self._metainfo['classes'] = names


@DATASETS.register_module()
class OpenWorldCocoDataset(_KnownClassesMixin, CocoDataset):
    """COCO-format dataset that keeps the annotations of the known classes only.

    Args:
        known_classes (str | Sequence[str], optional): Split name (``'voc'``,
            ``'owd_base'``, ... see :mod:`mmowp.datasets.splits`) or category names of the
            training (base) classes. Annotations of other categories are dropped; the
            images stay (with ``filter_cfg=dict(filter_empty_gt=True)`` images with no known
            object are skipped in training, as mmdet does). None behaves as ``CocoDataset``.
        validate (bool): Check the annotation file first
            (:func:`~mmowp.datasets.validate.validate_coco_dict`): malformed records raise a
            ``ValueError`` naming the file, record id and key; records mmdet skips
            (zero/negative-size boxes, boxes outside the image) are counted in a warning.
            Local image files that are missing or empty raise ``FileNotFoundError`` naming
            them when the dataset is built, not hours into training (corrupt non-empty
            files fail in ``LoadImageFromFile`` with their path). Defaults to True.
        **kwargs: As :class:`mmdet.datasets.CocoDataset`.
    """

    def __init__(self, *args, known_classes: Optional[ClassSpec] = None, validate: bool = True,
                 **kwargs) -> None:
        self.known_classes = known_classes
        self.validate = validate
        self._classes_from_user = bool((kwargs.get('metainfo') or {}).get('classes'))
        super().__init__(*args, **kwargs)

    def COCOAPI(self, ann_file: str) -> COCO:  # noqa: N802  (CocoDataset.COCOAPI hook)
        """Load (and validate) the annotation file and resolve ``known_classes`` from its
        categories."""
        if not self.validate:
            coco = COCO(ann_file)
        else:
            with open(ann_file) as f:
                try:
                    data = json.load(f)
                except json.JSONDecodeError as e:
                    raise ValueError(f'{self.ann_file}: not a valid json file ({e})') from e
            validate_coco_dict(data, source=str(self.ann_file))
            coco = COCO()
            coco.dataset = data
            coco.createIndex()
            coco.img_ann_map, coco.cat_img_map = coco.imgToAnns, coco.catToImgs
        self._set_known_classes(coco.dataset.get('categories', []))
        return coco

    def load_data_list(self) -> List[dict]:
        """``CocoDataset.load_data_list``, then (``validate``) check the image files."""
        data_list = super().load_data_list()
        if self.validate and self.backend_args is None:
            bad = [(info['img_id'], info['img_path']) for info in data_list
                   if '://' not in info['img_path'] and not (
                       osp.isfile(info['img_path']) and osp.getsize(info['img_path']) > 0)]
            if bad:
                shown = ', '.join(f'{path} (image id {i})' for i, path in bad[:5])
                raise FileNotFoundError(
                    f'{self.ann_file}: {len(bad)} of {len(data_list)} image files are missing '
                    f'or empty: {shown}{" ..." if len(bad) > 5 else ""}')
        return data_list


@DATASETS.register_module()
class OpenWorldLVISV1Dataset(_KnownClassesMixin, LVISV1Dataset):
    """LVIS v1 dataset that keeps the annotations of the known classes only.

    ``LVISV1Dataset`` labels all 1203 categories; here labels index the known classes
    (e.g. ``known_classes='lvis_base'``: all rare + common + first 305 frequent) and the
    other annotations are dropped.

    Args:
        known_classes (str | Sequence[str], optional): As in :class:`OpenWorldCocoDataset`.
        **kwargs: As :class:`mmdet.datasets.LVISV1Dataset`.
    """

    def __init__(self, *args, known_classes: Optional[ClassSpec] = None, **kwargs) -> None:
        self.known_classes = known_classes
        self._classes_from_user = bool((kwargs.get('metainfo') or {}).get('classes'))
        super().__init__(*args, **kwargs)

    def load_data_list(self) -> List[dict]:
        """Load as ``LVISV1Dataset`` does, then keep and relabel the known classes."""
        if self.known_classes is None:
            return super().load_data_list()
        LVIS = import_optional('lvis', 'OpenWorldLVISV1Dataset').LVIS
        with get_local_path(self.ann_file, backend_args=self.backend_args) as local_path:
            with lvis_numpy_shim():
                categories = copy.deepcopy(LVIS(local_path).dataset['categories'])
        self._set_known_classes(categories)
        data_list = super().load_data_list()  # labels over all categories (self.cat_ids)
        all_ids = list(self.cat_ids)
        by_name = {c['name']: c['id'] for c in categories}
        known_ids = sorted(by_name[n] for n in self._metainfo['classes'])
        new_label = {all_ids.index(cid): i for i, cid in enumerate(known_ids)}
        for info in data_list:
            info['instances'] = [dict(inst, bbox_label=new_label[inst['bbox_label']])
                                 for inst in info['instances']
                                 if inst['bbox_label'] in new_label]
        self.cat_ids = known_ids
        self.cat2label = {cid: i for i, cid in enumerate(known_ids)}
        return data_list
