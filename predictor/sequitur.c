/* Sequitur grammar inference (see sequitur.h for the contract).
 *
 * The builder makes the same decisions, in the same order, as Nevill-Manning and
 * Witten's Sequitur as implemented in scikit-sequitur 0.4.0 (the test oracle). It
 * performs the same digram table lookups and substitutions, re-records the first
 * digram of a run "b b b" in join, and checks for an underused rule on a rule's
 * first symbol. Its grammars equal scikit-sequitur's symbol for symbol on every
 * input the tests compare.
 *
 * Rules are circular doubly linked lists of symbols headed by a guard symbol.
 * Symbols live in one growable array and are named by 32-bit indices, so the
 * array may move whenever a symbol is allocated: code holds indices, never
 * pointers, across allocations.
 *
 * The reference recurses (check -> match -> substitute -> check ...), and the
 * depth grows with the depth of the grammar. Here the pending steps go on an
 * explicit task stack instead, in the same order, so deep grammars cannot
 * overflow the C stack.
 *
 * Deleted symbols and expanded rules keep their fields until the current input
 * symbol is fully processed, because a pending task may still read them (as
 * the reference reads objects that are already unlinked). They are recycled
 * only between input symbols.
 */
#include "sequitur.h"

#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

#define NIL UINT32_MAX

/* Working encoding of symbol values (the exported encoding differs only in
 * the rule numbers, which are renumbered breadth-first at the end):
 *   value >= 0                          terminal
 *   GUARD_BASE < value < 0              non-terminal of rule slot -(value + 1)
 *   SQ_SEPARATOR < value <= GUARD_BASE  guard of rule slot GUARD_BASE - value
 *   value == SQ_SEPARATOR               session separator */
#define GUARD_BASE (-((int64_t)1 << 62))

typedef struct {
    uint32_t prev, next;
    int64_t value;
} symbol_t;

/* One slot of the digram table (open addressing, linear probing). The key is
 * not stored: it is always the current digram of `symbol`, because a symbol's
 * digram is removed from the table before its successor changes. Eight-byte
 * slots keep the table small, and the table's cache misses dominate the run
 * time on inputs with many distinct digrams. */
typedef struct {
    uint32_t symbol; /* first symbol of the digram; NIL marks an empty slot */
    uint32_t hash;
} slot_t;

typedef struct {
    uint32_t *items;
    size_t size, capacity;
} index_stack;

enum { TASK_SUBSTITUTE, TASK_FINISH_NEW_RULE, TASK_FINISH_REUSED_RULE };

typedef struct {
    uint32_t kind, symbol, rule;
} task_t;

typedef struct {
    symbol_t *sym;
    size_t num_sym, cap_sym;
    /* recorded[s] != 0 while the digram table records s; it spares the table
     * lookup when a digram that was never recorded goes away. */
    uint8_t *recorded;
    size_t cap_recorded;

    uint32_t *rule_guard; /* rule slot -> its guard symbol */
    uint32_t *rule_count; /* rule slot -> number of non-terminals naming it */
    size_t num_rules, cap_rules;

    index_stack free_sym, pending_sym, free_rules, pending_rules;

    slot_t *table;
    size_t table_mask, table_used;

    task_t *tasks;
    size_t num_tasks, cap_tasks;

    jmp_buf out_of_memory;
} builder;

struct sq_grammar {
    int64_t num_rules, num_symbols;
    int64_t *symbols, *offsets;
};

/* --- encoding ----------------------------------------------------------- */

static int is_plain(int64_t v) { return v > GUARD_BASE; } /* terminal or non-terminal */
static int is_guard(int64_t v) { return v <= GUARD_BASE && v != SQ_SEPARATOR; }
static int is_nonterminal(int64_t v) { return v < 0 && v > GUARD_BASE; }
static uint32_t rule_of_nonterminal(int64_t v) { return (uint32_t)(-(v + 1)); }
static uint32_t rule_of_guard(int64_t v) { return (uint32_t)(GUARD_BASE - v); }
static int64_t nonterminal_of(uint32_t r) { return -1 - (int64_t)r; }
static int64_t guard_of(uint32_t r) { return GUARD_BASE - (int64_t)r; }

/* --- memory ------------------------------------------------------------- */

/* Grow *array to hold at least `need` items of `size` bytes, or jump out. */
static void reserve(builder *b, void **array, size_t *capacity, size_t size, size_t need)
{
    size_t new_capacity;
    void *grown;

    if (need <= *capacity)
        return;
    new_capacity = *capacity ? *capacity : 64;
    while (new_capacity < need)
        new_capacity *= 2;
    grown = realloc(*array, new_capacity * size);
    if (grown == NULL)
        longjmp(b->out_of_memory, 1);
    *array = grown;
    *capacity = new_capacity;
}

static void push_index(builder *b, index_stack *stack, uint32_t item)
{
    reserve(b, (void **)&stack->items, &stack->capacity, sizeof(uint32_t), stack->size + 1);
    stack->items[stack->size++] = item;
}

/* Move every item of `from` onto `to`. */
static void move_indices(builder *b, index_stack *from, index_stack *to)
{
    if (from->size == 0)
        return;
    reserve(b, (void **)&to->items, &to->capacity, sizeof(uint32_t), to->size + from->size);
    memcpy(to->items + to->size, from->items, from->size * sizeof(uint32_t));
    to->size += from->size;
    from->size = 0;
}

static void reserve_symbols(builder *b, size_t need)
{
    reserve(b, (void **)&b->sym, &b->cap_sym, sizeof(symbol_t), need);
    reserve(b, (void **)&b->recorded, &b->cap_recorded, sizeof(uint8_t), need);
}

static uint32_t new_symbol(builder *b, int64_t value)
{
    uint32_t s;

    if (b->free_sym.size > 0) {
        s = b->free_sym.items[--b->free_sym.size];
    } else {
        reserve_symbols(b, b->num_sym + 1);
        s = (uint32_t)b->num_sym++;
    }
    b->recorded[s] = 0;
    b->sym[s].prev = NIL;
    b->sym[s].next = NIL;
    b->sym[s].value = value;
    if (is_nonterminal(value))
        b->rule_count[rule_of_nonterminal(value)]++;
    return s;
}

static uint32_t new_rule(builder *b)
{
    uint32_t r, guard;

    if (b->free_rules.size > 0) {
        r = b->free_rules.items[--b->free_rules.size];
    } else {
        size_t cap = b->cap_rules;
        reserve(b, (void **)&b->rule_guard, &cap, sizeof(uint32_t), b->num_rules + 1);
        cap = b->cap_rules;
        reserve(b, (void **)&b->rule_count, &cap, sizeof(uint32_t), b->num_rules + 1);
        b->cap_rules = cap;
        r = (uint32_t)b->num_rules++;
    }
    b->rule_count[r] = 0;
    guard = new_symbol(b, guard_of(r));
    b->sym[guard].prev = guard;
    b->sym[guard].next = guard;
    b->rule_guard[r] = guard;
    return r;
}

static void push_task(builder *b, uint32_t kind, uint32_t symbol, uint32_t rule)
{
    reserve(b, (void **)&b->tasks, &b->cap_tasks, sizeof(task_t), b->num_tasks + 1);
    b->tasks[b->num_tasks].kind = kind;
    b->tasks[b->num_tasks].symbol = symbol;
    b->tasks[b->num_tasks].rule = rule;
    b->num_tasks++;
}

/* --- digram table ------------------------------------------------------- */

static uint32_t hash_digram(int64_t first, int64_t second)
{
    uint64_t h = (uint64_t)first * 0x9E3779B97F4A7C15u;
    h ^= (uint64_t)second + 0x632BE59BD9B4E019u + (h << 6) + (h >> 2);
    h ^= h >> 33;
    h *= 0xFF51AFD7ED558CCDu;
    h ^= h >> 33;
    return (uint32_t)h;
}

/* Return the slot holding (first, second), or the empty slot where it would go. */
static size_t find_slot(const builder *b, int64_t first, int64_t second, uint32_t hash)
{
    size_t i = hash & b->table_mask;

    for (;;) {
        const slot_t *slot = &b->table[i];
        if (slot->symbol == NIL)
            return i;
        if (slot->hash == hash) {
            const symbol_t *s = &b->sym[slot->symbol];
            if (s->value == first && b->sym[s->next].value == second)
                return i;
        }
        i = (i + 1) & b->table_mask;
    }
}

/* Return the first empty slot on hash's probe run (rehashing: keys are distinct). */
static size_t find_empty_slot(const builder *b, uint32_t hash)
{
    size_t i = hash & b->table_mask;

    while (b->table[i].symbol != NIL)
        i = (i + 1) & b->table_mask;
    return i;
}

static void allocate_table(builder *b, size_t capacity)
{
    size_t i;

    b->table = malloc(capacity * sizeof(slot_t));
    if (b->table == NULL)
        longjmp(b->out_of_memory, 1);
    for (i = 0; i < capacity; i++)
        b->table[i].symbol = NIL;
    b->table_mask = capacity - 1;
}

/* Double the table when it is half full, keeping probe sequences short. */
static void grow_table_if_needed(builder *b)
{
    slot_t *old = b->table;
    size_t old_capacity = b->table_mask + 1, i;

    if (2 * b->table_used <= old_capacity)
        return;
    allocate_table(b, 2 * old_capacity);
    for (i = 0; i < old_capacity; i++) {
        if (old[i].symbol != NIL)
            b->table[find_empty_slot(b, old[i].hash)] = old[i];
    }
    free(old);
}

/* Empty slot i, shifting later entries of its probe run back (no tombstones). */
static void clear_slot(builder *b, size_t i)
{
    size_t j = i, mask = b->table_mask;

    b->recorded[b->table[i].symbol] = 0;
    for (;;) {
        size_t home;
        j = (j + 1) & mask;
        if (b->table[j].symbol == NIL)
            break;
        home = b->table[j].hash & mask;
        /* The entry at j may move to i unless its home lies cyclically in (i, j]. */
        if ((i <= j) ? (i < home && home <= j) : (i < home || home <= j))
            continue;
        b->table[i] = b->table[j];
        i = j;
    }
    b->table[i].symbol = NIL;
    b->table_used--;
}

/* Store symbol s in the empty slot i. */
static void record(builder *b, size_t i, uint32_t s, uint32_t hash)
{
    b->table[i].hash = hash;
    b->table[i].symbol = s;
    b->recorded[s] = 1;
    b->table_used++;
    grow_table_if_needed(b);
}

/* Whether symbol s and its successor form a digram the table may hold:
 * guards and separators never take part in one. */
static int has_digram(const builder *b, uint32_t s)
{
    uint32_t n = b->sym[s].next;
    return n != NIL && is_plain(b->sym[s].value) && is_plain(b->sym[n].value);
}

/* Record s as the occurrence of its digram, replacing any other. */
static void set_digram(builder *b, uint32_t s)
{
    int64_t first, second;
    uint32_t hash;
    size_t i;

    if (!has_digram(b, s))
        return;
    first = b->sym[s].value;
    second = b->sym[b->sym[s].next].value;
    hash = hash_digram(first, second);
    i = find_slot(b, first, second, hash);
    if (b->table[i].symbol == NIL) {
        record(b, i, s, hash);
        return;
    }
    b->recorded[b->table[i].symbol] = 0;
    b->table[i].symbol = s;
    b->recorded[s] = 1;
}

/* Forget s's digram if the table records s as its occurrence. */
static void remove_digram(builder *b, uint32_t s)
{
    int64_t first, second;
    size_t i;

    if (!b->recorded[s])
        return;
    first = b->sym[s].value;
    second = b->sym[b->sym[s].next].value;
    i = find_slot(b, first, second, hash_digram(first, second));
    if (b->table[i].symbol == s)
        clear_slot(b, i);
}

/* --- grammar edits (the reference's symbol operations) ------------------ */

static int same_value(const builder *b, uint32_t x, uint32_t y)
{
    return is_plain(b->sym[x].value) && b->sym[x].value == b->sym[y].value;
}

/* Link left -> right. In a run "b b b" the table records only the second of
 * the two overlapping digrams, so when that one goes away the first must be
 * recorded again (the reference's fix for inputs such as "abbbabcbb"). */
static void join(builder *b, uint32_t left, uint32_t right)
{
    if (b->sym[left].next != NIL) {
        uint32_t before, after;

        remove_digram(b, left);

        before = b->sym[right].prev;
        after = b->sym[right].next;
        if (before != NIL && after != NIL && same_value(b, right, before) &&
            same_value(b, right, after))
            set_digram(b, right);

        before = b->sym[left].prev;
        after = b->sym[left].next;
        if (before != NIL && after != NIL && same_value(b, left, before) &&
            same_value(b, left, after))
            set_digram(b, before);
    }
    b->sym[left].next = right;
    b->sym[right].prev = left;
}

static uint32_t insert_after(builder *b, uint32_t s, int64_t value)
{
    uint32_t n = new_symbol(b, value);

    join(b, n, b->sym[s].next);
    join(b, s, n);
    return n;
}

static void delete_symbol(builder *b, uint32_t s)
{
    join(b, b->sym[s].prev, b->sym[s].next);
    remove_digram(b, s);
    if (is_nonterminal(b->sym[s].value))
        b->rule_count[rule_of_nonterminal(b->sym[s].value)]--;
    push_index(b, &b->pending_sym, s);
}

/* Replace non-terminal s, the last use of its rule, by the rule's body. */
static void expand_symbol(builder *b, uint32_t s)
{
    uint32_t left = b->sym[s].prev, right = b->sym[s].next;
    uint32_t r = rule_of_nonterminal(b->sym[s].value);
    uint32_t guard = b->rule_guard[r];
    uint32_t first = b->sym[guard].next, last = b->sym[guard].prev;

    remove_digram(b, s);
    join(b, left, first);
    join(b, last, right);
    set_digram(b, last);
    push_index(b, &b->pending_sym, s);
    push_index(b, &b->pending_sym, guard);
    push_index(b, &b->pending_rules, r);
}

/* Schedule the reaction to digram s occurring again at m: reuse m's rule when
 * m is a rule's whole body, else make a new rule and substitute both places.
 * Tasks run last in, first out, so they reproduce the reference's call order. */
static void schedule_match(builder *b, uint32_t s, uint32_t m)
{
    uint32_t before = b->sym[m].prev;
    uint32_t after = b->sym[b->sym[m].next].next;
    uint32_t r, guard;

    if (is_guard(b->sym[before].value) && is_guard(b->sym[after].value)) {
        r = rule_of_guard(b->sym[before].value);
        push_task(b, TASK_FINISH_REUSED_RULE, NIL, r);
        push_task(b, TASK_SUBSTITUTE, s, r);
        return;
    }

    r = new_rule(b);
    guard = b->rule_guard[r];
    insert_after(b, b->sym[guard].prev, b->sym[s].value);
    insert_after(b, b->sym[guard].prev, b->sym[b->sym[s].next].value);
    push_task(b, TASK_FINISH_NEW_RULE, NIL, r);
    push_task(b, TASK_SUBSTITUTE, s, r);
    push_task(b, TASK_SUBSTITUTE, m, r);
}

/* Look up the digram starting at s: record it when new, schedule a match when
 * it occurs elsewhere without overlap. Returns whether it was already known. */
static int check(builder *b, uint32_t s)
{
    int64_t first, second;
    uint32_t hash, m;
    size_t i;

    if (!has_digram(b, s))
        return 0;
    first = b->sym[s].value;
    second = b->sym[b->sym[s].next].value;
    hash = hash_digram(first, second);
    i = find_slot(b, first, second, hash);
    if (b->table[i].symbol == NIL) {
        record(b, i, s, hash);
        return 0;
    }
    m = b->table[i].symbol;
    if (b->sym[m].next != s)
        schedule_match(b, s, m);
    return 1;
}

/* Replace the digram starting at s by non-terminal r, then check the two new digrams. */
static void substitute(builder *b, uint32_t s, uint32_t r)
{
    uint32_t p = b->sym[s].prev;

    delete_symbol(b, b->sym[p].next);
    delete_symbol(b, b->sym[p].next);
    insert_after(b, p, nonterminal_of(r));
    if (!check(b, p))
        check(b, b->sym[p].next);
}

/* Last step of a match: record a new rule's body digram, then expand the
 * rule's first symbol if that names a rule now used only once. */
static void finish_rule(builder *b, uint32_t r, int is_new)
{
    uint32_t first = b->sym[b->rule_guard[r]].next;
    int64_t value;

    if (is_new)
        set_digram(b, first);
    value = b->sym[first].value;
    if (is_nonterminal(value) && b->rule_count[rule_of_nonterminal(value)] == 1)
        expand_symbol(b, first);
}

static void run_tasks(builder *b)
{
    while (b->num_tasks > 0) {
        task_t task = b->tasks[--b->num_tasks];
        switch (task.kind) {
        case TASK_SUBSTITUTE:
            substitute(b, task.symbol, task.rule);
            break;
        case TASK_FINISH_NEW_RULE:
            finish_rule(b, task.rule, 1);
            break;
        default:
            finish_rule(b, task.rule, 0);
            break;
        }
    }
}

/* Append one input symbol to rule 0 and restore both invariants. */
static void append_input(builder *b, int64_t value)
{
    uint32_t guard = b->rule_guard[0];
    uint32_t last = insert_after(b, b->sym[guard].prev, value);

    check(b, b->sym[last].prev);
    run_tasks(b);
    move_indices(b, &b->pending_sym, &b->free_sym);
    move_indices(b, &b->pending_rules, &b->free_rules);
}

/* --- export ------------------------------------------------------------- */

/* Number the live rules breadth-first from rule 0 and copy them out. */
static void export_grammar(builder *b, sq_grammar *g)
{
    int64_t *number = NULL;
    uint32_t *queue = NULL;
    size_t head, tail = 0, total = 0, i;
    uint32_t s;

    number = malloc(b->num_rules * sizeof(int64_t));
    queue = malloc(b->num_rules * sizeof(uint32_t));
    if (number == NULL || queue == NULL) {
        free(number);
        free(queue);
        longjmp(b->out_of_memory, 1);
    }
    for (i = 0; i < b->num_rules; i++)
        number[i] = -1;

    /* 1. Breadth-first numbering; count the symbols on the way. */
    number[0] = 0;
    queue[tail++] = 0;
    for (head = 0; head < tail; head++) {
        uint32_t guard = b->rule_guard[queue[head]];
        for (s = b->sym[guard].next; s != guard; s = b->sym[s].next) {
            int64_t v = b->sym[s].value;
            total++;
            if (is_nonterminal(v) && number[rule_of_nonterminal(v)] < 0) {
                number[rule_of_nonterminal(v)] = (int64_t)tail;
                queue[tail++] = rule_of_nonterminal(v);
            }
        }
    }

    /* 2. Copy the bodies in rule-number order with the new numbers. */
    g->num_rules = (int64_t)tail;
    g->num_symbols = (int64_t)total;
    g->symbols = malloc((total ? total : 1) * sizeof(int64_t));
    g->offsets = malloc((tail + 1) * sizeof(int64_t));
    if (g->symbols == NULL || g->offsets == NULL) {
        free(number);
        free(queue);
        longjmp(b->out_of_memory, 1);
    }
    total = 0;
    for (head = 0; head < tail; head++) {
        uint32_t guard = b->rule_guard[queue[head]];
        g->offsets[head] = (int64_t)total;
        for (s = b->sym[guard].next; s != guard; s = b->sym[s].next) {
            int64_t v = b->sym[s].value;
            g->symbols[total++] = is_nonterminal(v) ? -1 - number[rule_of_nonterminal(v)] : v;
        }
    }
    g->offsets[tail] = (int64_t)total;
    free(number);
    free(queue);
}

static void free_builder(builder *b)
{
    free(b->sym);
    free(b->recorded);
    free(b->rule_guard);
    free(b->rule_count);
    free(b->free_sym.items);
    free(b->pending_sym.items);
    free(b->free_rules.items);
    free(b->pending_rules.items);
    free(b->table);
    free(b->tasks);
    free(b);
}

static int check_input(const int64_t *events, int64_t num_events, const int64_t *session_starts,
                       int64_t num_sessions, int64_t *bad_index)
{
    int64_t i;

    if (num_events < 0 || num_sessions < 0 || num_events + num_sessions > SQ_MAX_INPUT)
        return SQ_ERR_TOO_LONG;
    for (i = 0; i < num_events; i++) {
        if (events[i] < 0) {
            *bad_index = i;
            return SQ_ERR_NEGATIVE_EVENT;
        }
    }
    for (i = 0; i < num_sessions; i++) {
        int64_t start = session_starts[i];
        int first_ok = (i > 0) || start == 0;
        int order_ok = (i == 0) || start > session_starts[i - 1];
        if (!first_ok || !order_ok || start >= num_events) {
            *bad_index = i;
            return SQ_ERR_BAD_SESSIONS;
        }
    }
    return SQ_OK;
}

/* Feed every event, with a separator before each session but the first. */
static void build_grammar(builder *b, sq_grammar *g, const int64_t *events, int64_t num_events,
                          const int64_t *session_starts, int64_t num_sessions)
{
    int64_t i, next_session = 1;

    allocate_table(b, 1024);
    reserve_symbols(b, (size_t)num_events + 64);
    new_rule(b); /* rule 0 */
    for (i = 0; i < num_events; i++) {
        if (next_session < num_sessions && session_starts[next_session] == i) {
            append_input(b, SQ_SEPARATOR);
            next_session++;
        }
        append_input(b, events[i]);
    }
    export_grammar(b, g);
}

/* Run build_grammar; an allocation failure inside jumps back here. */
static int build_or_jump(builder *b, sq_grammar *g, const int64_t *events, int64_t num_events,
                         const int64_t *session_starts, int64_t num_sessions)
{
    if (setjmp(b->out_of_memory) != 0)
        return SQ_ERR_NOMEM;
    build_grammar(b, g, events, num_events, session_starts, num_sessions);
    return SQ_OK;
}

int sq_build(const int64_t *events, int64_t num_events,
             const int64_t *session_starts, int64_t num_sessions,
             sq_grammar **out, int64_t *bad_index)
{
    builder *b;
    sq_grammar *g;
    int code;

    *out = NULL;
    *bad_index = -1;
    code = check_input(events, num_events, session_starts,
                       session_starts == NULL ? 0 : num_sessions, bad_index);
    if (code != SQ_OK)
        return code;

    b = calloc(1, sizeof(builder));
    g = calloc(1, sizeof(sq_grammar));
    if (b == NULL || g == NULL) {
        free(b);
        free(g);
        return SQ_ERR_NOMEM;
    }
    if (build_or_jump(b, g, events, num_events, session_starts,
                      session_starts == NULL ? 0 : num_sessions) != SQ_OK) {
        free(g->symbols);
        free(g->offsets);
        free(g);
        free_builder(b);
        return SQ_ERR_NOMEM;
    }
    free_builder(b);
    *out = g;
    return SQ_OK;
}

int64_t sq_grammar_num_rules(const sq_grammar *grammar) { return grammar->num_rules; }

int64_t sq_grammar_num_symbols(const sq_grammar *grammar) { return grammar->num_symbols; }

void sq_grammar_export(const sq_grammar *grammar, int64_t *symbols, int64_t *offsets)
{
    memcpy(symbols, grammar->symbols, (size_t)grammar->num_symbols * sizeof(int64_t));
    memcpy(offsets, grammar->offsets, (size_t)(grammar->num_rules + 1) * sizeof(int64_t));
}

void sq_grammar_free(sq_grammar *grammar)
{
    if (grammar == NULL)
        return;
    free(grammar->symbols);
    free(grammar->offsets);
    free(grammar);
}

/* --- operations on exported grammars ----------------------------------- */

static int is_exported_nonterminal(int64_t v) { return v < 0 && v != SQ_SEPARATOR; }

int sq_topological_order(const int64_t *symbols, const int64_t *offsets, int64_t num_rules,
                         int64_t *order)
{
    int64_t *indegree, head = 0, tail = 0, r, i;

    if (num_rules <= 0)
        return SQ_OK;
    indegree = calloc((size_t)num_rules, sizeof(int64_t));
    if (indegree == NULL)
        return SQ_ERR_NOMEM;

    /* 1. Count the uses of every rule; reject references to missing rules. */
    for (i = 0; i < offsets[num_rules]; i++) {
        if (is_exported_nonterminal(symbols[i])) {
            int64_t child = -(symbols[i] + 1);
            if (child >= num_rules) {
                free(indegree);
                return SQ_ERR_BAD_RULE;
            }
            indegree[child]++;
        }
    }

    /* 2. Kahn's algorithm: a rule is emitted once every parent has been. */
    for (r = 0; r < num_rules; r++) {
        if (indegree[r] == 0)
            order[tail++] = r;
    }
    while (head < tail) {
        r = order[head++];
        for (i = offsets[r]; i < offsets[r + 1]; i++) {
            if (is_exported_nonterminal(symbols[i]) && --indegree[-(symbols[i] + 1)] == 0)
                order[tail++] = -(symbols[i] + 1);
        }
    }
    free(indegree);
    return tail == num_rules ? SQ_OK : SQ_ERR_CYCLE;
}

int sq_rule_lengths(const int64_t *symbols, const int64_t *offsets, int64_t num_rules,
                    int64_t *lengths)
{
    int64_t *order, k, i;
    int code;

    if (num_rules <= 0)
        return SQ_OK;
    order = malloc((size_t)num_rules * sizeof(int64_t));
    if (order == NULL)
        return SQ_ERR_NOMEM;
    code = sq_topological_order(symbols, offsets, num_rules, order);
    if (code != SQ_OK) {
        free(order);
        return code;
    }

    /* Children before parents: walk the order backwards. */
    for (k = num_rules - 1; k >= 0; k--) {
        int64_t r = order[k], length = 0;
        for (i = offsets[r]; i < offsets[r + 1]; i++) {
            int64_t part = is_exported_nonterminal(symbols[i]) ? lengths[-(symbols[i] + 1)] : 1;
            if (length > INT64_MAX - part) {
                free(order);
                return SQ_ERR_TOO_LONG;
            }
            length += part;
        }
        lengths[r] = length;
    }
    free(order);
    return SQ_OK;
}

int sq_expand(const int64_t *symbols, const int64_t *offsets, int64_t num_rules,
              int64_t rule, const uint8_t *keep, int64_t *out, int64_t capacity,
              int64_t *length)
{
    /* Explicit stack of read positions, one per open rule; an acyclic grammar
     * never nests deeper than num_rules. */
    int64_t *position, *stop, depth = 0, written = 0;
    int code = SQ_OK;

    *length = 0;
    if (rule < 0 || rule >= num_rules)
        return SQ_ERR_BAD_RULE;
    position = malloc((size_t)num_rules * sizeof(int64_t));
    stop = malloc((size_t)num_rules * sizeof(int64_t));
    if (position == NULL || stop == NULL) {
        free(position);
        free(stop);
        return SQ_ERR_NOMEM;
    }
    position[0] = offsets[rule];
    stop[0] = offsets[rule + 1];
    depth = 1;

    while (depth > 0) {
        int64_t v, child;

        if (position[depth - 1] == stop[depth - 1]) {
            depth--;
            continue;
        }
        v = symbols[position[depth - 1]++];
        child = is_exported_nonterminal(v) ? -(v + 1) : -1;
        if (child >= num_rules) {
            code = SQ_ERR_BAD_RULE;
            break;
        }
        if (child >= 0 && !(keep != NULL && keep[child])) {
            if (depth == num_rules) {
                code = SQ_ERR_CYCLE;
                break;
            }
            position[depth] = offsets[child];
            stop[depth] = offsets[child + 1];
            depth++;
            continue;
        }
        if (written == capacity) {
            code = SQ_ERR_CAPACITY;
            break;
        }
        out[written++] = v;
    }
    free(position);
    free(stop);
    *length = written;
    return code;
}

const char *sq_error_message(int code)
{
    switch (code) {
    case SQ_OK:
        return "no error";
    case SQ_ERR_NOMEM:
        return "out of memory";
    case SQ_ERR_NEGATIVE_EVENT:
        return "negative event value";
    case SQ_ERR_TOO_LONG:
        return "input or expansion too long";
    case SQ_ERR_BAD_SESSIONS:
        return "invalid session start";
    case SQ_ERR_BAD_RULE:
        return "non-terminal names a rule that does not exist";
    case SQ_ERR_CYCLE:
        return "rules refer to themselves";
    case SQ_ERR_CAPACITY:
        return "output buffer too small";
    default:
        return "unknown error code";
    }
}
