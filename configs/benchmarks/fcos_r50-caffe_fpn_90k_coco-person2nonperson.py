# FCOS-OWP Table 1 baseline on the benchmark "COCO person -> non-person" (cross-category, as GGN and
# GOOD report it): the Table 1 baseline (configs/baseline/fcos_r50-caffe_fpn_90k_coco-voc2nonvoc.py,
# stock FCOS scored by cls * centerness) with only the split changed: trained on the COCO class
# "person", novel AR@10/100 on the 79 non-person classes of COCO val2017.
_base_ = '../baseline/fcos_r50-caffe_fpn_90k_coco-voc2nonvoc.py'

known_classes = 'person'
model = dict(bbox_head=dict(num_classes=1))  # one seen class
train_dataloader = dict(dataset=dict(known_classes=known_classes))
val_dataloader = dict(dataset=dict(known_classes=known_classes))
test_dataloader = val_dataloader
val_evaluator = dict(known_classes=known_classes)
test_evaluator = val_evaluator
