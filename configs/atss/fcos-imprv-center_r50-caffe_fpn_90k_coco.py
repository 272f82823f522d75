# ATSS (Zhang et al., CVPR 2020) Table 3, row "FCOS + Center sampling": the "lite" ATSS, only
# locations within 1.5 strides of the GT centre are candidates; regress ranges kept.
_base_ = '../_base_/families/fcos-imprv_coco.py'

model = dict(bbox_head=dict(center_sampling=True, center_sample_radius=1.5))
