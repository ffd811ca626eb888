/*
 * molecule: a molecular-dynamics force loop, Lennard-Jones particles with a
 * cutoff, using cell lists the way production MD codes bin particles.
 *
 * N particles (N = argv[1], default 343) start on a jittered cubic lattice in
 * a periodic box at reduced density 0.8 with seeded random velocities. Each of
 * STEPS velocity-Verlet steps rebuilds the cell lists, computes forces cell
 * pair by cell pair through a per-pair helper, and moves every particle through
 * per-particle helpers. The program prints the final total energy and a
 * checksum of the positions.
 *
 * Build with the Makefile beside this file; run as `molecule [N]`.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define STEPS 2
#define DEFAULT_N 343
#define SEED 0x6d6f6c65ULL

static const double DENSITY = 0.8; /* particles per unit volume (reduced units) */
static const double CUTOFF = 2.5;  /* in units of sigma */
static const double DT = 0.004;    /* time step, reduced units */

typedef struct {
    double x[3];
    double v[3];
    double f[3];
} Particle;

typedef struct {
    int n;
    double box;
    int cells_per_side;
    Particle *p;
    int *cell_head; /* first particle of each cell, -1 when empty */
    int *next;      /* next particle in the same cell, -1 at the end */
    double potential;
} System;

static uint64_t rng_state = SEED;

static int parse_size(int argc, char **argv, int fallback)
{
    if (argc < 2)
        return fallback;
    char *end;
    long n = strtol(argv[1], &end, 10);
    if (end == argv[1] || *end != '\0' || n < 2 || n > 10000000) {
        fprintf(stderr, "molecule: invalid size '%s', expected an integer in 2..10000000\n", argv[1]);
        exit(2);
    }
    return (int)n;
}

/* splitmix64 mapped to [0, 1). */
static double uniform(void)
{
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return (double)((z ^ (z >> 31)) >> 11) / 9007199254740992.0;
}

static double wrap(double x, double box)
{
    return x - box * floor(x / box);
}

/* Stores the minimum-image vector a - b in d and returns its squared length. */
static double separation(const Particle *a, const Particle *b, double box, double *d)
{
    double r2 = 0;
    for (int k = 0; k < 3; k++) {
        d[k] = a->x[k] - b->x[k];
        d[k] -= box * round(d[k] / box);
        r2 += d[k] * d[k];
    }
    return r2;
}

static int cell_coordinate(double x, const System *sys)
{
    int c = (int)(x / sys->box * sys->cells_per_side);
    return c < sys->cells_per_side ? c : sys->cells_per_side - 1;
}

static int cell_of(const System *sys, const Particle *p)
{
    int m = sys->cells_per_side;
    int cx = cell_coordinate(p->x[0], sys);
    int cy = cell_coordinate(p->x[1], sys);
    int cz = cell_coordinate(p->x[2], sys);
    return (cz * m + cy) * m + cx;
}

static void build_cells(System *sys)
{
    int m = sys->cells_per_side;
    for (int c = 0; c < m * m * m; c++)
        sys->cell_head[c] = -1;
    for (int i = 0; i < sys->n; i++) {
        int c = cell_of(sys, &sys->p[i]);
        sys->next[i] = sys->cell_head[c];
        sys->cell_head[c] = i;
    }
}

/* Adds the Lennard-Jones force of the pair (i, j) to both and returns its energy. */
static double pair_force(System *sys, int i, int j)
{
    Particle *a = &sys->p[i], *b = &sys->p[j];
    double d[3];
    double r2 = separation(a, b, sys->box, d);
    if (r2 >= CUTOFF * CUTOFF)
        return 0;

    double inv6 = 1.0 / (r2 * r2 * r2);
    double scale = 24.0 * inv6 * (2.0 * inv6 - 1.0) / r2;
    for (int k = 0; k < 3; k++) {
        a->f[k] += scale * d[k];
        b->f[k] -= scale * d[k];
    }
    return 4.0 * inv6 * (inv6 - 1.0);
}

/* Visits each pair once: a particle meets only higher-numbered partners. */
static double cell_pair_forces(System *sys, int cell, int other)
{
    double energy = 0;
    for (int i = sys->cell_head[cell]; i >= 0; i = sys->next[i])
        for (int j = sys->cell_head[other]; j >= 0; j = sys->next[j])
            if (j > i)
                energy += pair_force(sys, i, j);
    return energy;
}

/* Lists the distinct neighbour cells of `cell` (itself included); with fewer
 * than three cells per side the 27 offsets wrap onto repeats, dropped here. */
static int neighbour_cells(const System *sys, int cell, int *out)
{
    int m = sys->cells_per_side, count = 0;
    int cx = cell % m, cy = cell / m % m, cz = cell / (m * m);
    for (int dz = -1; dz <= 1; dz++)
        for (int dy = -1; dy <= 1; dy++)
            for (int dx = -1; dx <= 1; dx++) {
                int c = (((cz + dz + m) % m) * m + (cy + dy + m) % m) * m + (cx + dx + m) % m;
                int seen = 0;
                for (int k = 0; k < count; k++)
                    seen |= out[k] == c;
                if (!seen)
                    out[count++] = c;
            }
    return count;
}

static void compute_forces(System *sys)
{
    int m = sys->cells_per_side, neighbours[27];
    for (int i = 0; i < sys->n; i++)
        sys->p[i].f[0] = sys->p[i].f[1] = sys->p[i].f[2] = 0;

    build_cells(sys);
    sys->potential = 0;
    for (int c = 0; c < m * m * m; c++) {
        int count = neighbour_cells(sys, c, neighbours);
        for (int k = 0; k < count; k++)
            sys->potential += cell_pair_forces(sys, c, neighbours[k]);
    }
}

static void kick_particle(Particle *p, double dt)
{
    for (int k = 0; k < 3; k++)
        p->v[k] += 0.5 * dt * p->f[k];
}

static void drift_particle(Particle *p, double dt, double box)
{
    for (int k = 0; k < 3; k++)
        p->x[k] = wrap(p->x[k] + dt * p->v[k], box);
}

static void init_system(System *sys, int n)
{
    sys->n = n;
    sys->box = cbrt(n / DENSITY);
    sys->cells_per_side = (int)(sys->box / CUTOFF);
    if (sys->cells_per_side < 1)
        sys->cells_per_side = 1;
    int cells = sys->cells_per_side * sys->cells_per_side * sys->cells_per_side;
    sys->p = calloc(n, sizeof(Particle));
    sys->cell_head = malloc(cells * sizeof(int));
    sys->next = malloc(n * sizeof(int));
    if (!sys->p || !sys->cell_head || !sys->next) {
        fprintf(stderr, "molecule: out of memory for %d particles\n", n);
        exit(1);
    }

    int side = (int)ceil(cbrt((double)n));
    double spacing = sys->box / side;
    for (int i = 0; i < n; i++) {
        int site[3] = {i % side, i / side % side, i / (side * side)};
        for (int k = 0; k < 3; k++) {
            double jitter = 0.1 * spacing * (uniform() - 0.5);
            sys->p[i].x[k] = wrap((site[k] + 0.5) * spacing + jitter, sys->box);
            sys->p[i].v[k] = uniform() - 0.5;
        }
    }
}

static double kinetic_energy(const System *sys)
{
    double sum = 0;
    for (int i = 0; i < sys->n; i++)
        for (int k = 0; k < 3; k++)
            sum += 0.5 * sys->p[i].v[k] * sys->p[i].v[k];
    return sum;
}

int main(int argc, char **argv)
{
    int n = parse_size(argc, argv, DEFAULT_N);
    System sys;
    init_system(&sys, n);

    compute_forces(&sys);
    for (int step = 0; step < STEPS; step++) {
        for (int i = 0; i < n; i++) {
            kick_particle(&sys.p[i], DT);
            drift_particle(&sys.p[i], DT, sys.box);
        }
        compute_forces(&sys);
        for (int i = 0; i < n; i++)
            kick_particle(&sys.p[i], DT);
    }

    double position_sum = 0;
    for (int i = 0; i < n; i++)
        position_sum += sys.p[i].x[0] + 2 * sys.p[i].x[1] + 3 * sys.p[i].x[2];
    printf("molecule n=%d steps=%d energy=%.10e checksum=%.15e\n", n, STEPS,
           sys.potential + kinetic_energy(&sys), position_sum);
    free(sys.p);
    free(sys.cell_head);
    free(sys.next);
    return 0;
}
