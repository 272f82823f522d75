# Toy counterpart of FCOS-OWP Table 1, OWP row "IOU".
_base_ = './owp_fcos_toy_centerness_owd-shapes.py'

model = dict(bbox_head=dict(objectness=('iou', ), score_mode='iou'))
