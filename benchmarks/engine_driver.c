/* Time the C online engine alone, without Python, for benchmarks/bench_engine.py.
 *
 * Usage: engine_driver OFFSETS EVENTS STREAM PREDICTED REPEATS
 * Each file is raw little-endian int64: the vocabulary's expansion offsets and
 * events (as predictor.engine.vocabulary_arrays builds them), the event stream,
 * and per stream position the token a stand-in model predicts after that event.
 * Prints one line per repeat: events, model calls and nanoseconds per event.
 */
#define _POSIX_C_SOURCE 199309L
#include "engine.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static int64_t *load(const char *path, int64_t *count)
{
    FILE *file = fopen(path, "rb");
    if (!file) {
        perror(path);
        exit(1);
    }
    fseek(file, 0, SEEK_END);
    long size = ftell(file);
    fseek(file, 0, SEEK_SET);
    int64_t *data = malloc((size_t)size + 8);
    if (!data || fread(data, 1, (size_t)size, file) != (size_t)size) {
        fprintf(stderr, "%s: read failed\n", path);
        exit(1);
    }
    fclose(file);
    *count = size / 8;
    return data;
}

static double now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e9 + t.tv_nsec;
}

int main(int argc, char **argv)
{
    if (argc != 6) {
        fprintf(stderr, "usage: %s OFFSETS EVENTS STREAM PREDICTED REPEATS\n", argv[0]);
        return 2;
    }
    int64_t n_offsets, n_events, n_stream, n_predicted;
    int64_t *offsets = load(argv[1], &n_offsets);
    int64_t *events = load(argv[2], &n_events);
    int64_t *stream = load(argv[3], &n_stream);
    int64_t *predicted = load(argv[4], &n_predicted);
    int repeats = atoi(argv[5]);

    cl_engine *engine = cl_engine_new((int32_t)(n_offsets - 1), offsets, events, 0);
    if (!engine) {
        fprintf(stderr, "out of memory\n");
        return 1;
    }
    for (int r = 0; r < repeats; r++) {
        cl_request request;
        int64_t pos = 0, calls = 0;
        cl_engine_reset(engine);
        double start = now_ns();
        int status = cl_engine_run(engine, stream, n_stream, &pos, &request);
        while (status == CL_NEED_MODEL) {
            calls++;
            status = cl_engine_resume(engine, predicted[request.event], stream, n_stream, &pos,
                                      &request);
        }
        double elapsed = now_ns() - start;
        printf("%lld %lld %.2f\n", (long long)n_stream, (long long)calls, elapsed / (double)n_stream);
    }
    cl_engine_free(engine);
    return 0;
}
