/*
 * fluid: a lattice-Boltzmann fluid solver (D2Q9, BGK collision), the kind of
 * regular stencil workload whose call and memory traces repeat the same short
 * pattern once per cell.
 *
 * The channel is N x N cells (N = argv[1], default 48) with solid walls on the
 * top and bottom rows, periodic left/right edges and a constant body force
 * driving the flow to the right. The run does STEPS time steps of
 * collide -> stream -> bounce back, each a loop over cells that calls one small
 * helper per cell, and prints a checksum of the final density and velocity.
 *
 * Build with the Makefile beside this file; run as `fluid [N]`.
 */
#include <stdio.h>
#include <stdlib.h>

#define Q 9
#define STEPS 4
#define DEFAULT_N 48

static const int CX[Q] = {0, 1, 0, -1, 0, 1, -1, -1, 1};
static const int CY[Q] = {0, 0, 1, 0, -1, 1, 1, -1, -1};
static const int OPPOSITE[Q] = {0, 3, 4, 1, 2, 7, 8, 5, 6};
static const double WEIGHT[Q] = {4.0 / 9, 1.0 / 9, 1.0 / 9, 1.0 / 9, 1.0 / 9,
                                 1.0 / 36, 1.0 / 36, 1.0 / 36, 1.0 / 36};

static const double TAU = 0.8;      /* relaxation time */
static const double FORCE_X = 1e-5; /* body force per cell and step */

typedef struct {
    int n;
    double *f;     /* distributions, f[(y * n + x) * Q + q] */
    double *f_new; /* streaming target */
    unsigned char *solid;
} Lattice;

static int parse_size(int argc, char **argv, int fallback)
{
    if (argc < 2)
        return fallback;
    char *end;
    long n = strtol(argv[1], &end, 10);
    if (end == argv[1] || *end != '\0' || n < 4 || n > 4096) {
        fprintf(stderr, "fluid: invalid size '%s', expected an integer in 4..4096\n", argv[1]);
        exit(2);
    }
    return (int)n;
}

static double *cell_at(const Lattice *lat, double *base, int x, int y)
{
    return base + ((size_t)y * lat->n + x) * Q;
}

static double equilibrium(int q, double rho, double ux, double uy)
{
    double cu = 3.0 * (CX[q] * ux + CY[q] * uy);
    double uu = 1.5 * (ux * ux + uy * uy);
    return WEIGHT[q] * rho * (1.0 + cu + 0.5 * cu * cu - uu);
}

static void cell_moments(const double *cell, double *rho, double *ux, double *uy)
{
    double r = 0, mx = 0, my = 0;
    for (int q = 0; q < Q; q++) {
        r += cell[q];
        mx += cell[q] * CX[q];
        my += cell[q] * CY[q];
    }
    *rho = r;
    *ux = mx / r;
    *uy = my / r;
}

static void collide_cell(double *cell)
{
    double rho, ux, uy;
    cell_moments(cell, &rho, &ux, &uy);

    /* Velocity-shift forcing: the equilibrium sees u + tau * F / rho. */
    ux += TAU * FORCE_X / rho;
    for (int q = 0; q < Q; q++)
        cell[q] += (equilibrium(q, rho, ux, uy) - cell[q]) / TAU;
}

static void stream_cell(Lattice *lat, int x, int y)
{
    const double *src = cell_at(lat, lat->f, x, y);
    for (int q = 0; q < Q; q++) {
        int tx = (x + CX[q] + lat->n) % lat->n;
        int ty = y + CY[q];
        if (ty < 0 || ty >= lat->n)
            continue;
        cell_at(lat, lat->f_new, tx, ty)[q] = src[q];
    }
}

static void bounce_back_cell(double *cell)
{
    double reflected[Q];
    for (int q = 0; q < Q; q++)
        reflected[OPPOSITE[q]] = cell[q];
    for (int q = 0; q < Q; q++)
        cell[q] = reflected[q];
}

static void init_lattice(Lattice *lat, int n)
{
    size_t cells = (size_t)n * n;
    lat->n = n;
    lat->f = malloc(cells * Q * sizeof(double));
    lat->f_new = malloc(cells * Q * sizeof(double));
    lat->solid = calloc(cells, 1);
    if (!lat->f || !lat->f_new || !lat->solid) {
        fprintf(stderr, "fluid: out of memory for %d x %d cells\n", n, n);
        exit(1);
    }
    for (int y = 0; y < n; y++) {
        for (int x = 0; x < n; x++) {
            double *cell = cell_at(lat, lat->f, x, y);
            for (int q = 0; q < Q; q++)
                cell[q] = equilibrium(q, 1.0, 0.0, 0.0);
        }
    }

    /* Wall rows receive no distributions from outside the channel, so the
     * streaming target starts as a copy instead of uninitialized memory. */
    for (size_t i = 0; i < cells * Q; i++)
        lat->f_new[i] = lat->f[i];
    for (int x = 0; x < n; x++) {
        lat->solid[x] = 1;
        lat->solid[(size_t)(n - 1) * n + x] = 1;
    }
}

static void time_step(Lattice *lat)
{
    int n = lat->n;
    for (int y = 0; y < n; y++)
        for (int x = 0; x < n; x++)
            if (!lat->solid[(size_t)y * n + x])
                collide_cell(cell_at(lat, lat->f, x, y));

    for (int y = 0; y < n; y++)
        for (int x = 0; x < n; x++)
            stream_cell(lat, x, y);

    for (int y = 0; y < n; y++)
        for (int x = 0; x < n; x++)
            if (lat->solid[(size_t)y * n + x])
                bounce_back_cell(cell_at(lat, lat->f_new, x, y));

    double *swap = lat->f;
    lat->f = lat->f_new;
    lat->f_new = swap;
}

static double checksum(const Lattice *lat)
{
    double sum = 0;
    for (int y = 1; y < lat->n - 1; y++) {
        for (int x = 0; x < lat->n; x++) {
            double rho, ux, uy;
            cell_moments(cell_at(lat, lat->f, x, y), &rho, &ux, &uy);
            sum += rho + 1e3 * ux * (y + 1) + 1e3 * uy * (x + 1);
        }
    }
    return sum;
}

int main(int argc, char **argv)
{
    int n = parse_size(argc, argv, DEFAULT_N);
    Lattice lat;
    init_lattice(&lat, n);
    for (int step = 0; step < STEPS; step++)
        time_step(&lat);
    printf("fluid n=%d steps=%d checksum=%.15e\n", n, STEPS, checksum(&lat));
    free(lat.f);
    free(lat.f_new);
    free(lat.solid);
    return 0;
}
