/* Online engine of compressed learning: tokenizer, prediction matching and
 * rollback bookkeeping over an array of events (plain C99, no Python API).
 *
 * The engine keeps the tokenized sequence C of the current session and a
 * cursor, the index in C of the first token not yet fed to the model. For each
 * event it appends or substitutes the longest vocabulary token that ends at the
 * event and starts at a token boundary of C, then compares the event with the
 * pending prediction. It stops and hands control back to the caller only when
 * the model has to run. The model itself (and its ring of hidden states) lives
 * with the caller; the engine only returns how many fed tokens to undo and which
 * tokens to feed.
 */
#ifndef CL_ENGINE_H
#define CL_ENGINE_H

#include <stdint.h>

typedef struct cl_engine cl_engine;

/* What the caller must do before calling cl_engine_predicted(). */
typedef struct {
    int64_t event;      /* index (in the array given to cl_engine_run) of the event just processed */
    int64_t rollback;   /* fed tokens to undo first: restore the state before the last `rollback` fed tokens */
    int64_t feed_len;   /* then feed the first feed_len tokens of cl_engine_feed_buffer() */
} cl_request;

/* Running totals over all sessions since cl_engine_new(). */
typedef struct {
    int64_t events;        /* events processed */
    int64_t predictions;   /* model calls requested */
    int64_t model_inputs;  /* tokens handed to the model */
    int64_t rollbacks;     /* tokenizations that moved the cursor back */
    int64_t correct;       /* events equal to the pending predicted event */
    int64_t covered;       /* sum of prediction lengths in events (an empty expansion counts 1) */
} cl_counters;

#define CL_DONE 0
#define CL_NEED_MODEL 1
#define CL_ERR_TOKEN (-1)   /* predicted token id outside the vocabulary */
#define CL_ERR_STATE (-2)   /* call order violated (run while a prediction is awaited, or the reverse) */

/* Build an engine for a vocabulary of n_tokens tokens whose expansions are
 * events[offsets[k] .. offsets[k + 1]). Token 0 is the unknown token. history
 * is the minimum number of tokens of C kept for cl_engine_copy_tokens (0 keeps
 * only what the engine needs). Returns NULL when memory runs out. */
cl_engine *cl_engine_new(int32_t n_tokens, const int64_t *offsets, const int64_t *events,
                         int64_t history);
void cl_engine_free(cl_engine *engine);

/* Start a new session: empty C, cursor 0, no pending prediction. */
void cl_engine_reset(cl_engine *engine);

/* Process events[*pos .. n). Returns CL_NEED_MODEL with *request filled and
 * *pos just past the event that needs a prediction, CL_DONE when all events are
 * processed, or CL_ERR_STATE. */
int cl_engine_run(cl_engine *engine, const int64_t *events, int64_t n, int64_t *pos,
                  cl_request *request);

/* Hand the model's predicted token to the engine after CL_NEED_MODEL. */
int cl_engine_predicted(cl_engine *engine, int64_t token);

/* cl_engine_predicted(token) followed by cl_engine_run(), in one call. */
int cl_engine_resume(cl_engine *engine, int64_t token, const int64_t *events, int64_t n,
                     int64_t *pos, cl_request *request);

/* Tokens to feed after CL_NEED_MODEL (capacity cl_engine_max_feed()). */
const int64_t *cl_engine_feed_buffer(const cl_engine *engine);
int64_t cl_engine_max_feed(const cl_engine *engine);
int32_t cl_engine_max_token_length(const cl_engine *engine);

void cl_engine_counters(const cl_engine *engine, cl_counters *out);

/* Length of C and the cursor in the current session. */
void cl_engine_position(const cl_engine *engine, int64_t *length, int64_t *cursor);

/* Copy C[first .. first + count) to out. Returns 0, or -1 when part of that
 * range is no longer kept. */
int cl_engine_copy_tokens(const cl_engine *engine, int64_t first, int64_t count, int64_t *out);

#endif
