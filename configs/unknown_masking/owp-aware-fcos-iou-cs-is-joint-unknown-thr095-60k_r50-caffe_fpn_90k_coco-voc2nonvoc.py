# FCOS-OWP Figure 6, cell (joint, thr 0.95, start 60k): joint recipe + Unknown Object Masking
# (§3.3) with objectness threshold 0.95 from iteration 60000 on. Figure 6 (a)/(c): COCO base AP,
# (b)/(d): non-VOC AR100; the paper gives no table of these values.
_base_ = '../_base_/families/owp-aware-joint-unknown_coco-voc2nonvoc.py'

model = dict(bbox_head=dict(loss_cls=dict(thr=0.95, start_iter=60000)))
