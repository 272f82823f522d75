# Toy counterpart of ATSS (Zhang et al., CVPR 2020) Table 3, row "FCOS + ATSS" (k = 9). The
# virtual anchor is 4S instead of 8S, the same /2 rescale the toy model applies to FCOS's
# regress ranges (configs/_base_/models/fcos_toy.py): anchors of 32 / 64 px on P3 / P4 for the
# toy's 12-56 px objects; with 8S (64 px on P3) nearly every toy object would fall on P3.
_base_ = '../_base_/families/fcos-imprv_owd-shapes.py'

model = dict(
    bbox_head=dict(center_sampling=False),
    train_cfg=dict(assigner=dict(type='PointATSSAssigner', topk=9, octave_base_scale=4)))
