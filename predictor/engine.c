/* Online engine of compressed learning; see engine.h for the contract. The
 * algorithm numbers below are those of Guan et al., "Recurrent Neural Networks
 * Meet Context-Free Grammar: Two Birds with One Stone" (ACM TKDD, 2026).
 *
 * Token recognition uses an Aho-Corasick automaton over the token expansions,
 * built once. Its state after an event is the longest suffix of the session's
 * events that is a prefix of some expansion. The tokens whose expansion ends at
 * the event are then the state's own token and the chain of dictionary links,
 * longest first, and the first of them that starts at a token boundary of C wins.
 * Boundaries of the last few events are kept in a ring (bstart) so that test
 * is one load.
 *
 * Automaton edges live in one open-addressing hash table keyed by (node, event
 * value), so each event costs one or a few probes of that table.
 */
#include "engine.h"

#include <stdlib.h>
#include <string.h>

struct cl_engine {
    /* vocabulary */
    int32_t n_tokens;
    int64_t *tok_offsets;   /* (n_tokens + 1) into tok_events */
    int64_t *tok_events;    /* expansions, concatenated */
    int32_t max_len;        /* maximum expansion length, at least 1 */

    /* Aho-Corasick automaton, node 0 is the root */
    int32_t n_nodes;
    int32_t *fail;
    int32_t *out_tok;       /* token whose expansion spells the node, or -1 */
    int32_t *dict_link;     /* nearest proper suffix node with a token, 0 if none */
    int32_t *depth;
    int64_t *edge_events;   /* edge label (event value) */
    int32_t *edge_nodes;    /* edge source node */
    int32_t *edge_vals;     /* edge target node, -1 marks an empty slot */
    uint64_t edge_mask;

    /* session state */
    int32_t node;
    int64_t pos;            /* events seen in this session */
    int64_t *bstart;        /* bstart[p & bmask] == p iff event p starts a token of C */
    uint64_t bmask;
    int64_t *c_tok;         /* ring of C's tokens, indexed by position in C */
    int64_t *c_start;       /* event position where each token starts */
    uint64_t cmask;
    int64_t c_len, cursor, fed;
    const int64_t *pend;    /* pending predicted events */
    int32_t pend_len, pend_i, has_pend, awaiting;
    int32_t pend_never;     /* the pending prediction is the unknown token: never matches */

    int64_t *feed;          /* tokens to feed, capacity max_len + 2 */
    cl_counters count;
};

static uint64_t mix(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    return x;
}

static uint64_t pow2_at_least(uint64_t n)
{
    uint64_t size = 16;
    while (size < n)
        size <<= 1;
    return size;
}

static uint64_t edge_slot(const cl_engine *e, int32_t node, int64_t event)
{
    return mix((uint64_t)event * 0x9e3779b97f4a7c15ULL + (uint64_t)(uint32_t)node) & e->edge_mask;
}

static int32_t child_of(const cl_engine *e, int32_t node, int64_t event)
{
    uint64_t slot = edge_slot(e, node, event);
    while (e->edge_vals[slot] >= 0) {
        if (e->edge_events[slot] == event && e->edge_nodes[slot] == node)
            return e->edge_vals[slot];
        slot = (slot + 1) & e->edge_mask;
    }
    return -1;
}

static void add_child(cl_engine *e, int32_t node, int64_t event, int32_t child)
{
    uint64_t slot = edge_slot(e, node, event);
    while (e->edge_vals[slot] >= 0)
        slot = (slot + 1) & e->edge_mask;
    e->edge_events[slot] = event;
    e->edge_nodes[slot] = node;
    e->edge_vals[slot] = child;
}

/* Insert every expansion into the trie; the lowest token id wins a tie. */
static void build_trie(cl_engine *e, int64_t *label)
{
    e->n_nodes = 1;
    e->out_tok[0] = -1;
    e->depth[0] = 0;
    for (int32_t k = 1; k < e->n_tokens; k++) {
        int32_t node = 0;
        for (int64_t i = e->tok_offsets[k]; i < e->tok_offsets[k + 1]; i++) {
            int64_t d = e->tok_events[i];
            int32_t next = child_of(e, node, d);
            if (next < 0) {
                next = e->n_nodes++;
                e->out_tok[next] = -1;
                e->depth[next] = e->depth[node] + 1;
                label[next] = d;
                add_child(e, node, d, next);
            }
            node = next;
        }
        if (node != 0 && e->out_tok[node] < 0)
            e->out_tok[node] = k;
    }
}

/* Failure and dictionary links, computed in order of depth so that every
 * link target (always shallower) is done first. */
static int build_links(cl_engine *e, const int64_t *label, const int32_t *parent)
{
    int32_t n = e->n_nodes;
    int32_t *order = malloc(sizeof(int32_t) * (size_t)n);
    int64_t *bucket = calloc((size_t)e->max_len + 2, sizeof(int64_t));
    if (!order || !bucket) {
        free(order);
        free(bucket);
        return -1;
    }
    for (int32_t v = 0; v < n; v++)
        bucket[e->depth[v] + 1]++;
    for (int32_t d = 1; d <= e->max_len + 1; d++)
        bucket[d] += bucket[d - 1];
    for (int32_t v = 0; v < n; v++)
        order[bucket[e->depth[v]]++] = v;

    e->fail[0] = 0;
    e->dict_link[0] = 0;
    for (int32_t j = 1; j < n; j++) {
        int32_t v = order[j];
        int32_t f = 0;
        if (e->depth[v] > 1) {
            f = e->fail[parent[v]];
            int32_t next = child_of(e, f, label[v]);
            while (next < 0 && f != 0) {
                f = e->fail[f];
                next = child_of(e, f, label[v]);
            }
            f = next >= 0 ? next : 0;
        }
        e->fail[v] = f;
        e->dict_link[v] = e->out_tok[f] >= 0 ? f : e->dict_link[f];
    }
    free(order);
    free(bucket);
    return 0;
}

static int build_automaton(cl_engine *e, int64_t total)
{
    int64_t *label = malloc(sizeof(int64_t) * (size_t)(total + 1));
    int32_t *parent = malloc(sizeof(int32_t) * (size_t)(total + 1));
    int rc = -1;
    if (!label || !parent)
        goto done;
    build_trie(e, label);

    /* recover each node's parent from the edge table */
    for (uint64_t slot = 0; slot <= e->edge_mask; slot++)
        if (e->edge_vals[slot] >= 0)
            parent[e->edge_vals[slot]] = e->edge_nodes[slot];
    rc = build_links(e, label, parent);
done:
    free(label);
    free(parent);
    return rc;
}

cl_engine *cl_engine_new(int32_t n_tokens, const int64_t *offsets, const int64_t *events,
                         int64_t history)
{
    cl_engine *e = calloc(1, sizeof(cl_engine));
    if (!e || n_tokens < 1)
        goto fail;
    int64_t total = offsets[n_tokens] - offsets[0];
    e->n_tokens = n_tokens;
    e->max_len = 1;
    for (int32_t k = 0; k < n_tokens; k++)
        if (offsets[k + 1] - offsets[k] > e->max_len)
            e->max_len = (int32_t)(offsets[k + 1] - offsets[k]);

    /* vocabulary */
    e->tok_offsets = malloc(sizeof(int64_t) * ((size_t)n_tokens + 1));
    e->tok_events = malloc(sizeof(int64_t) * (size_t)(total + 1));
    if (!e->tok_offsets || !e->tok_events)
        goto fail;
    for (int32_t k = 0; k <= n_tokens; k++)
        e->tok_offsets[k] = offsets[k] - offsets[0];
    memcpy(e->tok_events, events + offsets[0], sizeof(int64_t) * (size_t)total);

    /* automaton */
    size_t max_nodes = (size_t)total + 1;
    e->fail = malloc(sizeof(int32_t) * max_nodes);
    e->out_tok = malloc(sizeof(int32_t) * max_nodes);
    e->dict_link = malloc(sizeof(int32_t) * max_nodes);
    e->depth = malloc(sizeof(int32_t) * max_nodes);
    e->edge_mask = pow2_at_least(2 * max_nodes + 2) - 1;
    e->edge_events = malloc(sizeof(int64_t) * (e->edge_mask + 1));
    e->edge_nodes = malloc(sizeof(int32_t) * (e->edge_mask + 1));
    e->edge_vals = malloc(sizeof(int32_t) * (e->edge_mask + 1));
    if (!e->fail || !e->out_tok || !e->dict_link || !e->depth || !e->edge_events
        || !e->edge_nodes || !e->edge_vals)
        goto fail;
    memset(e->edge_vals, 0xff, sizeof(int32_t) * (e->edge_mask + 1));
    if (build_automaton(e, total) != 0)
        goto fail;

    /* Session buffers. The engine reads at most the last 2 * max_len + 1 tokens
     * of C, because a model call comes at least every max_len events and a
     * replacement removes fewer than max_len tokens. */
    e->bmask = pow2_at_least((uint64_t)e->max_len + 2) - 1;
    uint64_t keep = 2 * (uint64_t)e->max_len + 4;
    if (history > 0 && (uint64_t)history > keep)
        keep = (uint64_t)history;
    e->cmask = pow2_at_least(keep) - 1;
    e->bstart = malloc(sizeof(int64_t) * (e->bmask + 1));
    e->c_tok = malloc(sizeof(int64_t) * (e->cmask + 1));
    e->c_start = malloc(sizeof(int64_t) * (e->cmask + 1));
    e->feed = malloc(sizeof(int64_t) * ((size_t)e->max_len + 2));
    if (!e->bstart || !e->c_tok || !e->c_start || !e->feed)
        goto fail;
    cl_engine_reset(e);
    return e;
fail:
    cl_engine_free(e);
    return NULL;
}

void cl_engine_free(cl_engine *e)
{
    if (!e)
        return;
    free(e->tok_offsets);
    free(e->tok_events);
    free(e->fail);
    free(e->out_tok);
    free(e->dict_link);
    free(e->depth);
    free(e->edge_events);
    free(e->edge_nodes);
    free(e->edge_vals);
    free(e->bstart);
    free(e->c_tok);
    free(e->c_start);
    free(e->feed);
    free(e);
}

void cl_engine_reset(cl_engine *e)
{
    e->node = 0;
    e->pos = 0;
    memset(e->bstart, 0xff, sizeof(int64_t) * (e->bmask + 1));
    e->c_len = e->cursor = e->fed = 0;
    e->pend = NULL;
    e->pend_len = e->pend_i = e->has_pend = e->awaiting = e->pend_never = 0;
}

/* Algorithm 2 (TOKENIZE): recognize the token ending at event position t,
 * replace the suffix of C it covers, and move the cursor back when that
 * suffix reaches before it. */
static void tokenize(cl_engine *e, int64_t event, int64_t t)
{
    /* advance the automaton along failure links until the event extends a match */
    int32_t node = e->node;
    int32_t next = child_of(e, node, event);
    while (next < 0 && node != 0) {
        node = e->fail[node];
        next = child_of(e, node, event);
    }
    node = next >= 0 ? next : 0;
    e->node = node;

    /* longest token ending here that starts at a token boundary */
    int64_t token = 0, length = 1;
    int32_t m = e->out_tok[node] >= 0 ? node : e->dict_link[node];
    while (m != 0) {
        int64_t p = t - e->depth[m] + 1;
        if (e->depth[m] == 1 || e->bstart[p & e->bmask] == p) {
            token = e->out_tok[m];
            length = e->depth[m];
            break;
        }
        m = e->dict_link[m];
    }

    /* replace the covered suffix of C */
    int64_t start = t - length + 1;
    e->bstart[t & e->bmask] = -1;
    while (e->c_len > 0 && e->c_start[(e->c_len - 1) & e->cmask] >= start) {
        int64_t s = e->c_start[(e->c_len - 1) & e->cmask];
        if (s != start)
            e->bstart[s & e->bmask] = -1;
        e->c_len--;
    }
    e->c_tok[e->c_len & e->cmask] = token;
    e->c_start[e->c_len & e->cmask] = start;
    e->bstart[start & e->bmask] = start;
    e->c_len++;

    if (e->c_len - 1 < e->cursor) {
        e->cursor = e->c_len - 1;
        e->count.rollbacks++;
    }
}

int cl_engine_run(cl_engine *e, const int64_t *events, int64_t n, int64_t *pos,
                  cl_request *request)
{
    if (e->awaiting)
        return CL_ERR_STATE;
    for (int64_t i = *pos; i < n; i++) {
        tokenize(e, events[i], e->pos);
        e->pos++;
        e->count.events++;

        /* Algorithm 1, line 10: predict on a miss or when the prediction is used up */
        int need = 1;
        if (e->has_pend) {
            int hit = !e->pend_never && e->pend[e->pend_i] == events[i];
            e->count.correct += hit;
            need = !hit || e->pend_i == e->pend_len - 1;
            e->pend_i++;
        }
        if (!need)
            continue;

        int64_t feed_len = e->c_len - e->cursor;
        for (int64_t j = 0; j < feed_len; j++)
            e->feed[j] = e->c_tok[(e->cursor + j) & e->cmask];
        request->event = i;
        request->rollback = e->fed - e->cursor;
        request->feed_len = feed_len;
        e->count.predictions++;
        e->count.model_inputs += feed_len;
        e->awaiting = 1;
        *pos = i + 1;
        return CL_NEED_MODEL;
    }
    *pos = n;
    return CL_DONE;
}

int cl_engine_predicted(cl_engine *e, int64_t token)
{
    if (!e->awaiting)
        return CL_ERR_STATE;
    if (token < 0 || token >= e->n_tokens)
        return CL_ERR_TOKEN;
    int64_t length = e->tok_offsets[token + 1] - e->tok_offsets[token];
    e->pend = e->tok_events + e->tok_offsets[token];
    e->pend_len = length > 0 ? (int32_t)length : 1;
    e->pend_never = length == 0;
    e->pend_i = 0;
    e->has_pend = 1;
    e->count.covered += e->pend_len;
    e->cursor = e->fed = e->c_len;
    e->awaiting = 0;
    return 0;
}

int cl_engine_resume(cl_engine *e, int64_t token, const int64_t *events, int64_t n,
                     int64_t *pos, cl_request *request)
{
    int status = cl_engine_predicted(e, token);
    if (status != 0)
        return status;
    return cl_engine_run(e, events, n, pos, request);
}

const int64_t *cl_engine_feed_buffer(const cl_engine *e)
{
    return e->feed;
}

int64_t cl_engine_max_feed(const cl_engine *e)
{
    return (int64_t)e->max_len + 2;
}

int32_t cl_engine_max_token_length(const cl_engine *e)
{
    return e->max_len;
}

void cl_engine_counters(const cl_engine *e, cl_counters *out)
{
    *out = e->count;
}

void cl_engine_position(const cl_engine *e, int64_t *length, int64_t *cursor)
{
    *length = e->c_len;
    *cursor = e->cursor;
}

int cl_engine_copy_tokens(const cl_engine *e, int64_t first, int64_t count, int64_t *out)
{
    if (first < 0 || count < 0 || first + count > e->c_len
        || first < e->c_len - (int64_t)(e->cmask + 1))
        return -1;
    for (int64_t j = 0; j < count; j++)
        out[j] = e->c_tok[(first + j) & e->cmask];
    return 0;
}
