# Toy counterpart of FCOS-OWP Table 1, OWP-Aware Classification row "joint + unknown": joint +
# Unknown Object Masking, thr 0.95, from 5k/90k of the schedule (iteration 83 of the toy's 1500).
_base_ = '../_base_/families/owp-aware-joint_owd-shapes.py'

model = dict(
    bbox_head=dict(
        loss_cls=dict(
            _delete_=True,
            type='UnknownObjectMaskedLoss',
            use_sigmoid=True,
            loss_cls=dict(
                type='FocalLoss', use_sigmoid=True, gamma=2.0, alpha=0.25, loss_weight=1.0),
            thr=0.95,
            start_iter=83,
            mode='pixel')))
