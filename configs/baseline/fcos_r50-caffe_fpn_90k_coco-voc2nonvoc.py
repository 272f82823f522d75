# FCOS-OWP Table 1, row "Baseline logits * centerness [35]": stock mmdet FCOS R50-FPN (GN head)
# trained jointly on the 20 VOC classes of COCO, scored by cls * centerness; evaluated with the
# open-world metric (non-VOC AR is N/A in the paper). Paper numbers: ./metafile.yml.
_base_ = [
    '../_base_/models/fcos_r50_fpn.py', '../_base_/datasets/coco_voc2nonvoc.py',
    '../_base_/schedules/schedule_90k.py', '../_base_/default_runtime.py'
]

model = dict(bbox_head=dict(num_classes=20))
