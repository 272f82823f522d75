# Toy counterpart of seed 001 (ATSS) Table 3, row "FCOS + ATSS" (k = 9). The virtual anchor is
# 2S instead of 8S: the toy images and objects (128 px, objects 12-56 px) are 4x smaller than
# COCO's, the same /4 rescale the toy model applies to FCOS's regress ranges; with 8S every toy
# object would be matched to P3 only.
_base_ = './fcos-imprv_toy_r18_owd-shapes.py'

model = dict(
    bbox_head=dict(center_sampling=False),
    train_cfg=dict(assigner=dict(type='PointATSSAssigner', topk=9, octave_base_scale=2)))
