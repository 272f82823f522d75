# RbA (Nayal et al., ICCV 2023) Table 2, row "RbA" without OoD data (§3.3, Eq. 5), on the detector:
# the OWP-aware FCOS of FCOS-OWP Table 1 ("logits * IOU-CS-IS (joint)", COCO VOC -> non-VOC) scored
# by Rejected-by-All, no extra training. Class-agnostic proposals scored by iou * rej = IoU
# objectness x clamp(1 - sum_k tanh(max(L_k, 0)), 0, 1) ("an object, and no known class"),
# per-location unknown maps for the location-level metric. Evaluated by the open-world AR
# (OpenWorldCocoMetric) and the unknown-vs-known AUROC / AP / FPR95 of RbA §4.2
# (UnknownDetectionMetric: locations in non-VOC boxes vs locations in VOC boxes, and boxes matched
# to non-VOC vs VOC GT at IoU 0.5). Train the joint config first (or set load_from).
# Evaluation only: built from the model, data and runtime bases, without a schedule or an
# optimizer; the head is the joint row's
# (../owp_aware/owp-aware-fcos-iou-cs-is-joint_r50-caffe_fpn_90k_coco-voc2nonvoc.py).
_base_ = [
    '../_base_/models/owp_fcos_r50_fpn.py', '../_base_/datasets/coco_voc2nonvoc.py',
    '../_base_/default_runtime.py'
]

load_from = 'work_dirs/owp-aware-fcos-iou-cs-is-joint_r50-caffe_fpn_90k_coco-voc2nonvoc/iter_90000.pth'
model = dict(
    bbox_head=dict(
        type='RbAOWPFCOSHead',
        objectness=('iou', ),
        score_mode='iou*rej',
        center_sampling=True,
        iou_sampling_thr=0.3,
        train_cls=True),
    test_cfg=dict(score_thr=0.0, return_unknown_maps=True))
data_root = 'data/coco/'  # as the base; tools/test.py --cfg-options data_root=... moves it
val_ann = data_root + 'annotations/instances_val2017.json'
val_evaluator = [
    dict(type='OpenWorldCocoMetric', ann_file=val_ann, known_classes='voc',
         class_agnostic=True, proposal_nums=(10, 100)),
    dict(type='UnknownDetectionMetric', ann_file=val_ann, known_classes='voc'),
]
test_evaluator = val_evaluator
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
