# ATSS (Zhang et al., CVPR 2020) Table 3, row "FCOS + ATSS": the full version, Algorithm 1 with
# k = 9 on one virtual 8S square anchor per location (PointATSSAssigner); per-level regress
# ranges are not used; regression still goes from the point to the four sides.
_base_ = './fcos-imprv_r50-caffe_fpn_gn-head_90k_coco.py'

model = dict(
    bbox_head=dict(center_sampling=False),
    train_cfg=dict(assigner=dict(type='PointATSSAssigner', topk=9, octave_base_scale=8)))
