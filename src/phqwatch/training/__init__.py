"""Training: rebuilding the shipped default model and self-training rounds."""

from phqwatch.training.selftrain import LabelScale, SelfTrainer, SelfTrainResult, self_train
from phqwatch.training.selftrain_config import PseudolabelConfig, SelfTrainConfig

__all__ = ["LabelScale", "PseudolabelConfig", "SelfTrainConfig", "SelfTrainResult", "SelfTrainer", "self_train"]
