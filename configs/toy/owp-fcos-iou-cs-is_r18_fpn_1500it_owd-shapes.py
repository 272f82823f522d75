# Toy counterpart of FCOS-OWP Table 1, OWP row "IOU-CS-IS": the IOU row + center sampling + IoU
# Sampling 0.3.
_base_ = '../_base_/families/owp-fcos_owd-shapes.py'

model = dict(
    bbox_head=dict(
        objectness=('iou', ), score_mode='iou', center_sampling=True, iou_sampling_thr=0.3))
