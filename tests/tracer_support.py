"""Small C programs with known calls and accesses, compiled for the tracer tests."""
import shutil
import subprocess

import pytest

HAVE_VALGRIND = shutil.which("valgrind") is not None and shutil.which("gcc") is not None
needs_valgrind = pytest.mark.skipif(not HAVE_VALGRIND, reason="valgrind or gcc not installed")

# main calls f three times then g; g calls h twice.
CALLS_C = r"""
#include <stdio.h>
int h(int x) { return x * 3 + 1; }
int g(int x) { return h(x) + h(x + 1); }
int f(int x) { return x + 2; }
int main(void) {
    int total = f(1) + f(2) + f(3);
    total += g(total);
    printf("%d\n", total);
    return 0;
}
"""

# Stores to a 64 KiB array with stride 64, then loads it back.
MEM_C = r"""
char array[65536] __attribute__((aligned(64)));
int main(void) {
    volatile char *p = array;
    long sum = 0;
    for (int i = 0; i < 65536; i += 64) p[i] = (char)i;
    for (int i = 0; i < 65536; i += 64) sum += p[i];
    return sum == 12345;
}
"""

# The worker thread stores to each block of worker_array, main then to each
# block of main_array, and last makes one 8-byte load across a block boundary.
MEM_THREADS_C = r"""
#include <pthread.h>
#include <string.h>
char worker_array[16384] __attribute__((aligned(64)));
char main_array[8192] __attribute__((aligned(64)));
void *worker(void *arg) {
    volatile char *p = worker_array;
    for (int i = 0; i < 16384; i += 64) p[i] = 1;
    return 0;
}
int main(void) {
    pthread_t thread;
    volatile char *p = main_array;
    long long spanning;
    pthread_create(&thread, 0, worker, 0);
    pthread_join(thread, 0);
    for (int i = 0; i < 8192; i += 64) p[i] = 2;
    memcpy(&spanning, (const void *)(main_array + 60), 8);
    return spanning == 12345;
}
"""

# Stores to each block of a 4 KiB array, then one 8-byte load that spans
# blocks 0 and 1 of it (compile with -O1 so memcpy becomes one load).
SPAN_C = r"""
#include <string.h>
char array[4096] __attribute__((aligned(64)));
int main(void) {
    volatile char *p = array;
    long long spanning;
    for (int i = 0; i < 4096; i += 64) p[i] = 1;
    memcpy(&spanning, (const void *)(array + 60), 8);
    return spanning == 12345;
}
"""

# The worker thread calls a, b, b; main calls c after joining it.
THREADS_C = r"""
#include <pthread.h>
int a(int x) { return x + 1; }
int b(int x) { return x * 2; }
int c(int x) { return x - 1; }
void *worker(void *arg) { long v = a(1) + b(2) + b(3); return (void *)v; }
int main(void) {
    pthread_t thread;
    void *result;
    pthread_create(&thread, 0, worker, 0);
    pthread_join(thread, &result);
    return c((int)(long)result) == 1000;
}
"""

# The child calls child_fn, the parent calls parent_fn after waiting for it.
FORK_C = r"""
#include <sys/wait.h>
#include <unistd.h>
int child_fn(int x) { return x + 1; }
int parent_fn(int x) { return x + 2; }
int main(void) {
    pid_t pid = fork();
    if (pid == 0) {
        child_fn(1);
        _exit(0);
    }
    waitpid(pid, 0, 0);
    return parent_fn(1) == 1000;
}
"""

# f, f, then exit(3) with argument "e", else a null pointer load in g.
CRASH_C = r"""
#include <stdlib.h>
int f(int x) { return x + 1; }
int g(int *p) { return *p; }
int main(int argc, char **argv) {
    f(1);
    f(2);
    if (argc > 1 && argv[1][0] == 'e')
        exit(3);
    return g((int *)0);
}
"""

# Calls spin() forever; prints "ready" once recording must have started.
FOREVER_C = r"""
#include <stdio.h>
int spin(int x) { return x + 1; }
int main(void) {
    long n = 0;
    for (;;) {
        n = spin(n);
        if (n == 1000) {
            puts("ready");
            fflush(stdout);
        }
    }
}
"""


def compile_c(folder, name, source, *flags):
    """Compile ``source`` to ``folder/name`` with gcc -O0 -fno-inline and return the path."""
    source_path = folder / f"{name}.c"
    source_path.write_text(source)
    binary = folder / name
    subprocess.run(["gcc", "-O0", "-fno-inline", "-o", str(binary), str(source_path), *flags],
                   check=True)
    return binary


def nm_functions(binary):
    """Return {address: set of names} of defined function symbols, from GNU nm."""
    output = subprocess.run(["nm", "--defined-only", str(binary)], check=True,
                            capture_output=True, text=True).stdout
    functions = {}
    for line in output.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[1] in "Tti":  # text and IFUNC symbols
            functions.setdefault(int(parts[0], 16), set()).add(parts[2].split("@")[0])
    return functions
