"""Inference: batched greedy generation and the protocols that ask a trained model (direct, two_step)."""
