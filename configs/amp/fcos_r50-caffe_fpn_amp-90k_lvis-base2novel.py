# FCOS-OWP Table 2, row "Baseline logits * centerness", with automatic mixed precision: the paper
# config with only the optimizer wrapper swapped for MMEngine's AmpOptimWrapper (fp16 autocast on
# CUDA, dynamic loss scaling; gradient clipping unscales first), as mmdet's *_amp-1x_* configs and
# `tools/train.py --amp` do. Needs a CUDA GPU (AmpOptimWrapper refuses a CPU-only machine).
_base_ = '../lvis/fcos_r50-caffe_fpn_90k_lvis-base2novel.py'

optim_wrapper = dict(type='AmpOptimWrapper', loss_scale='dynamic')
