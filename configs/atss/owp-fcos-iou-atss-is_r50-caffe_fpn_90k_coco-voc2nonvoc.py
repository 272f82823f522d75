# FCOS-OWP Table 1 row "IOU-CS-IS" with the assigner of ATSS (Zhang et al., CVPR 2020) instead of
# Center Sampling ("IOU-ATSS-IS", not a row of either paper; issue 6): the IoU objectness branch
# trained on the positives of PointATSSAssigner (k = 9, virtual 8S anchors; regress ranges unused),
# IoU Sampling 0.3 kept (it post-processes the IoU targets of whatever positives the assigner
# chose).
_base_ = '../owp/owp-fcos-iou-cs-is_r50-caffe_fpn_90k_coco-voc2nonvoc.py'

model = dict(
    bbox_head=dict(center_sampling=False),
    train_cfg=dict(assigner=dict(type='PointATSSAssigner', topk=9, octave_base_scale=8)))
