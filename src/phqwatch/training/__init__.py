"""Training: rebuilding the shipped default model and self-training rounds."""

from phqwatch.training.selftrain import LabelScale, SelfTrainer, SelfTrainResult, self_train

__all__ = ["LabelScale", "SelfTrainResult", "SelfTrainer", "self_train"]
