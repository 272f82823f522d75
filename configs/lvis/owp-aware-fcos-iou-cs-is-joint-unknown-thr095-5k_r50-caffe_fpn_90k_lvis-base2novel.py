# FCOS-OWP Table 2, OWP Classification row "joint+unknown": joint + Unknown Object Masking with the
# COCO setting of Table 1 (thr 0.95 from iteration 5k; the paper does not restate it for LVIS).
_base_ = [
    '../_base_/models/owp_fcos_r50_fpn.py', '../_base_/datasets/lvis_v1_base2novel.py',
    '../_base_/schedules/schedule_90k.py', '../_base_/default_runtime.py'
]

# the IOU-CS-IS head (Table 2) with the classifier trained; proposals scored by cls * IoU
model = dict(
    bbox_head=dict(
        objectness=('iou', ),
        score_mode='cls*iou',
        center_sampling=True,
        iou_sampling_thr=0.3,
        train_cls=True,
        num_classes=1103,
        loss_cls=dict(
            _delete_=True,
            type='UnknownObjectMaskedLoss',
            use_sigmoid=True,
            loss_cls=dict(
                type='FocalLoss', use_sigmoid=True, gamma=2.0, alpha=0.25, loss_weight=1.0),
            thr=0.95,
            start_iter=5000,
            mode='pixel')),
    test_cfg=dict(max_per_img=300))
# cls * IoU keeps the classes: base AP is computed (class_agnostic=False)
val_evaluator = dict(class_agnostic=False)
test_evaluator = dict(class_agnostic=False)
