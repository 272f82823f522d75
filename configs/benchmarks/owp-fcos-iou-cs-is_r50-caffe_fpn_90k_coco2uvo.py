# FCOS-OWP Table 1 row "IOU-CS-IS" on the benchmark "COCO -> UVO" (cross-dataset, as GGN, GOOD and
# UDOS report it): the row (configs/owp/owp-fcos-iou-cs-is_r50-caffe_fpn_90k_coco-voc2nonvoc.py) with only the
# split and the evaluation data changed. Trained on COCO train2017 with all 80 classes; evaluated on
# the UVO v1.0 FrameSet val frames (UVO_frame_val.json, COCO format, every object annotated without
# a class). Its categories carry no split, so no category of it is known (split 'none'): every GT
# object is novel and novel AR@10/100 is the class-agnostic AR on all UVO objects. The dataset that
# loads the frames keeps all the file's categories ('all'; UVO's "object"). Data: the json in
# data/uvo/annotations/ and the annotated frames, extracted from the Kinetics videos with UVO's kit,
# in data/uvo/uvo_videos_sparse_frames/ (change data_prefix otherwise).
_base_ = '../owp/owp-fcos-iou-cs-is_r50-caffe_fpn_90k_coco-voc2nonvoc.py'

known_classes = 'coco'
uvo_root = 'data/uvo/'
uvo_val_ann = 'annotations/UVO_frame_val.json'
model = dict(bbox_head=dict(num_classes=80))  # the 80 seen COCO classes
train_dataloader = dict(dataset=dict(known_classes=known_classes))
val_dataloader = dict(
    dataset=dict(
        data_root=uvo_root,
        ann_file=uvo_val_ann,
        data_prefix=dict(img='uvo_videos_sparse_frames/'),
        known_classes='all'))
test_dataloader = val_dataloader
val_evaluator = dict(ann_file=uvo_root + uvo_val_ann, known_classes='none')
test_evaluator = val_evaluator
