# FCOS-OWP Table 2, row "Baseline logits * centerness", trained with mmdet's LVIS recipe instead of
# the paper's settings (a named variant, not the paper row): the stock FCOS R50-FPN LVIS baseline
# of ./fcos_r50-caffe_fpn_90k_lvis-base2novel.py with multi-scale training (shorter side 640-800)
# and ClassBalancedDataset (oversample_thr 1e-3), where FCOS-OWP §5.3 keeps the COCO settings;
# model, schedule, 300 detections per image and evaluation unchanged.
_base_ = [
    '../_base_/models/fcos_r50_fpn.py', '../_base_/datasets/lvis_v1_base2novel_mmdet-recipe.py',
    '../_base_/schedules/schedule_90k.py', '../_base_/default_runtime.py'
]

model = dict(bbox_head=dict(num_classes=1103), test_cfg=dict(max_per_img=300))
