# Toy counterpart of FCOS-OWP Table 1, OWP row "IOU": the centerness branch replaced by the IoU
# branch, proposals scored by predicted IoU.
_base_ = '../_base_/families/owp-fcos_owd-shapes.py'

model = dict(bbox_head=dict(objectness=('iou', ), score_mode='iou'))
