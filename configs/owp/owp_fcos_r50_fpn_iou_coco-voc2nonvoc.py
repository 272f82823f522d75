# FCOS-OWP Table 1, OWP row "IOU": the centerness branch replaced by the IoU branch (Eq. 2),
# proposals scored by predicted IoU.
_base_ = './owp_fcos_r50_fpn_centerness_coco-voc2nonvoc.py'

model = dict(bbox_head=dict(objectness=('iou', ), score_mode='iou'))
