# FCOS-OWP Table 1, OWP row "IOU-CS-IS": the IOU row + Center Sampling (radius 1.5) + IoU
# Sampling (IoU targets < 0.3 become 0, §3.2, Figure 3).
_base_ = './owp_fcos_r50_fpn_iou_coco-voc2nonvoc.py'

model = dict(bbox_head=dict(center_sampling=True, iou_sampling_thr=0.3))
