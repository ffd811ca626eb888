/*
 * wave: a 3-D acoustic wave propagation kernel (second-order leapfrog in time,
 * 7-point Laplacian in space), the inner loop of seismic wave modelling.
 *
 * The grid is N x N x N points (N = argv[1], default 24) with fixed zero
 * boundaries and a Ricker-wavelet point source at the centre. Each of STEPS
 * time steps injects the source, updates every interior point through a small
 * per-point helper that calls the Laplacian helper, and rotates the three time
 * levels. The program prints a checksum of the final wave field.
 *
 * Build with the Makefile beside this file; run as `wave [N]`.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#define STEPS 6
#define DEFAULT_N 24

static const double COURANT2 = 0.1; /* (c * dt / dx)^2, below the 3-D limit of 1/3 */
static const double SOURCE_FREQ = 0.15; /* in cycles per time step */
static const double SOURCE_DELAY = 2.0; /* wavelet peak, in time steps */
static const double PI = 3.14159265358979323846;

typedef struct {
    int n;
    double *prev; /* u at t - 1 */
    double *cur;  /* u at t */
    double *next; /* u at t + 1 */
} Field;

static int parse_size(int argc, char **argv, int fallback)
{
    if (argc < 2)
        return fallback;
    char *end;
    long n = strtol(argv[1], &end, 10);
    if (end == argv[1] || *end != '\0' || n < 4 || n > 1024) {
        fprintf(stderr, "wave: invalid size '%s', expected an integer in 4..1024\n", argv[1]);
        exit(2);
    }
    return (int)n;
}

static size_t index_of(int n, int i, int j, int k)
{
    return ((size_t)k * n + j) * n + i;
}

static double laplacian_at(const Field *field, int i, int j, int k)
{
    int n = field->n;
    const double *u = field->cur;
    size_t c = index_of(n, i, j, k);
    size_t plane = (size_t)n * n;
    return u[c - 1] + u[c + 1] + u[c - n] + u[c + n] + u[c - plane] + u[c + plane]
           - 6.0 * u[c];
}

static void update_point(Field *field, int i, int j, int k)
{
    size_t c = index_of(field->n, i, j, k);
    double lap = laplacian_at(field, i, j, k);
    field->next[c] = 2.0 * field->cur[c] - field->prev[c] + COURANT2 * lap;
}

static double ricker(int step)
{
    double a = PI * SOURCE_FREQ * (step - SOURCE_DELAY);
    return (1.0 - 2.0 * a * a) * exp(-a * a);
}

static void inject_source(Field *field, int step)
{
    int mid = field->n / 2;
    field->cur[index_of(field->n, mid, mid, mid)] += ricker(step);
}

static void rotate_levels(Field *field)
{
    double *oldest = field->prev;
    field->prev = field->cur;
    field->cur = field->next;
    field->next = oldest;
}

static void time_step(Field *field, int step)
{
    int n = field->n;
    inject_source(field, step);
    for (int k = 1; k < n - 1; k++)
        for (int j = 1; j < n - 1; j++)
            for (int i = 1; i < n - 1; i++)
                update_point(field, i, j, k);
    rotate_levels(field);
}

static double checksum(const Field *field)
{
    size_t points = (size_t)field->n * field->n * field->n;
    double sum = 0;
    for (size_t p = 0; p < points; p++)
        sum += field->cur[p] * (double)(p % 97 + 1);
    return sum;
}

int main(int argc, char **argv)
{
    int n = parse_size(argc, argv, DEFAULT_N);
    size_t points = (size_t)n * n * n;
    Field field = {n, calloc(points, sizeof(double)), calloc(points, sizeof(double)),
                   calloc(points, sizeof(double))};
    if (!field.prev || !field.cur || !field.next) {
        fprintf(stderr, "wave: out of memory for %d^3 points\n", n);
        return 1;
    }
    for (int step = 0; step < STEPS; step++)
        time_step(&field, step);
    printf("wave n=%d steps=%d checksum=%.15e\n", n, STEPS, checksum(&field));
    free(field.prev);
    free(field.cur);
    free(field.next);
    return 0;
}
