"""The token vocabulary of compressed learning.

Token ids are laid out as: 0 is the unknown token (an event never seen in
training), then one terminal token per distinct training event in increasing
event order, then one token per kept non-terminal in increasing rule number.
Online refinement appends tokens after these (``Vocabulary.append``), so a
grown vocabulary may hold terminals after non-terminals; old ids never change.
Every token has an *expansion*, the tuple of events it stands for (the unknown
token's is empty). Events are int64 values as stored in the trace: dense ids for
log, call and generic traces, 64-byte block numbers for memory traces.
"""
import dataclasses
from typing import Optional

import numpy as np

UNKNOWN = 0

# Rule number of a non-terminal appended by online refinement: its rule belongs
# to an interval's grammar, not to the training grammar that ``rule_token`` maps.
APPENDED_RULE = -2


@dataclasses.dataclass
class Vocabulary:
    """Tokens with their event expansions.

    ``rules[i]`` is the grammar rule number of non-terminal token ``i``, -1 for
    terminals and the unknown token, and APPENDED_RULE for non-terminals that
    online refinement appended. ``freq`` is the lowering threshold that
    produced the non-terminals (None for a default, uncompressed vocabulary).
    """

    expansions: list  # token id -> tuple of events
    rules: list  # token id -> rule number, -1 or APPENDED_RULE
    freq: Optional[int] = None

    def __post_init__(self):
        self.expansions = [tuple(int(e) for e in x) for x in self.expansions]
        self.rules = [int(r) for r in self.rules]
        self._terminal_of = {x[0]: i for i, x in enumerate(self.expansions)
                             if self.rules[i] == -1 and len(x) == 1}
        self._token_of = {x: i for i, x in enumerate(self.expansions) if x}

    @classmethod
    def from_events(cls, events, nonterminals=(), freq=None):
        """Build a vocabulary of the distinct ``events`` plus ``(rule, expansion)`` pairs."""
        terminals = np.unique(np.asarray(events, dtype=np.int64))
        expansions = [()] + [(int(e),) for e in terminals]
        rules = [-1] * len(expansions)
        for rule, expansion in sorted(nonterminals):
            expansions.append(tuple(expansion))
            rules.append(int(rule))
        return cls(expansions, rules, freq)

    @property
    def size(self) -> int:
        return len(self.expansions)

    @property
    def num_terminals(self) -> int:
        return len(self._terminal_of)

    def token_lengths(self) -> np.ndarray:
        """Length in events of every token (0 for the unknown token)."""
        return np.array([len(x) for x in self.expansions], dtype=np.int64)

    def max_token_length(self) -> int:
        return max((len(x) for x in self.expansions), default=0)

    def terminal_token(self, event) -> int:
        """Return the terminal token of an event, or UNKNOWN if the vocabulary has none."""
        return self._terminal_of.get(int(event), UNKNOWN)

    def encode_events(self, events) -> np.ndarray:
        """Map an event array to terminal tokens (unknown events to UNKNOWN)."""
        lookup = self._terminal_of
        return np.fromiter((lookup.get(int(e), UNKNOWN) for e in events), dtype=np.int64,
                           count=len(events))

    def token_of(self, expansion) -> Optional[int]:
        """Return the token whose expansion is the event sequence ``expansion``, or None."""
        return self._token_of.get(tuple(int(e) for e in expansion))

    def append(self, expansion) -> int:
        """Append a token for ``expansion`` (one or more events) and return its id.

        A one-event expansion becomes the terminal token of that event, a longer
        one a non-terminal with rule number APPENDED_RULE. Existing ids stay as they
        are. Raises ValueError for an empty expansion or one that already has a token.
        """
        expansion = tuple(int(e) for e in expansion)
        if not expansion:
            raise ValueError("cannot append a token with an empty expansion")
        if expansion in self._token_of:
            raise ValueError(f"expansion {expansion[:8]} already has token {self._token_of[expansion]}")

        token = len(self.expansions)
        self.expansions.append(expansion)
        if len(expansion) == 1:
            self.rules.append(-1)
            self._terminal_of[expansion[0]] = token
        else:
            self.rules.append(APPENDED_RULE)
        self._token_of[expansion] = token
        return token

    def rule_token(self, rule: int) -> int:
        """Return the token id of a kept non-terminal given its rule number."""
        return self.rules.index(rule)

    def to_json(self) -> dict:
        return {"expansions": [list(x) for x in self.expansions], "rules": list(self.rules),
                "freq": self.freq}

    @classmethod
    def from_json(cls, data: dict) -> "Vocabulary":
        return cls(data["expansions"], data["rules"], data.get("freq"))
