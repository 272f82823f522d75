# Toy counterpart of RbA (Nayal et al., ICCV 2023) Table 2, row "RbA" without OoD data (§3.3, Eq.
# 5): the toy OWP-aware model (FCOS-OWP "logits * IOU-CS-IS (joint)") scored by Rejected-by-All, no
# extra training. Proposals are class-agnostic, scored by iou * rej = IoU objectness x clamp(1 -
# sum_k tanh(max(L_k, 0)), 0, 1) ("an object, and no known class"); the head also stores the
# per-location unknown maps for the location-level metric. Train
# owp-aware-fcos-iou-cs-is-joint_r18_fpn_1500it_owd-shapes.py first (or set load_from). It
# evaluates that checkpoint; its schedule field (1500it) is the joint model's, whose recipe it
# keeps from the family (configs/_base_/families/owp-aware-joint_owd-shapes.py).
_base_ = '../_base_/families/owp-aware-joint_owd-shapes.py'

load_from = 'work_dirs/owp-aware-fcos-iou-cs-is-joint_r18_fpn_1500it_owd-shapes/iter_1500.pth'
model = dict(
    bbox_head=dict(type='RbAOWPFCOSHead', score_mode='iou*rej'),
    test_cfg=dict(score_thr=0.0, return_unknown_maps=True))
data_root = 'data/owd_shapes/'  # as the base; tools/train.py --data-root moves the ann_files
val_ann = data_root + 'annotations/instances_val.json'
# Unknown = all 5 novel shapes; "heldout" = the 2 novel shapes that the RbA fine-tuning
# (rba-finetune-*) never pastes (its pool is hexagon, diamond, ellipse).
val_evaluator = [
    dict(type='OpenWorldCocoMetric', ann_file=val_ann, known_classes='owd_base',
         class_agnostic=True, proposal_nums=(10, 100)),
    dict(type='UnknownDetectionMetric', ann_file=val_ann, known_classes='owd_base'),
    dict(type='UnknownDetectionMetric', ann_file=val_ann, known_classes='owd_base',
         novel_classes=['arrow', 'lshape'], prefix='unknown_heldout'),
]
test_evaluator = val_evaluator
