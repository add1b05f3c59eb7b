"""The multi-view, step-aware process reward model (hop model over frozen backbone embeddings).

Public entry points live in submodules (imported lazily so that importing this package does no work):
``pipeline`` (RewardPipeline, load_reward_model, save_reward_model), ``scoring`` (ProgressScorer, EpisodeScore),
``train`` (TrainRewardConfig, run), ``evaluate`` (EvalRewardConfig, run).
"""
