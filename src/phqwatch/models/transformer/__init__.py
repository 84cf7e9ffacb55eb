"""Transformer backbone + regression head (torch, transformers and peft are imported lazily).

Importing this package does not import torch; only fitting, loading or scoring does.
"""

from phqwatch.models.transformer.config import ChunkingConfig, HeadConfig, LoraConfig, OptimConfig, RuntimeConfig
from phqwatch.models.transformer.estimator import TransformerEstimator

__all__ = ["ChunkingConfig", "HeadConfig", "LoraConfig", "OptimConfig", "RuntimeConfig", "TransformerEstimator"]
