# Toy counterpart of FCOS-OWP Table 1, OWP row "Conditional IOU-CS-IS" (Figure 2; 64+4 channels
# into the objectness conv with the toy head's feat_channels=64).
_base_ = './owp_fcos_toy_iou-cs-is_owd-shapes.py'

model = dict(bbox_head=dict(conditional=True))
