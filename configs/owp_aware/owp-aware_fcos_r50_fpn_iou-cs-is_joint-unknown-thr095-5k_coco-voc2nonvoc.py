# FCOS-OWP Table 1, OWP-Aware Classification row "joint + unknown" = Figure 6 cell (joint, thr 0.95,
# 5k): joint recipe + Unknown Object Masking (§3.3): background locations with predicted IoU > 0.95
# are ignored by the focal loss from iteration 5k on.
_base_ = './owp-aware_fcos_r50_fpn_iou-cs-is_joint_coco-voc2nonvoc.py'

model = dict(
    bbox_head=dict(
        loss_cls=dict(
            _delete_=True,
            type='UnknownObjectMaskedLoss',
            use_sigmoid=True,
            loss_cls=dict(
                type='FocalLoss', use_sigmoid=True, gamma=2.0, alpha=0.25, loss_weight=1.0),
            thr=0.95,
            start_iter=5000,
            mode='pixel')))
