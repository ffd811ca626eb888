/*
 * tree: pointer chasing with randomness, like a game-tree or database index
 * search. Its call trace is irregular: recursion depth and branch direction
 * change with every random key, so it has few exact repeats to compress.
 *
 * The program inserts N random keys (N = argv[1], default 5000) into an
 * unbalanced binary search tree, then looks up 2 * N random keys (about half
 * of them present), deleting every eighth key found, and prints a checksum of
 * the lookups and of an in-order walk. Keys come from a splitmix64 generator
 * with a fixed seed, so every run with the same N is identical.
 *
 * Build with the Makefile beside this file; run as `tree [N]`.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define DEFAULT_N 5000
#define SEED 0x5eed1234abcdULL

typedef struct Node {
    uint64_t key;
    uint64_t value;
    struct Node *left;
    struct Node *right;
} Node;

static uint64_t rng_state = SEED;

static int parse_size(int argc, char **argv, int fallback)
{
    if (argc < 2)
        return fallback;
    char *end;
    long n = strtol(argv[1], &end, 10);
    if (end == argv[1] || *end != '\0' || n < 1 || n > 50000000) {
        fprintf(stderr, "tree: invalid size '%s', expected an integer in 1..50000000\n", argv[1]);
        exit(2);
    }
    return (int)n;
}

/* splitmix64: one 64-bit state stepped by an odd constant, so the period is 2^64. */
static uint64_t next_random(void)
{
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* Keys fall in [0, 2N), so a random lookup finds a key about half the time. */
static uint64_t random_key(int n)
{
    return next_random() % (2 * (uint64_t)n);
}

static Node *new_node(uint64_t key)
{
    Node *node = malloc(sizeof(Node));
    if (!node) {
        fprintf(stderr, "tree: out of memory\n");
        exit(1);
    }
    node->key = key;
    node->value = key * 2654435761ULL;
    node->left = node->right = NULL;
    return node;
}

static Node *insert(Node *root, uint64_t key)
{
    if (!root)
        return new_node(key);
    if (key < root->key)
        root->left = insert(root->left, key);
    else if (key > root->key)
        root->right = insert(root->right, key);
    return root;
}

static Node *find(Node *root, uint64_t key)
{
    if (!root || root->key == key)
        return root;
    if (key < root->key)
        return find(root->left, key);
    return find(root->right, key);
}

static Node *min_node(Node *root)
{
    while (root->left)
        root = root->left;
    return root;
}

static Node *delete_key(Node *root, uint64_t key)
{
    if (!root)
        return NULL;
    if (key < root->key) {
        root->left = delete_key(root->left, key);
        return root;
    }
    if (key > root->key) {
        root->right = delete_key(root->right, key);
        return root;
    }

    if (!root->left || !root->right) {
        Node *child = root->left ? root->left : root->right;
        free(root);
        return child;
    }
    Node *successor = min_node(root->right);
    root->key = successor->key;
    root->value = successor->value;
    root->right = delete_key(root->right, successor->key);
    return root;
}

static uint64_t walk_in_order(const Node *root, uint64_t hash)
{
    if (!root)
        return hash;
    hash = walk_in_order(root->left, hash);
    hash = (hash ^ root->key) * 0x100000001b3ULL; /* FNV-1a step */
    return walk_in_order(root->right, hash);
}

static void free_tree(Node *root)
{
    if (!root)
        return;
    free_tree(root->left);
    free_tree(root->right);
    free(root);
}

int main(int argc, char **argv)
{
    int n = parse_size(argc, argv, DEFAULT_N);
    Node *root = NULL;
    for (int i = 0; i < n; i++)
        root = insert(root, random_key(n));

    uint64_t found = 0, value_sum = 0;
    for (int i = 0; i < 2 * n; i++) {
        uint64_t key = random_key(n);
        Node *node = find(root, key);
        if (!node)
            continue;
        found++;
        value_sum += node->value;
        if (found % 8 == 0)
            root = delete_key(root, key);
    }

    uint64_t walk = walk_in_order(root, 0xcbf29ce484222325ULL);
    printf("tree n=%d found=%llu checksum=%016llx\n", n, (unsigned long long)found,
           (unsigned long long)(walk ^ value_sum));
    free_tree(root);
    return 0;
}
