# FCOS-OWP Figure 6, cell (finetune, thr 0.925, start 5k): finetune recipe + Unknown Object Masking
# (§3.3) with objectness threshold 0.925 from iteration 5000 on. Figure 6 (a)/(c): COCO base AP,
# (b)/(d): non-VOC AR100; the paper gives no table of these values.
_base_ = '../_base_/families/owp-aware-finetune-unknown_coco-voc2nonvoc.py'

model = dict(bbox_head=dict(loss_cls=dict(thr=0.925, start_iter=5000)))
