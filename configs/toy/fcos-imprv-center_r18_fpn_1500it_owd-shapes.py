# Toy counterpart of ATSS (Zhang et al., CVPR 2020) Table 3, row "FCOS + Center sampling"
# (radius 1.5).
_base_ = '../_base_/families/fcos-imprv_owd-shapes.py'

model = dict(bbox_head=dict(center_sampling=True, center_sample_radius=1.5))
