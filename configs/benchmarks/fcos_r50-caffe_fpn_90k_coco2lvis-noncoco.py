# FCOS-OWP Table 1 baseline on the benchmark "COCO (80) -> LVIS non-COCO" (as GGN and GOOD report
# it): the Table 1 baseline (configs/baseline/fcos_r50-caffe_fpn_90k_coco-voc2nonvoc.py) with only
# the split and the evaluation data changed: trained on COCO train2017 with all 80 classes, novel
# AR@10/100 on the non-COCO categories of LVIS v1 val ('lvis_noncoco', by synset; see the OWP config
# next to this one for the data layout and the image overlap of LVIS val with COCO train2017).
# Evaluated class-agnostically: the model's labels are COCO's, not LVIS's, so no base AP.
_base_ = '../baseline/fcos_r50-caffe_fpn_90k_coco-voc2nonvoc.py'

known_classes = 'coco'
lvis_root = 'data/lvis_v1/'
lvis_val_ann = 'annotations/lvis_v1_val.json'
model = dict(bbox_head=dict(num_classes=80))  # the 80 seen COCO classes
train_dataloader = dict(dataset=dict(known_classes=known_classes))
val_dataloader = dict(
    dataset=dict(
        type='OpenWorldLVISV1Dataset',
        data_root=lvis_root,
        ann_file=lvis_val_ann,
        data_prefix=dict(img=''),
        known_classes='lvis_coco'))
test_dataloader = val_dataloader
val_evaluator = dict(
    ann_file=lvis_root + lvis_val_ann, known_classes='lvis_coco', class_agnostic=True)
test_evaluator = val_evaluator
