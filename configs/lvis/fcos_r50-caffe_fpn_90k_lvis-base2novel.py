# FCOS-OWP Table 2, row "Baseline logits * centerness": stock FCOS R50-FPN trained on the LVIS v1
# base classes (rare + common + first 305 frequent = 1103), 300 detections per image (§5.3);
# otherwise the COCO settings.
_base_ = [
    '../_base_/models/fcos_r50_fpn.py', '../_base_/datasets/lvis_v1_base2novel.py',
    '../_base_/schedules/schedule_90k.py', '../_base_/default_runtime.py'
]

model = dict(bbox_head=dict(num_classes=1103), test_cfg=dict(max_per_img=300))
