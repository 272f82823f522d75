# FCOS-OWP Table 1 row "IOU-CS-IS" on the benchmark "COCO (80) -> LVIS non-COCO" (as GGN and GOOD
# report it): the row (configs/owp/owp-fcos-iou-cs-is_r50-caffe_fpn_90k_coco-voc2nonvoc.py) with only the
# split and the evaluation data changed. Trained on COCO train2017 with all 80 classes; evaluated on
# LVIS v1 val: novel = the LVIS categories that are not COCO categories (split 'lvis_noncoco'),
# matched by WordNet synset with the LVIS API's official coco_to_synset.json (shipped in
# mmowp/datasets/data/); the LVIS categories that are COCO categories ('lvis_coco') are the known
# split. Class-agnostic proposals, AR@10/100 as the Table 1 row. Data: LVIS v1 val json in
# data/lvis_v1/annotations/ and the COCO 2017 images under data/lvis_v1/{train2017,val2017}/
# (mmdet's LVIS layout: the images are COCO's). Note: LVIS v1 val also contains COCO train2017
# images (coco_url in train2017/), seen in training with only their 80-class objects annotated
# (their non-COCO objects were background there).
_base_ = '../owp/owp-fcos-iou-cs-is_r50-caffe_fpn_90k_coco-voc2nonvoc.py'

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
val_evaluator = dict(ann_file=lvis_root + lvis_val_ann, known_classes='lvis_coco')
test_evaluator = val_evaluator
