# FCOS-OWP Table 1, OWP row "Conditional IOU-CS-IS": the IOU-CS-IS row with the conditional
# objectness head of Figure 2 (regression tower feature ++ regression prediction, 256+4 ch).
_base_ = './owp_fcos_r50_fpn_iou-cs-is_coco-voc2nonvoc.py'

model = dict(bbox_head=dict(conditional=True))
