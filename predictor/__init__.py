"""Compressed learning: Sequitur, lowering, vocabulary, GRU models and the online engine."""
