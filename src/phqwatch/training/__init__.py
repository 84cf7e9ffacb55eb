"""Training: rebuilding the shipped default model and self-training rounds."""
