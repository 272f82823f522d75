# Toy counterpart of FCOS-OWP Appendix B, "All Sampling": the IOU-CS-IS row with the IoU branch
# trained on every location.
_base_ = '../_base_/families/owp-fcos_owd-shapes.py'

model = dict(
    bbox_head=dict(
        objectness=('iou', ), score_mode='iou', center_sampling=True, iou_sampling_thr=0.3,
        objectness_sampling='all'))
