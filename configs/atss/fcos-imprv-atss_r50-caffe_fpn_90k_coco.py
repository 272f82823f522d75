# ATSS (Zhang et al., CVPR 2020) Table 3, row "FCOS + ATSS": the full version, Algorithm 1 with
# k = 9 on one virtual 8S square anchor per location (PointATSSAssigner); per-level regress
# ranges are not used; regression still goes from the point to the four sides.
_base_ = '../_base_/families/fcos-imprv_coco.py'

model = dict(
    train_cfg=dict(assigner=dict(type='PointATSSAssigner', topk=9, octave_base_scale=8)))
