# Toy counterpart of Rao et al. (CVPR 2018) Table 1, row "ours (gamma = 1)": the fine-tune of
# ./fcos-finetune_r18_fpn_211it_owd-shapes.py (same start, iterations and lr: their family
# configs/_base_/families/fcos-finetune_owd-shapes.py) with the policy-gradient loss in place of
# the focal loss. 100 candidates per image (a 128x128 image has 341 locations).
_base_ = '../_base_/families/fcos-finetune_owd-shapes.py'

model = dict(
    bbox_head=dict(
        type='PGFCOSHead',
        replace_loss_cls=True,
        loss_pg=dict(
            type='PolicyGradientLoss',
            num_samples=10,
            gamma=1.0,
            num_candidates=100,
            max_dets=100,
            nms_cfg=dict(type='nms', iou_threshold=0.5))))
