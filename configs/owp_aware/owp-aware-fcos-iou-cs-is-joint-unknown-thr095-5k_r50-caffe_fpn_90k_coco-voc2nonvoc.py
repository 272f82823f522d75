# FCOS-OWP Table 1, OWP-Aware Classification row "joint + unknown" = Figure 6 cell (joint, thr 0.95,
# 5k): joint recipe + Unknown Object Masking (§3.3): background locations with predicted IoU > 0.95
# are ignored by the focal loss from iteration 5k on.
_base_ = [
    '../_base_/models/owp_fcos_r50_fpn.py', '../_base_/datasets/coco_voc2nonvoc.py',
    '../_base_/schedules/schedule_90k.py', '../_base_/default_runtime.py'
]

# the IOU-CS-IS head (Table 1) with the classifier trained; proposals scored by cls * IoU
model = dict(
    bbox_head=dict(
        objectness=('iou', ),
        score_mode='cls*iou',
        center_sampling=True,
        iou_sampling_thr=0.3,
        train_cls=True,
        loss_cls=dict(
            _delete_=True,
            type='UnknownObjectMaskedLoss',
            use_sigmoid=True,
            loss_cls=dict(
                type='FocalLoss', use_sigmoid=True, gamma=2.0, alpha=0.25, loss_weight=1.0),
            thr=0.95,
            start_iter=5000,
            mode='pixel')))
# cls * IoU keeps the classes: base AP is computed (class_agnostic=False)
val_evaluator = dict(class_agnostic=False)
test_evaluator = dict(class_agnostic=False)
