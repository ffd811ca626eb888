/* Sequitur grammar inference over int64 event sequences, plain C99.
 *
 * Nevill-Manning and Witten, "Identifying Hierarchical Structure in Sequences:
 * A linear-time algorithm", JAIR 7, 1997. After every appended symbol no digram
 * occurs twice in the grammar (overlapping occurrences such as "a a a" excepted)
 * and every rule except rule 0 is used at least twice.
 *
 * Symbol encoding in exported grammars (the compressed sparse row layout below):
 *   value >= 0                  a terminal, the event value itself
 *   value == SQ_SEPARATOR       a session separator (only in rule 0)
 *   SQ_SEPARATOR < value < 0    the non-terminal of rule -(value + 1)
 * Rule r's right-hand side is symbols[offsets[r] .. offsets[r + 1]).
 * Rules are numbered breadth-first by first appearance, starting from rule 0.
 *
 * Every function returns SQ_OK or one of the SQ_ERR_* codes; sq_error_message
 * turns a code into a sentence. No function prints or aborts.
 */
#ifndef COMPLEARN_SEQUITUR_H
#define COMPLEARN_SEQUITUR_H

#include <stdint.h>

#define SQ_SEPARATOR INT64_MIN

/* Maximum input length of sq_build (events plus separators). Symbol indices
 * are 32-bit, and the live symbols stay below about 1.5 per input symbol
 * because rule bodies never outgrow the input and each rule has two or more. */
#define SQ_MAX_INPUT ((int64_t)1 << 30)

enum {
    SQ_OK = 0,
    SQ_ERR_NOMEM = 1,            /* malloc or realloc failed */
    SQ_ERR_NEGATIVE_EVENT = 2,   /* *bad_index is the first negative event */
    SQ_ERR_TOO_LONG = 3,         /* input above SQ_MAX_INPUT, or a length overflows int64 */
    SQ_ERR_BAD_SESSIONS = 4,     /* *bad_index is the first invalid session start */
    SQ_ERR_BAD_RULE = 5,         /* a non-terminal names a rule outside 0 .. num_rules - 1 */
    SQ_ERR_CYCLE = 6,            /* the rules refer to themselves (no topological order) */
    SQ_ERR_CAPACITY = 7          /* the output buffer is too small */
};

typedef struct sq_grammar sq_grammar;

/* Build the grammar of events[0 .. num_events). session_starts lists the first
 * event of each session in increasing order, starting with 0; a separator that
 * never joins a digram goes before every session but the first. Pass NULL and 0
 * for one session. On success *out owns the grammar (free with sq_grammar_free). */
int sq_build(const int64_t *events, int64_t num_events,
             const int64_t *session_starts, int64_t num_sessions,
             sq_grammar **out, int64_t *bad_index);

int64_t sq_grammar_num_rules(const sq_grammar *grammar);
int64_t sq_grammar_num_symbols(const sq_grammar *grammar);

/* Copy the grammar out: symbols has sq_grammar_num_symbols entries, offsets
 * sq_grammar_num_rules + 1. */
void sq_grammar_export(const sq_grammar *grammar, int64_t *symbols, int64_t *offsets);

void sq_grammar_free(sq_grammar *grammar);

/* Write the num_rules rule numbers so that every rule comes after all rules
 * whose right-hand sides use it (parents before children). */
int sq_topological_order(const int64_t *symbols, const int64_t *offsets, int64_t num_rules,
                         int64_t *order);

/* Write the expansion length in events (separators count one) of every rule. */
int sq_rule_lengths(const int64_t *symbols, const int64_t *offsets, int64_t num_rules,
                    int64_t *lengths);

/* Expand rule `rule` into out[0 .. *length). A non-terminal whose rule has
 * keep[rule] != 0 is written as itself instead of being expanded; keep may be
 * NULL to expand everything. Returns SQ_ERR_CAPACITY when capacity is short. */
int sq_expand(const int64_t *symbols, const int64_t *offsets, int64_t num_rules,
              int64_t rule, const uint8_t *keep, int64_t *out, int64_t capacity,
              int64_t *length);

const char *sq_error_message(int code);

#endif
