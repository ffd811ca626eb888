"""Shared builders for the online engine tests: vocabularies, streams, scripted models."""
import random

import numpy as np

from predictor.stepper import ScriptedStepper
from predictor.vocabulary import Vocabulary

# The running example of Guan et al. (TKDD 2026) uses letters; events here are small integer ids.
LETTERS = {letter: number for number, letter in enumerate("abcdefgxy")}


def letters(text):
    """Return the event array of a space-separated string of letters."""
    return np.array([LETTERS[letter] for letter in text.split()], dtype=np.int64)


def random_vocabulary(rng, alphabet, max_nonterminals=6, max_length=7):
    """Return a Vocabulary over a random subset of ``alphabet`` with random non-terminals.

    Some alphabet events are left out of the terminals so streams contain unknown
    events; non-terminal expansions only use terminal events, as lowering makes them.
    """
    known = [e for e in alphabet if rng.random() < 0.85] or [alphabet[0]]
    nonterminals = []
    for rule in range(1, rng.randint(0, max_nonterminals) + 1):
        length = rng.randint(2, max_length)
        nonterminals.append((rule, tuple(rng.choice(known) for _ in range(length))))
    return Vocabulary.from_events(known, nonterminals=nonterminals, freq=2)


def random_stream(rng, vocab, alphabet, length):
    """Return a stream that mixes token expansions with single random events."""
    stream = []
    while len(stream) < length:
        if rng.random() < 0.6 and vocab.size > 1:
            expansion = vocab.expansions[rng.randrange(1, vocab.size)]
            cut = rng.randint(1, len(expansion))  # sometimes only a prefix, to cause misses
            stream.extend(expansion[:cut] if rng.random() < 0.3 else expansion)
        else:
            stream.append(rng.choice(alphabet))
    return np.array(stream[:length], dtype=np.int64)


def random_session_starts(rng, length):
    if length < 2 or rng.random() < 0.5:
        return None
    return sorted(rng.sample(range(1, length), min(length - 1, rng.randint(1, 3))))


def oracle_stepper(events, vocab, starts, seed, hit_rate=0.7):
    """A scripted model that often predicts the longest token matching the true future.

    Its choice depends only on the call number, the session and the fed history,
    so two engines that make the same calls get the same predictions.
    """
    lengths = [max(1, len(x)) for x in vocab.expansions]
    session_begins = [0] + list(starts or [])
    values = [int(e) for e in events]
    stepper = None

    def script(call, history):
        rng = random.Random(hash((seed, call, history)))
        if rng.random() > hit_rate:
            return rng.randrange(vocab.size)
        position = session_begins[stepper.sessions - 1] + sum(lengths[t] for t in history)
        best = rng.randrange(vocab.size)
        for token, expansion in enumerate(vocab.expansions):
            if expansion and tuple(values[position:position + len(expansion)]) == expansion:
                if len(expansion) > lengths[best] or not vocab.expansions[best]:
                    best = token
        return best

    stepper = ScriptedStepper(script)
    return stepper


def merged_log(log):
    """Stepper log with consecutive rollbacks summed and unused ones dropped.

    The reference engine rolls back eagerly inside the tokenizer, the C engine
    once before the next feed, so only rollbacks that precede a feed matter.
    """
    out = []
    for entry in list(log) + [("reset",)]:
        if out and out[-1][0] == "rollback" and entry[0] == "reset":
            out.pop()
        if entry[0] == "rollback" and out and out[-1][0] == "rollback":
            out[-1] = ("rollback", out[-1][1] + entry[1])
        else:
            out.append(entry)
    return out[:-1]
