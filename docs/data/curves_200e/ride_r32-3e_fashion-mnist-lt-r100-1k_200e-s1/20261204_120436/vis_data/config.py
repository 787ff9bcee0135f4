auto_scale_lr = dict(base_batch_size=128)
custom_hooks = [
    dict(compile=dict(dynamic=False), type='CompileHook'),
]
custom_imports = dict(
    allow_failed_imports=False, imports=[
        'shike_mm',
    ])
data_preprocessor = dict(
    mean=[
        72.94,
        72.94,
        72.94,
    ],
    num_classes=10,
    std=[
        90.021,
        90.021,
        90.021,
    ],
    to_rgb=False)
data_root = '/usr/share/datasets/fashion-mnist'
dataset_type = 'FashionMNISTIDX'
default_hooks = dict(
    checkpoint=dict(
        _scope_='mmpretrain',
        interval=1,
        max_keep_ckpts=1,
        rule='greater',
        save_best='accuracy/top1',
        type='AtomicCheckpointHook'),
    class_counts=dict(type='ClassCountsHook'),
    epoch_aware=dict(type='EpochAwareHook'),
    epoch_seed=dict(type='EpochSeedHook'),
    finite_loss=dict(type='FiniteLossHook'),
    logger=dict(_scope_='mmpretrain', interval=10, type='LoggerHook'),
    loss_reduction_check=dict(type='LossReductionCheckHook'),
    num_classes_check=dict(type='NumClassesCheckHook'),
    param_scheduler=dict(_scope_='mmpretrain', type='ParamSchedulerHook'),
    phase_time=dict(type='PhaseTimeHook'),
    sampler_seed=dict(_scope_='mmpretrain', type='DistSamplerSeedHook'),
    sync_buffers=dict(type='SyncBuffersHook'),
    timer=dict(_scope_='mmpretrain', type='IterTimerHook'),
    visualization=dict(
        _scope_='mmpretrain', enable=False, type='VisualizationHook'))
default_scope = 'mmpretrain'
env_cfg = dict(
    cudnn_benchmark=False,
    dist_cfg=dict(backend='gloo'),
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0))
launcher = 'none'
load_from = None
log_level = 'INFO'
max_epochs = 200
model = dict(
    backbone=dict(
        depth=32, num_experts=3, reduce_dimension=True, type='RIDEResNet'),
    head=dict(
        classifier=dict(scale=30.0, type='CosineClassifier'),
        dkt_loss=None,
        in_channels=48,
        loss=dict(
            diversity_factor=-0.45,
            drw_epoch=160,
            max_m=0.5,
            reweight_factor=0.05,
            s=30.0,
            type='RIDELoss'),
        mutual_loss=None,
        num_classes=10,
        retrain_loss=None,
        type='MultiExpertFusionHead'),
    neck=dict(type='GlobalAveragePooling'),
    type='MultiExpertClassifier')
optim_wrapper = dict(
    optimizer=dict(
        lr=0.1, momentum=0.9, nesterov=True, type='SGD', weight_decay=0.0005))
param_scheduler = [
    dict(
        begin=0,
        by_epoch=True,
        end=5,
        end_factor=1.0,
        start_factor=0.2,
        type='LinearLR'),
    dict(
        begin=0,
        by_epoch=True,
        end=200,
        gamma=0.01,
        milestones=[
            160,
            180,
        ],
        type='MultiStepLR'),
]
randomness = dict(deterministic=False, seed=1)
resume = False
runner_type = 'DeviceAwareRunner'
test_cfg = dict()
test_dataloader = dict(
    batch_size=128,
    collate_fn=dict(type='default_collate'),
    dataset=dict(
        data_root='/usr/share/datasets/fashion-mnist',
        pipeline=[
            dict(type='PackInputs'),
        ],
        split='test',
        test_mode=True,
        type='FashionMNISTIDX'),
    num_workers=2,
    persistent_workers=True,
    pin_memory=False,
    sampler=dict(shuffle=False, type='DefaultSampler'))
test_evaluator = dict(
    topk=(
        1,
        5,
    ), type='LongTailAccuracy')
test_pipeline = [
    dict(type='PackInputs'),
]
train_cfg = dict(by_epoch=True, max_epochs=200, val_interval=5)
train_dataloader = dict(
    batch_size=128,
    collate_fn=dict(type='default_collate'),
    dataset=dict(
        dataset=dict(
            data_root='/usr/share/datasets/fashion-mnist',
            pipeline=[
                dict(crop_size=28, pad_val=0, padding=4, type='RandomCrop'),
                dict(direction='horizontal', prob=0.5, type='RandomFlip'),
                dict(type='PackInputs'),
            ],
            split='train',
            type='FashionMNISTIDX'),
        imbalance_factor=100,
        max_per_class=1000,
        profile='exp',
        selection='first',
        type='LongTailDataset'),
    num_workers=2,
    persistent_workers=False,
    pin_memory=False,
    sampler=dict(shuffle=True, type='DefaultSampler'))
train_pipeline = [
    dict(crop_size=28, pad_val=0, padding=4, type='RandomCrop'),
    dict(direction='horizontal', prob=0.5, type='RandomFlip'),
    dict(type='PackInputs'),
]
val_cfg = dict()
val_dataloader = dict(
    batch_size=128,
    collate_fn=dict(type='default_collate'),
    dataset=dict(
        data_root='/usr/share/datasets/fashion-mnist',
        pipeline=[
            dict(type='PackInputs'),
        ],
        split='test',
        test_mode=True,
        type='FashionMNISTIDX'),
    num_workers=2,
    persistent_workers=True,
    pin_memory=False,
    sampler=dict(shuffle=False, type='DefaultSampler'))
val_evaluator = dict(
    topk=(
        1,
        5,
    ), type='LongTailAccuracy')
vis_backends = [
    dict(_scope_='mmpretrain', type='LocalVisBackend'),
]
visualizer = dict(
    _scope_='mmpretrain',
    type='UniversalVisualizer',
    vis_backends=[
        dict(type='LocalVisBackend'),
    ])
work_dir = 'work_dirs/ride_r32-3e_fashion-mnist-lt-r100-1k_200e-s1'
