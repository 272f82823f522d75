# FCOS-OWP Table 2, OWP Classification row "joint": the IOU-CS-IS head with the classifier trained,
# every branch at lr 0.01; cls * IoU scores.
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
        num_classes=1103),
    test_cfg=dict(max_per_img=300))
# cls * IoU keeps the classes: base AP is computed (class_agnostic=False)
val_evaluator = dict(class_agnostic=False)
test_evaluator = dict(class_agnostic=False)
