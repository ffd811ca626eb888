"""Single-step model inference for the online engine, with a ring of hidden states.

A stepper is what the online engine calls the model through:

``reset()``            start a session: zero hidden state, nothing fed.
``feed(tokens)``       feed int64 tokens one after another; return the argmax token
                       after the last one.
``rollback(n)``        restore the state before the last ``n`` fed tokens.
``reserve(n)``         make sure rollbacks of up to ``n`` tokens are possible.

GRUStepper runs a GRUPredictor one token at a time. It keeps the hidden state
after every fed token in a ring of ``ring_size + 1`` slots, so a rollback only
moves the index of the current slot. ScriptedStepper returns chosen tokens, for
tests.
"""
import logging

import numpy as np
import torch

from predictor.errors import PredictorError

log = logging.getLogger(__name__)

# The per-token input projection table (vocabulary x 3 * hidden floats) is
# precomputed when it fits in this many bytes. It saves one matrix-vector
# product per step.
INPUT_TABLE_MAX_BYTES = 256 * 2**20


def resolve_device(device=None) -> torch.device:
    """Return the device to run on: ``device`` if given, else CUDA when present, else CPU.

    Raises PredictorError for an unknown device string or CUDA without a GPU.
    """
    if device is None or device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        resolved = torch.device(device)
    except (RuntimeError, TypeError) as error:
        raise PredictorError(f"invalid device {device!r} ({error}): use cpu, cuda or cuda:N") from None
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise PredictorError(f"device {device!r} requested but no CUDA GPU is available to "
                             "torch: use --device cpu or leave the device unset")
    if resolved.type not in ("cpu", "cuda"):
        raise PredictorError(f"device {device!r} is not supported: use cpu or cuda")
    if resolved.type == "cuda" and resolved.index is not None and \
            resolved.index >= torch.cuda.device_count():
        raise PredictorError(f"device {device!r} not found: torch sees "
                             f"{torch.cuda.device_count()} CUDA GPUs")
    return resolved


class GRUStepper:
    """Token-by-token inference of a GRUPredictor with rollback.

    ``device`` is a torch device string or None (CUDA when available, else CPU).
    ``ring_size`` is the largest rollback, in fed tokens, that must be possible
    (``reserve`` can grow it later). On CUDA the single step runs as a captured
    CUDA graph, so a step costs one graph launch instead of a dozen kernel launches.
    ``threads``, if given, is passed to torch.set_num_threads (a process-wide
    setting): a single step of a small model is a few small matrix-vector
    products and often runs fastest on one CPU thread.
    """

    def __init__(self, model, device=None, ring_size=1, threads=None):
        self.device = resolve_device(device)
        if threads is not None:
            torch.set_num_threads(int(threads))
        self.n_hidden = model.n_hidden
        self.vocab_size = model.vocab_size
        self._load_weights(model)
        self._graphs = None
        self._allocate(max(1, int(ring_size)))

    def _load_weights(self, model):
        gru = model.gru
        weights = {
            "embedding": model.embedding.weight, "w_ih": gru.weight_ih_l0,
            "w_hh": gru.weight_hh_l0, "b_ih": gru.bias_ih_l0, "b_hh": gru.bias_hh_l0,
            "w_head": model.head.weight, "b_head": model.head.bias,
        }
        with torch.no_grad():
            for name, value in weights.items():
                setattr(self, "_" + name, value.detach().to(self.device, torch.float32).contiguous())

            # gi[token] = W_ih @ embedding[token] + b_ih, one row per token
            table_bytes = self.vocab_size * 3 * self.n_hidden * 4
            self._input_table = None
            if table_bytes <= INPUT_TABLE_MAX_BYTES:
                self._input_table = torch.addmm(self._b_ih, self._embedding, self._w_ih.t())

    def _allocate(self, ring_size):
        self.ring_size = ring_size
        self._ring = torch.zeros(ring_size + 1, self.n_hidden, device=self.device)  # (R, H)
        self._slot = 0
        self._depth = 0
        self._graphs = None
        if self.device.type == "cuda":
            self._capture_graphs()

    def reserve(self, ring_size):
        """Grow the ring to allow rollbacks of ``ring_size`` tokens; resets the state."""
        if ring_size > self.ring_size:
            self._allocate(int(ring_size))

    def reset(self):
        """Start a session: zero hidden state, no rollback possible."""
        self._slot = 0
        self._depth = 0
        self._ring[0].zero_()

    @property
    def hidden(self) -> torch.Tensor:
        """Copy of the current hidden state, shape (H,)."""
        return self._ring[self._slot].clone()

    def rollback(self, n):
        """Restore the hidden state before the last ``n`` fed tokens."""
        n = int(n)
        if n < 0 or n > self._depth:
            raise PredictorError(f"cannot roll back {n} tokens: only the last {self._depth} fed "
                                 f"tokens are kept (ring size {self.ring_size})")
        self._slot = (self._slot - n) % (self.ring_size + 1)
        self._depth -= n

    def feed(self, tokens) -> int:
        """Feed ``tokens`` (int64 sequence, at least one) and return the argmax next token."""
        count = len(tokens)
        if count == 0:
            raise PredictorError("feed() needs at least one token")
        with torch.inference_mode():
            if self._graphs is not None:
                return self._feed_graphs(tokens)

            for j in range(count):
                self._step(int(tokens[j]))
            logits = torch.addmv(self._b_head, self._w_head, self._ring[self._slot])  # (V,)
            return int(torch.argmax(logits))

    def _advance_slot(self):
        previous = self._slot
        self._slot = (previous + 1) % (self.ring_size + 1)
        self._depth = min(self._depth + 1, self.ring_size)
        return previous

    def _step(self, token):
        """Run one GRU step (PyTorch's gate order r, z, n) and write the new state into the ring."""
        hidden_size = self.n_hidden
        h = self._ring[self._advance_slot()]  # (H,)
        if self._input_table is not None:
            gi = self._input_table[token]  # (3H,)
        else:
            gi = torch.addmv(self._b_ih, self._w_ih, self._embedding[token])
        gh = torch.addmv(self._b_hh, self._w_hh, h)  # (3H,)
        rz = torch.sigmoid(gi[:2 * hidden_size] + gh[:2 * hidden_size])
        n = torch.tanh(torch.addcmul(gi[2 * hidden_size:], rz[:hidden_size], gh[2 * hidden_size:]))

        # h' = (1 - z) * n + z * h
        torch.lerp(n, h, rz[hidden_size:], out=self._ring[self._slot])

    # CUDA graph path. NOTE: written for CUDA but not yet run on a GPU in this
    # project's tests; capture failures fall back to the eager path above.

    def _graph_step(self, with_head):
        """Eager body of the captured step: reads token and slot from device tensors."""
        hidden_size = self.n_hidden
        h = self._ring.index_select(0, self._slot_in)[0]
        if self._input_table is not None:
            gi = self._input_table.index_select(0, self._token_in)[0]
        else:
            x = self._embedding.index_select(0, self._token_in)[0]
            gi = torch.addmv(self._b_ih, self._w_ih, x)
        gh = torch.addmv(self._b_hh, self._w_hh, h)
        rz = torch.sigmoid(gi[:2 * hidden_size] + gh[:2 * hidden_size])
        n = torch.tanh(torch.addcmul(gi[2 * hidden_size:], rz[:hidden_size], gh[2 * hidden_size:]))
        h_new = torch.lerp(n, h, rz[hidden_size:])
        slot_out = torch.remainder(self._slot_in + 1, self.ring_size + 1)
        self._ring.index_copy_(0, slot_out, h_new.unsqueeze(0))
        self._slot_in.copy_(slot_out)
        if with_head:
            logits = torch.addmv(self._b_head, self._w_head, h_new)
            self._token_out.copy_(torch.argmax(logits).view(1))

    def _make_graph_inputs(self):
        self._token_in = torch.zeros(1, dtype=torch.int64, device=self.device)
        self._slot_in = torch.zeros(1, dtype=torch.int64, device=self.device)
        self._token_out = torch.zeros(1, dtype=torch.int64, device=self.device)

    def _capture_graphs(self):
        self._make_graph_inputs()
        try:
            graphs = {}
            with torch.no_grad():
                stream = torch.cuda.Stream(self.device)
                stream.wait_stream(torch.cuda.current_stream(self.device))
                with torch.cuda.stream(stream):
                    for with_head in (False, True):  # warm up before capture
                        self._graph_step(with_head)
                torch.cuda.current_stream(self.device).wait_stream(stream)
                for with_head in (False, True):
                    graph = torch.cuda.CUDAGraph()
                    with torch.cuda.graph(graph):
                        self._graph_step(with_head)
                    graphs[with_head] = graph
            self._ring.zero_()
            self._graphs = graphs
        except RuntimeError as error:
            log.warning("CUDA graph capture failed (%s); using eager single steps", error)
            self._graphs = None

    def _feed_graphs(self, tokens):
        self._slot_in.fill_(self._slot)
        last = len(tokens) - 1
        for j in range(len(tokens)):
            self._token_in.fill_(int(tokens[j]))
            self._graphs[j == last].replay()
            self._advance_slot()
        return int(self._token_out.item())


class ScriptedStepper:
    """A stand-in model for tests: returns chosen tokens and records every call.

    ``script`` is a sequence of tokens returned in turn by ``feed`` or a function
    ``script(call_number, fed_history)`` returning the token, where
    ``fed_history`` is the tuple of tokens the model has consumed in this session
    after rollbacks. ``log`` records ("feed", tokens tuple, returned token),
    ("rollback", n) and ("reset",) in order; ``sessions`` counts resets.
    """

    def __init__(self, script, ring_size=None):
        self.script = script
        self.ring_size = ring_size
        self.calls = 0
        self.sessions = 0
        self.history = []
        self.log = []

    def reserve(self, ring_size):
        if self.ring_size is not None and ring_size > self.ring_size:
            self.ring_size = int(ring_size)

    def reset(self):
        self.history = []
        self.sessions += 1
        self.log.append(("reset",))

    def rollback(self, n):
        n = int(n)
        limit = len(self.history) if self.ring_size is None else min(len(self.history), self.ring_size)
        if n < 0 or n > limit:
            raise PredictorError(f"cannot roll back {n} tokens: only {limit} kept")
        del self.history[len(self.history) - n:]
        self.log.append(("rollback", n))

    def feed(self, tokens) -> int:
        fed = tuple(int(t) for t in np.asarray(tokens))
        if not fed:
            raise PredictorError("feed() needs at least one token")
        self.history.extend(fed)
        if callable(self.script):
            token = int(self.script(self.calls, tuple(self.history)))
        elif self.calls < len(self.script):
            token = int(self.script[self.calls])
        else:
            raise PredictorError(f"scripted stepper ran out of tokens after {self.calls} calls")
        self.calls += 1
        self.log.append(("feed", fed, token))
        return token
