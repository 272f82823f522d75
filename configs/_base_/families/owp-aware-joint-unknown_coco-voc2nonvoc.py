# Family of the FCOS-OWP Figure 6 cells of the joint recipe (configs/unknown_masking/): the
# joint OWP-aware IOU-CS-IS model (§4) + Unknown Object Masking (§3.3, pixel mode) on the
# predicted IoU. Not a paper row: each cell sets the swept threshold (loss_cls.thr) and start
# iteration (loss_cls.start_iter). The Table 1 row "joint + unknown" (= cell 0.95 / 5k) is
# configs/owp_aware/owp-aware-fcos-iou-cs-is-joint-unknown-thr095-5k_r50-caffe_fpn_90k_coco-voc2nonvoc.py.
_base_ = [
    '../models/owp_fcos_r50_fpn.py', '../datasets/coco_voc2nonvoc.py',
    '../schedules/schedule_90k.py', '../default_runtime.py'
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
            mode='pixel')))
