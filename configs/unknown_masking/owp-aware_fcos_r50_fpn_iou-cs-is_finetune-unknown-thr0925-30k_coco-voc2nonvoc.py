# FCOS-OWP Figure 6 (b), cell (finetune, thr 0.925, start 30k) -- "the highest AR100 performance
# is with fine-tuning and 0.925 masking occurring at 30k" (Appendix A): finetune recipe + Unknown
# Object Masking (§3.3) on the predicted IoU. Base of the other finetune cells of the grid.
_base_ = '../owp_aware/owp-aware_fcos_r50_fpn_iou-cs-is_finetune_coco-voc2nonvoc.py'

model = dict(
    bbox_head=dict(
        loss_cls=dict(
            _delete_=True,
            type='UnknownObjectMaskedLoss',
            use_sigmoid=True,
            loss_cls=dict(
                type='FocalLoss', use_sigmoid=True, gamma=2.0, alpha=0.25, loss_weight=1.0),
            thr=0.925,
            start_iter=30000,
            mode='pixel')))
