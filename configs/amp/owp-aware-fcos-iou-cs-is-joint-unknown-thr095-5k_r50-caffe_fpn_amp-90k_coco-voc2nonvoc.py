# FCOS-OWP Table 1, OWP-Aware Classification row "joint + unknown", with automatic mixed precision:
# the paper config with only the optimizer wrapper swapped for MMEngine's AmpOptimWrapper (fp16
# autocast on CUDA, dynamic loss scaling; gradient clipping unscales first), as mmdet's *_amp-1x_*
# configs and `tools/train.py --amp` do. Needs a CUDA GPU (AmpOptimWrapper refuses a CPU-only
# machine).
_base_ = '../owp_aware/owp-aware-fcos-iou-cs-is-joint-unknown-thr095-5k_r50-caffe_fpn_90k_coco-voc2nonvoc.py'

optim_wrapper = dict(type='AmpOptimWrapper', loss_scale='dynamic')
