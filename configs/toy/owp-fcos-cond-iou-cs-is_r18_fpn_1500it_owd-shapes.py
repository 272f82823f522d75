# Toy counterpart of FCOS-OWP Table 1, OWP row "Conditional IOU-CS-IS": the IOU-CS-IS row with the
# conditional objectness head of Figure 2 (64+4 channels into the objectness conv with the toy
# head's feat_channels=64).
_base_ = '../_base_/families/owp-fcos_owd-shapes.py'

model = dict(
    bbox_head=dict(
        objectness=('iou', ), score_mode='iou', center_sampling=True, iou_sampling_thr=0.3,
        conditional=True))
