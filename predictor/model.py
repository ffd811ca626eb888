"""The GRU predictor: embedding, one GRU layer, linear output over the vocabulary."""
from torch import nn


class GRUPredictor(nn.Module):
    """Next-token model over a vocabulary of ``vocab_size`` tokens.

    ``n_embd`` is the embedding width and ``n_hidden`` the GRU state width.
    """

    def __init__(self, vocab_size: int, n_embd: int, n_hidden: int):
        super().__init__()
        self.vocab_size = vocab_size
        self.n_embd = n_embd
        self.n_hidden = n_hidden
        self.embedding = nn.Embedding(vocab_size, n_embd)
        self.gru = nn.GRU(n_embd, n_hidden, num_layers=1, batch_first=True)
        self.head = nn.Linear(n_hidden, vocab_size)

    def forward(self, tokens, hidden=None):
        """Return logits for the token after each position, and the last hidden state.

        tokens: (B, T) int64; hidden: (1, B, H) or None for zeros.
        Returns logits (B, T, V) and hidden (1, B, H).
        """
        x = self.embedding(tokens)  # (B, T, E)
        out, hidden = self.gru(x, hidden)  # (B, T, H), (1, B, H)
        return self.head(out), hidden
