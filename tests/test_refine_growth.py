"""Vocabulary and model growth for online refinement."""
import numpy as np
import pytest
import torch

from predictor.growth import grow_model
from predictor.model import GRUPredictor
from predictor.vocabulary import APPENDED_RULE, UNKNOWN, Vocabulary


def paper_vocabulary():
    """Training vocabulary of the running example of Guan et al. (TKDD 2026, Figure 2) at FREQ 3."""
    a, b, c, d, e, f, g, x = range(1, 9)
    abc = (a, b, c)
    return Vocabulary.from_events(
        [a, b, c, d, e, f, g, x],
        nonterminals=[(3, abc), (5, abc * 4 + (d,)), (6, (a, e))],
        freq=3,
    )


def test_vocabulary_append_keeps_old_ids():
    vocab = paper_vocabulary()
    before = list(vocab.expansions)
    rule_tokens = {rule: vocab.rule_token(rule) for rule in (3, 5, 6)}

    new_nonterminal = vocab.append((1, 2))
    new_terminal = vocab.append((42,))

    assert new_nonterminal == len(before)
    assert new_terminal == len(before) + 1
    assert vocab.expansions[:len(before)] == before
    assert {rule: vocab.rule_token(rule) for rule in (3, 5, 6)} == rule_tokens
    assert vocab.rules[new_nonterminal] == APPENDED_RULE
    assert vocab.rules[new_terminal] == -1


def test_vocabulary_append_terminal_after_nonterminals():
    vocab = paper_vocabulary()
    terminals_before = vocab.num_terminals

    token = vocab.append((42,))

    assert vocab.terminal_token(42) == token
    assert vocab.num_terminals == terminals_before + 1
    assert vocab.encode_events([1, 42, 99]).tolist() == [vocab.terminal_token(1), token, UNKNOWN]
    assert vocab.token_of((42,)) == token
    assert vocab.token_lengths()[token] == 1


def test_vocabulary_append_rejects_duplicates():
    vocab = paper_vocabulary()

    with pytest.raises(ValueError):
        vocab.append((1, 2, 3))
    with pytest.raises(ValueError):
        vocab.append((1,))
    with pytest.raises(ValueError):
        vocab.append(())


def test_vocabulary_json_keeps_appended_tokens():
    vocab = paper_vocabulary()
    pair = vocab.append((1, 2))
    terminal = vocab.append((42,))

    loaded = Vocabulary.from_json(vocab.to_json())

    assert loaded.expansions == vocab.expansions
    assert loaded.terminal_token(42) == terminal
    assert loaded.token_of((1, 2)) == pair
    assert loaded.rule_token(5) == vocab.rule_token(5)


def small_model(vocab_size, seed=0):
    torch.manual_seed(seed)
    model = GRUPredictor(vocab_size, n_embd=8, n_hidden=16)
    # Random biases, so that the smallest-bias rule is really exercised.
    with torch.no_grad():
        model.head.bias.normal_()
    return model.eval()


def test_grow_model_keeps_old_logits_exactly():
    model = small_model(12)
    tokens = torch.tensor([[1, 5, 11, 0, 3, 3, 7]])
    with torch.no_grad():
        before, hidden_before = model(tokens)

    grow_model(model, 15)
    with torch.no_grad():
        after, hidden_after = model(tokens)

    assert model.vocab_size == 15
    assert model.embedding.weight.shape == (15, 8)
    assert model.head.weight.shape == (15, 16)
    assert after.shape == (1, 7, 15)
    assert torch.equal(after[..., :12], before)
    assert torch.equal(hidden_after, hidden_before)


def test_grow_model_new_tokens_do_not_win_argmax():
    model = small_model(12, seed=3)
    tokens = torch.randint(0, 12, (4, 50), generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        before, _ = model(tokens)

    grow_model(model, 20)
    with torch.no_grad():
        after, _ = model(tokens)

    assert torch.equal(after.argmax(dim=-1), before.argmax(dim=-1))
    assert bool((after[..., 12:] <= before.mean(dim=-1, keepdim=True) + 1e-5).all())


def test_grow_model_new_token_is_an_input():
    model = small_model(12)
    grow_model(model, 14)

    with torch.no_grad():
        logits, _ = model(torch.tensor([[13, 12, 1]]))

    assert logits.shape == (1, 3, 14)
    assert bool(torch.isfinite(logits).all())


def test_grow_model_trains_new_rows():
    model = small_model(6).train()
    grow_model(model, 8)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    tokens = torch.tensor([[6, 7, 6, 7, 6, 7, 6, 7]])
    head_before = model.head.weight[6:].detach().clone()

    for _ in range(3):
        logits, _ = model(tokens[:, :-1])
        loss = torch.nn.functional.cross_entropy(logits.reshape(-1, 8), tokens[:, 1:].reshape(-1))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

    assert not torch.equal(model.head.weight[6:], head_before)
    assert not torch.equal(model.head.weight[6], model.head.weight[7])


def test_grow_model_rejects_shrinking():
    model = small_model(12)

    with pytest.raises(ValueError):
        grow_model(model, 11)
    assert grow_model(model, 12).vocab_size == 12


def test_grow_model_keeps_state_dict_loadable():
    model = small_model(10)
    grow_model(model, 13)
    fresh = GRUPredictor(13, n_embd=8, n_hidden=16)

    fresh.load_state_dict(model.state_dict())
    tokens = torch.tensor([[12, 1, 2]])
    with torch.no_grad():
        assert torch.equal(fresh.eval()(tokens)[0], model(tokens)[0])
    assert np.array_equal(fresh.embedding.weight.detach().numpy(),
                          model.embedding.weight.detach().numpy())
