# Toy counterpart of FCOS-OWP Table 1, OWP row "sqrt(centerness * IOU)".
_base_ = '../_base_/families/owp-fcos_owd-shapes.py'

model = dict(
    bbox_head=dict(objectness=('centerness', 'iou'), score_mode='sqrt(centerness*iou)'))
