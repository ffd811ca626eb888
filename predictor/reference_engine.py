"""A plain-Python online engine, the oracle for the C engine's differential tests.

It follows Algorithms 1 and 2 of Guan et al. (ACM TKDD, 2026) literally and slowly: at every event it
tries every token of the vocabulary against the end of the event history, keeps
the tokenized sequence C as a list, and rolls the model back at once inside the
tokenizer (the C engine instead hands the caller the net rollback at the next
model call; both leave the model in the same state when it is fed).

Rules (the same as the C engine's):

1. Tokenize event t: among tokens with a non-empty expansion equal to the last
   events of the session's history, take the longest (the lowest token id on a
   tie) whose first event starts a token of C or is event t itself. Remove the
   tokens of C that start at or after that event and append the token. No match
   appends the unknown token 0.
2. If the new token's index in C is below the cursor, roll the model back to the
   state before that index and move the cursor there (one rollback).
3. Event t is correct when a pending prediction exists and its next event equals
   event t. Predict when there is no pending prediction, on a miss, or when the
   pending prediction is used up: feed C[cursor:], take the predicted token's
   expansion as the pending prediction (an empty expansion is a one-event
   prediction that never matches) and move the cursor to the end of C.
4. Each session starts with an empty C, a fresh model state and no prediction.
"""
import dataclasses

import numpy as np

UNKNOWN = 0


@dataclasses.dataclass
class ReferenceResult:
    """Counters of a reference run, with the calls made and C after every event.

    ``calls`` contains (event index, fed tokens tuple, predicted token) per model
    call, and ``sequences`` contains (tuple of C, cursor) after each event.
    """

    events: int = 0
    predictions: int = 0
    model_inputs: int = 0
    rollbacks: int = 0
    correct: int = 0
    covered: int = 0
    calls: list = dataclasses.field(default_factory=list)
    sequences: list = dataclasses.field(default_factory=list)


def _longest_token(expansions, history, starts):
    """Return (token, length) of the longest token ending the history at a boundary."""
    t = len(history) - 1
    best, best_length = UNKNOWN, 0
    for token, expansion in enumerate(expansions):
        length = len(expansion)
        if length == 0 or length > len(history) or length <= best_length:
            continue
        start = t - length + 1
        if start != t and start not in starts:
            continue
        if tuple(history[start:]) == expansion:
            best, best_length = token, length
    return best, max(best_length, 1)


def run_reference(events, vocab, stepper, session_starts=None):
    """Run the reference engine over ``events`` with ``stepper`` as the model."""
    expansions = [tuple(x) for x in vocab.expansions]
    events = [int(e) for e in events]
    starts = sorted(set([0] + [int(s) for s in (session_starts if session_starts is not None else [])]))
    result = ReferenceResult()

    for number, begin in enumerate(starts):
        end = starts[number + 1] if number + 1 < len(starts) else len(events)
        stepper.reset()
        history, sequence, cursor, pending, used = [], [], 0, None, 0

        for index in range(begin, end):
            event = events[index]
            history.append(event)
            t = len(history) - 1

            # 1. tokenize (sequence contains [token, start event] pairs)
            token_starts = {start for _, start in sequence}
            token, length = _longest_token(expansions, history, token_starts)
            start = t - length + 1
            while sequence and sequence[-1][1] >= start:
                sequence.pop()
            sequence.append([token, start])

            # 2. rollback when the replaced suffix reaches before the cursor
            if len(sequence) - 1 < cursor:
                stepper.rollback(cursor - (len(sequence) - 1))
                cursor = len(sequence) - 1
                result.rollbacks += 1

            # 3. match against the pending prediction, predict when needed
            result.events += 1
            need = pending is None
            if pending is not None:
                hit = pending[used] is not None and pending[used] == event
                result.correct += hit
                need = not hit or used == len(pending) - 1
                used += 1
            if need:
                fed = tuple(tok for tok, _ in sequence[cursor:])
                predicted = int(stepper.feed(np.array(fed, dtype=np.int64)))
                result.calls.append((index, fed, predicted))
                result.predictions += 1
                result.model_inputs += len(fed)
                pending = list(expansions[predicted]) or [None]
                used = 0
                result.covered += len(pending)
                cursor = len(sequence)
            result.sequences.append((tuple(tok for tok, _ in sequence), cursor))
    return result
