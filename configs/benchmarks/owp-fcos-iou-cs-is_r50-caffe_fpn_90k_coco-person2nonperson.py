# FCOS-OWP Table 1 row "IOU-CS-IS" on the benchmark "COCO person -> non-person" (cross-category, as
# GGN and GOOD report it): the row (configs/owp/owp-fcos-iou-cs-is_r50-caffe_fpn_90k_coco-voc2nonvoc.py) with
# only the split changed. Trained on COCO train2017 with the annotations of the one class "person"
# (images keep their unannotated objects of the other 79 classes); novel AR@10/100 on the 79
# non-person classes of COCO val2017, class-agnostic proposals (base AP N/A).
_base_ = '../owp/owp-fcos-iou-cs-is_r50-caffe_fpn_90k_coco-voc2nonvoc.py'

known_classes = 'person'
# one seen class (the classifier is not trained in the OWP recipe; the label count follows the
# split)
model = dict(bbox_head=dict(num_classes=1))
train_dataloader = dict(dataset=dict(known_classes=known_classes))
val_dataloader = dict(dataset=dict(known_classes=known_classes))
test_dataloader = val_dataloader
val_evaluator = dict(known_classes=known_classes)
test_evaluator = val_evaluator
