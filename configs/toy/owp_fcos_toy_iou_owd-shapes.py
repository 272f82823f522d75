# Toy counterpart of seed 000 Table 1, OWP row "IOU".
_base_ = './owp_fcos_toy_centerness_owd-shapes.py'

model = dict(bbox_head=dict(objectness=('iou', ), score_mode='iou'))
