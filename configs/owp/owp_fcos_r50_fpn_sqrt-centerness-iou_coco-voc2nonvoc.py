# FCOS-OWP Table 1, OWP row "sqrt(centerness * IOU)": both branches trained, proposals scored
# by the geometric mean of centerness and IoU (as OLN).
_base_ = './owp_fcos_r50_fpn_centerness_coco-voc2nonvoc.py'

model = dict(
    bbox_head=dict(objectness=('centerness', 'iou'), score_mode='sqrt(centerness*iou)'))
