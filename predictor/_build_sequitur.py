"""cffi build script of the Sequitur core (out-of-line API mode).

``pip install`` compiles it through ``cffi_modules`` in setup.py; the resulting
extension module is ``predictor._sequitur``. The cdef mirrors sequitur.h.
"""
from cffi import FFI

CDEF = """
#define SQ_MAX_INPUT ...

enum {
    SQ_OK = 0,
    SQ_ERR_NOMEM = 1,
    SQ_ERR_NEGATIVE_EVENT = 2,
    SQ_ERR_TOO_LONG = 3,
    SQ_ERR_BAD_SESSIONS = 4,
    SQ_ERR_BAD_RULE = 5,
    SQ_ERR_CYCLE = 6,
    SQ_ERR_CAPACITY = 7
};

typedef struct sq_grammar sq_grammar;

int sq_build(const int64_t *events, int64_t num_events,
             const int64_t *session_starts, int64_t num_sessions,
             sq_grammar **out, int64_t *bad_index);
int64_t sq_grammar_num_rules(const sq_grammar *grammar);
int64_t sq_grammar_num_symbols(const sq_grammar *grammar);
void sq_grammar_export(const sq_grammar *grammar, int64_t *symbols, int64_t *offsets);
void sq_grammar_free(sq_grammar *grammar);
int sq_topological_order(const int64_t *symbols, const int64_t *offsets, int64_t num_rules,
                         int64_t *order);
int sq_rule_lengths(const int64_t *symbols, const int64_t *offsets, int64_t num_rules,
                    int64_t *lengths);
int sq_expand(const int64_t *symbols, const int64_t *offsets, int64_t num_rules,
              int64_t rule, const uint8_t *keep, int64_t *out, int64_t capacity,
              int64_t *length);
const char *sq_error_message(int code);
"""

ffibuilder = FFI()
ffibuilder.cdef(CDEF)
ffibuilder.set_source(
    "predictor._sequitur",
    '#include "sequitur.h"',
    # Paths relative to the project root, where setup.py runs.
    sources=["predictor/sequitur.c"],
    include_dirs=["predictor"],
    extra_compile_args=["-std=c99", "-O2"],
)

if __name__ == "__main__":
    ffibuilder.compile(verbose=True)
