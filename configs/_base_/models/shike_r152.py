# SHIKE, ResNet-152 (Places-LT): the ResNet-50 model made deeper; stem and
# stages 1-3 shared, stage 4 per expert. Default: Places-LT, 365 classes.
# Inherits the light DKF alignment (fusion_align='pool_conv1x1', see
# shike_r50.py for the reasoning).
_base_ = ['./shike_r50.py']

model = dict(backbone=dict(depth=152), head=dict(num_classes=365))
