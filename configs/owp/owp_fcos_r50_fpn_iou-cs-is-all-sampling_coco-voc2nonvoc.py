# FCOS-OWP Appendix B, "All Sampling": the IOU-CS-IS row with
# the IoU branch trained on every location (inside a GT box: target against its box; else 0).
# Regression keeps center sampling.
_base_ = './owp_fcos_r50_fpn_iou-cs-is_coco-voc2nonvoc.py'

model = dict(bbox_head=dict(objectness_sampling='all'))
