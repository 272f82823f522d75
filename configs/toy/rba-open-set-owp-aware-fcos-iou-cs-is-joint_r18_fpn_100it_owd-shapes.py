# Toy counterpart of configs/rba/rba-open-set-*: known and unknown detections in one pass from
# the RbA-fine-tuned toy model (./rba-finetune-owp-aware-fcos-iou-cs-is-joint_r18_fpn_100it_owd-shapes.py):
# the 5 base shapes (cls * IoU) plus label 5, "unknown", scored by iou * rej where >= 0.5.
# Evaluated on the "unknown" boxes (novel vs base matches at IoU 0.5); mmdet's CocoMetric /
# OpenWorldCocoMetric do not know label 5. It evaluates the fine-tuned checkpoint; its schedule
# field (100it) is the fine-tuning's, whose recipe it keeps from the family
# (configs/_base_/families/rba-finetune_owd-shapes.py).
_base_ = '../_base_/families/rba-finetune_owd-shapes.py'

load_from = 'work_dirs/rba-finetune-owp-aware-fcos-iou-cs-is-joint_r18_fpn_100it_owd-shapes/iter_100.pth'
model = dict(
    bbox_head=dict(type='RbAOWPFCOSHead', score_mode='cls*iou', unknown_score_mode='iou*rej',
                   unknown_score_thr=0.5),
    test_cfg=dict(score_thr=0.01, return_unknown_maps=False))
val_evaluator = dict(
    _delete_=True, type='UnknownDetectionMetric',
    ann_file='data/owd_shapes/annotations/instances_val.json', known_classes='owd_base',
    levels=('box', ), box_label='unknown')
test_evaluator = val_evaluator
