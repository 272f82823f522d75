# FCOS-OWP Table 1 baseline on the benchmark "COCO -> UVO" (cross-dataset, as GGN, GOOD and UDOS
# report it): the Table 1 baseline (configs/baseline/fcos_r50-caffe_fpn_90k_coco-voc2nonvoc.py) with
# only the split and the evaluation data changed: trained on COCO train2017 with all 80 classes,
# class-agnostic AR@10/100 on every object of the UVO v1.0 FrameSet val frames (split 'none':
# nothing in the class-agnostic UVO json is known; see the OWP config next to this one for the data
# layout).
_base_ = '../baseline/fcos_r50-caffe_fpn_90k_coco-voc2nonvoc.py'

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
val_evaluator = dict(ann_file=uvo_root + uvo_val_ann, known_classes='none', class_agnostic=True)
test_evaluator = val_evaluator
