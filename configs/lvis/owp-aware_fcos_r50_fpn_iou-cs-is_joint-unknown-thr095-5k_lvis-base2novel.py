# FCOS-OWP Table 2, OWP Classification row "joint+unknown": joint + Unknown Object Masking with the
# COCO setting of Table 1 (thr 0.95 from iteration 5k; the paper does not restate it for LVIS).
_base_ = './owp-aware_fcos_r50_fpn_iou-cs-is_joint_lvis-base2novel.py'

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
