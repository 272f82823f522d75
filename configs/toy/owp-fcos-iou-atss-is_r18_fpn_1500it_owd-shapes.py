# Toy counterpart of "IOU-ATSS-IS": FCOS-OWP Table 1 row "IOU-CS-IS" with the ATSS assigner
# (Zhang et al., CVPR 2020; k = 9) instead of Center Sampling. Virtual anchors 4S, the toy's /2
# rescale of 8S (see fcos-imprv-atss_r18_fpn_1500it_owd-shapes.py).
_base_ = '../_base_/families/owp-fcos_owd-shapes.py'

model = dict(
    bbox_head=dict(
        objectness=('iou', ), score_mode='iou', center_sampling=False, iou_sampling_thr=0.3),
    train_cfg=dict(assigner=dict(type='PointATSSAssigner', topk=9, octave_base_scale=4)))
