"""Vocabulary growth for a trained GRUPredictor.

Online refinement appends tokens to the vocabulary, so the embedding and the output
layer (head) gain rows at the end. Old rows are copied unchanged, so until the next
training step the model gives bit-identical logits for every old token.

New rows start from averages rather than random values:
- embedding row = mean of the old embedding rows, an input that looks like an
  average token;
- head row = mean of the old head rows, with bias = the smallest old bias. Its
  logit is then mean_i(w_i . h) + min_i b_i <= mean of the old logits <= the
  largest old logit, so, up to float rounding, a new token does not win the argmax
  before it has been trained.
Rows that start equal still diverge in training, because their targets differ.
"""
import torch
from torch import nn


def grow_model(model, vocab_size: int):
    """Grow ``model`` (a GRUPredictor) in place to ``vocab_size`` tokens and return it.

    Raises ValueError if ``vocab_size`` is smaller than the model's vocabulary.
    """
    old_size = model.vocab_size
    if vocab_size < old_size:
        raise ValueError(f"cannot shrink a model from {old_size} to {vocab_size} tokens")
    if vocab_size == old_size:
        return model

    added = vocab_size - old_size
    with torch.no_grad():
        old_embedding = model.embedding.weight  # (V, E)
        embedding = nn.Embedding(vocab_size, model.n_embd).to(old_embedding)
        embedding.weight[:old_size] = old_embedding
        embedding.weight[old_size:] = old_embedding.mean(dim=0).expand(added, -1)

        old_weight, old_bias = model.head.weight, model.head.bias  # (V, H), (V,)
        head = nn.Linear(model.n_hidden, vocab_size).to(old_weight)
        head.weight[:old_size] = old_weight
        head.weight[old_size:] = old_weight.mean(dim=0).expand(added, -1)
        head.bias[:old_size] = old_bias
        head.bias[old_size:] = old_bias.min()

    model.embedding = embedding
    model.head = head
    model.vocab_size = vocab_size
    return model
