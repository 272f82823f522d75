# FCOS-OWP Table 1, OWP-Aware Classification row "Finetune", with automatic mixed precision: the
# paper config with only the optimizer wrapper swapped for MMEngine's AmpOptimWrapper (fp16 autocast
# on CUDA, dynamic loss scaling; gradient clipping unscales first), as mmdet's *_amp-1x_* configs
# and `tools/train.py --amp` do. Needs a CUDA GPU (AmpOptimWrapper refuses a CPU-only machine).
_base_ = '../owp_aware/owp-aware-fcos-iou-cs-is-finetune_r50-caffe_fpn_90k_coco-voc2nonvoc.py'

# and the starting checkpoint: the AMP run of the OWP IOU-CS-IS row (./owp-fcos-iou-cs-is_r50-caffe_fpn_amp-90k_*)
load_from = 'work_dirs/owp-fcos-iou-cs-is_r50-caffe_fpn_amp-90k_coco-voc2nonvoc/iter_90000.pth'
optim_wrapper = dict(type='AmpOptimWrapper', loss_scale='dynamic')
