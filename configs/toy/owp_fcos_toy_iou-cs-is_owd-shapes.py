# Toy counterpart of FCOS-OWP Table 1, OWP row "IOU-CS-IS" (center sampling + IoU Sampling 0.3).
_base_ = './owp_fcos_toy_iou_owd-shapes.py'

model = dict(bbox_head=dict(center_sampling=True, iou_sampling_thr=0.3))
