# Family of the FCOS-OWP Table 4 rows (configs/lvis/, "areas <k>"): the joint OWP-aware
# IOU-CS-IS model on LVIS base -> novel (Table 2 "joint") + Unknown Area Masking (Appendix A):
# the predicted box (l, r, t, b) of each background location with IoU > 0.95 masks every
# location inside it (threshold and joint recipe assumed from Table 2 "joint+unknown"; the
# paper does not state them for Table 4). Not a paper row: each row sets its start iteration
# (loss_cls.start_iter).
_base_ = [
    '../models/owp_fcos_r50_fpn.py', '../datasets/lvis_v1_base2novel.py',
    '../schedules/schedule_90k.py', '../default_runtime.py'
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
            mode='area')),
    test_cfg=dict(max_per_img=300))
