"""cffi build script for the online engine (out-of-line API mode, module predictor._engine)."""
from cffi import FFI

ffibuilder = FFI()
ffibuilder.cdef("""
typedef struct cl_engine cl_engine;
typedef struct { int64_t event; int64_t rollback; int64_t feed_len; } cl_request;
typedef struct {
    int64_t events; int64_t predictions; int64_t model_inputs;
    int64_t rollbacks; int64_t correct; int64_t covered;
} cl_counters;
#define CL_DONE 0
#define CL_NEED_MODEL 1
#define CL_ERR_TOKEN -1
#define CL_ERR_STATE -2
cl_engine *cl_engine_new(int32_t n_tokens, const int64_t *offsets, const int64_t *events,
                         int64_t history);
void cl_engine_free(cl_engine *engine);
void cl_engine_reset(cl_engine *engine);
int cl_engine_run(cl_engine *engine, const int64_t *events, int64_t n, int64_t *pos,
                  cl_request *request);
int cl_engine_predicted(cl_engine *engine, int64_t token);
int cl_engine_resume(cl_engine *engine, int64_t token, const int64_t *events, int64_t n,
                     int64_t *pos, cl_request *request);
const int64_t *cl_engine_feed_buffer(const cl_engine *engine);
int64_t cl_engine_max_feed(const cl_engine *engine);
int32_t cl_engine_max_token_length(const cl_engine *engine);
void cl_engine_counters(const cl_engine *engine, cl_counters *out);
void cl_engine_position(const cl_engine *engine, int64_t *length, int64_t *cursor);
int cl_engine_copy_tokens(const cl_engine *engine, int64_t first, int64_t count, int64_t *out);
""")
ffibuilder.set_source(
    "predictor._engine",
    '#include "engine.h"',
    sources=["predictor/engine.c"],
    include_dirs=["predictor"],
    extra_compile_args=["-O2", "-std=c99"],
)

if __name__ == "__main__":
    ffibuilder.compile(verbose=True)
