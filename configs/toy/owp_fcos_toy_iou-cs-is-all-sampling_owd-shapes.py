# Toy counterpart of FCOS-OWP Appendix B, "All Sampling" on top of IOU-CS-IS.
_base_ = './owp_fcos_toy_iou-cs-is_owd-shapes.py'

model = dict(bbox_head=dict(objectness_sampling='all'))
