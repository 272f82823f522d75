# Toy counterpart of "IOU-ATSS-IS": FCOS-OWP Table 1 row "IOU-CS-IS" with the ATSS assigner
# (Zhang et al., CVPR 2020; k = 9) instead of Center Sampling. Virtual anchors 4S, the toy's /2
# rescale of 8S (see fcos-imprv-atss_toy_r18_owd-shapes.py).
_base_ = './owp_fcos_toy_iou-cs-is_owd-shapes.py'

model = dict(
    bbox_head=dict(center_sampling=False),
    train_cfg=dict(assigner=dict(type='PointATSSAssigner', topk=9, octave_base_scale=4)))
