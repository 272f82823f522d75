# FCOS-OWP Figure 6 (b), cell (finetune, thr 0.925, start 30k) -- "the highest AR100 performance is
# with fine-tuning and 0.925 masking occurring at 30k" (Appendix A): finetune recipe + Unknown
# Object Masking (§3.3) on the predicted IoU.
_base_ = '../_base_/families/owp-aware-finetune-unknown_coco-voc2nonvoc.py'

model = dict(bbox_head=dict(loss_cls=dict(thr=0.925, start_iter=30000)))
