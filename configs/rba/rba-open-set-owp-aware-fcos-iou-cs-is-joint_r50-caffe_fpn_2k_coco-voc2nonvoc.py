# RbA (Nayal et al., ICCV 2023) §3.3 used as an open-set detector: known and unknown detections in
# one pass. The RbA-fine-tuned OWP-aware FCOS keeps its 20 VOC classes (cls * IoU) and adds label
# 20, "unknown", scored by iou * rej where that score is >= 0.5. mmdet's CocoMetric and
# OpenWorldCocoMetric do not know label 20, so the evaluator is UnknownDetectionMetric on the
# "unknown" boxes (box level: non-VOC vs VOC matches at IoU 0.5).
# Evaluation only: the evaluation config ./rba-score-* with the fine-tuned checkpoint and the
# open-set scores; it inherits no training settings.
_base_ = './rba-score-owp-aware-fcos-iou-cs-is-joint_r50-caffe_fpn_90k_coco-voc2nonvoc.py'

load_from = 'work_dirs/rba-finetune-owp-aware-fcos-iou-cs-is-joint_r50-caffe_fpn_2k_coco-voc2nonvoc/iter_2000.pth'
model = dict(
    bbox_head=dict(type='RbAOWPFCOSHead', score_mode='cls*iou', unknown_score_mode='iou*rej',
                   unknown_score_thr=0.5),
    test_cfg=dict(score_thr=0.05, return_unknown_maps=False))
val_evaluator = dict(
    _delete_=True, type='UnknownDetectionMetric',
    ann_file='data/coco/annotations/instances_val2017.json', known_classes='voc',
    levels=('box', ), box_label='unknown')
test_evaluator = val_evaluator
