/* The kernels' thread pool: one per process, shared by the C kernels that
 * cimport symarray.kernels_c._threads.
 *
 * sa_parallel_chunks(fn, ctx, n, chunk, nthreads) cuts [0, n) into chunks
 * of `chunk` elements; the calling thread and up to nthreads - 1 workers
 * take chunks as they come (dynamic scheduling) and call
 * fn(ctx, begin, end, thread) for each; `thread` < nthreads, 0 for the
 * caller, and no two threads share one, so per-thread scratch needs no
 * locks.  sa_parallel_for(fn, ctx, n, align, parts) cuts [0, n) into
 * `parts` ranges aligned to `align` and calls fn(ctx, begin, end, part) for
 * each exactly once, on whichever thread takes it.
 *
 * Key decisions:
 * - The caller never waits for a worker that has not started: it works
 *   through the chunks itself and then waits only for chunks a worker
 *   took and is still computing.  On a busy machine (more runnable threads
 *   than cores) a worker may wake late; OpenMP's end-of-region barrier
 *   would make the caller wait for it, here the caller just does the work.
 * - Workers sleep on a condition variable between calls (no spinning), so
 *   an idle pool takes no CPU from BLAS or from Python threads.  The VM
 *   runs one node at a time, so the pool and BLAS's threads are never busy
 *   together.
 * - A chunk is claimed with one compare-and-swap on a word holding the
 *   call's generation and the next chunk, so a worker still finishing an
 *   old call can never take a chunk of a newer one.
 * - Workers are created on first use, as many as the largest call asked
 *   for minus one, and live until the process exits.  They block every
 *   signal: Python's handlers run on the main thread.
 * - One call at a time: a call made while the pool is busy (another Python
 *   thread running a kernel without the GIL, or a nested call) runs all its
 *   chunks on the calling thread.  Results never depend on the split.
 * - fork(): only the forking thread exists in the child, so an atfork
 *   handler resets the pool there and the child starts its own workers
 *   (GNU OpenMP's team hangs in a forked child instead).
 */
#ifndef SA_THREADS_H
#define SA_THREADS_H

#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>

#define SA_MAX_THREADS 64

#if defined(__x86_64__) || defined(__i386__)
#define SA_PAUSE() __builtin_ia32_pause()
#else
#define SA_PAUSE() ((void)0)
#endif

typedef void (*sa_task)(void *ctx, Py_ssize_t begin, Py_ssize_t end, int part);

typedef struct {
    sa_task fn;
    void *ctx;
    Py_ssize_t n, chunk;      /* chunk c is [c * chunk, min(n, (c + 1) * chunk)) */
    Py_ssize_t align;         /* by_part: boundaries on multiples of align */
    uint32_t nchunks;
    int by_part;              /* fn's last argument: the chunk, else the thread */
    int threads;              /* threads the call may use (caller included) */
} sa_job;

static struct {
    pthread_mutex_t mu;
    pthread_cond_t go;            /* workers wait for a new generation */
    int n_workers;                /* worker threads alive */
    int busy;                     /* a call is running */
    uint32_t gen;                 /* bumped for each parallel call (under mu) */
    sa_job job;                   /* the current call (under mu) */
    uint64_t ticket;              /* gen << 32 | next chunk (atomic) */
    uint32_t done;                /* chunks finished (atomic) */
    uint32_t by_others;           /* chunks other threads ran (atomic) */
    uint32_t start_gen[SA_MAX_THREADS];
} sa_pool = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER};
static pthread_once_t sa_once = PTHREAD_ONCE_INIT;
static int sa_forked = 0;  /* this process is a fork child */

/* [begin, end) of chunk c of the job */
static inline void sa_chunk_bounds(const sa_job *j, uint32_t c, Py_ssize_t *begin,
                                   Py_ssize_t *end) {
    if (j->by_part) {  /* `nchunks` near-equal parts on multiples of align */
        const Py_ssize_t units = (j->n + j->align - 1) / j->align;
        *begin = units * c / j->nchunks * j->align;
        *end = units * (c + 1) / j->nchunks * j->align;
    } else {
        *begin = (Py_ssize_t)c * j->chunk;
        *end = *begin + j->chunk;
    }
    if (*begin > j->n) *begin = j->n;
    if (*end > j->n) *end = j->n;
}

/* Take the next chunk of generation gen; -1 when none is left. */
static inline int64_t sa_claim(uint32_t gen, uint32_t nchunks) {
    uint64_t t = __atomic_load_n(&sa_pool.ticket, __ATOMIC_ACQUIRE);
    for (;;) {
        if ((uint32_t)(t >> 32) != gen || (uint32_t)t >= nchunks) return -1;
        if (__atomic_compare_exchange_n(&sa_pool.ticket, &t, t + 1, 1,
                                        __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
            return (int64_t)(uint32_t)t;
    }
}

/* Run chunks of generation gen until none is left. */
static void sa_work(const sa_job *j, uint32_t gen, int thread) {
    int64_t c;
    while ((c = sa_claim(gen, j->nchunks)) >= 0) {
        Py_ssize_t begin, end;
        sa_chunk_bounds(j, (uint32_t)c, &begin, &end);
        if (begin < end) j->fn(j->ctx, begin, end, j->by_part ? (int)c : thread);
        if (thread) __atomic_fetch_add(&sa_pool.by_others, 1, __ATOMIC_RELAXED);
        __atomic_fetch_add(&sa_pool.done, 1, __ATOMIC_RELEASE);
    }
}

static void *sa_worker(void *arg) {
    const int thread = (int)(Py_ssize_t)arg;
    pthread_mutex_lock(&sa_pool.mu);
    uint32_t seen = sa_pool.start_gen[thread];
    for (;;) {
        while (sa_pool.gen == seen) pthread_cond_wait(&sa_pool.go, &sa_pool.mu);
        seen = sa_pool.gen;
        if (thread >= sa_pool.job.threads) continue;
        const sa_job job = sa_pool.job;
        pthread_mutex_unlock(&sa_pool.mu);
        sa_work(&job, seen, thread);
        pthread_mutex_lock(&sa_pool.mu);
    }
    return NULL;
}

static void sa_atfork_child(void) {
    pthread_mutex_init(&sa_pool.mu, NULL);
    pthread_cond_init(&sa_pool.go, NULL);
    sa_pool.n_workers = 0;
    sa_pool.busy = 0;
    sa_forked = 1;
}
static void sa_atfork_prepare(void) { pthread_mutex_lock(&sa_pool.mu); }
static void sa_atfork_parent(void) { pthread_mutex_unlock(&sa_pool.mu); }
static void sa_install(void) {
    pthread_atfork(sa_atfork_prepare, sa_atfork_parent, sa_atfork_child);
}

/* Start workers up to want - 1 (mu held); returns the threads available. */
static int sa_grow(int want) {
    if (sa_pool.n_workers + 1 >= want) return want;
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    while (sa_pool.n_workers + 1 < want) {
        pthread_t tid;
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        const int k = sa_pool.n_workers + 1;
        sa_pool.start_gen[k] = sa_pool.gen;
        const int err = pthread_create(&tid, &attr, sa_worker, (void *)(Py_ssize_t)k);
        pthread_attr_destroy(&attr);
        if (err) break;
        sa_pool.n_workers++;
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return sa_pool.n_workers + 1;
}

/* Run job j on up to j->threads threads; returns the chunks others ran. */
static int sa_run(sa_job *j) {
    if (j->nchunks == 0) return 0;
    int parallel = j->threads > 1 && j->nchunks > 1;
    if (parallel) {
        pthread_once(&sa_once, sa_install);
        pthread_mutex_lock(&sa_pool.mu);
        if (sa_pool.busy) {
            parallel = 0;
        } else {
            j->threads = sa_grow(j->threads < SA_MAX_THREADS ? j->threads
                                                             : SA_MAX_THREADS);
            parallel = j->threads > 1;
        }
        if (parallel) {
            sa_pool.busy = 1;
            sa_pool.job = *j;
            sa_pool.gen++;
            __atomic_store_n(&sa_pool.done, 0, __ATOMIC_RELAXED);
            __atomic_store_n(&sa_pool.by_others, 0, __ATOMIC_RELAXED);
            __atomic_store_n(&sa_pool.ticket, (uint64_t)sa_pool.gen << 32,
                             __ATOMIC_RELEASE);
            pthread_cond_broadcast(&sa_pool.go);
        }
        pthread_mutex_unlock(&sa_pool.mu);
    }
    if (!parallel) {
        for (uint32_t c = 0; c < j->nchunks; c++) {
            Py_ssize_t begin, end;
            sa_chunk_bounds(j, c, &begin, &end);
            if (begin < end) j->fn(j->ctx, begin, end, j->by_part ? (int)c : 0);
        }
        return 0;
    }
    const uint32_t gen = sa_pool.gen;  /* only this call changes it now */
    sa_work(j, gen, 0);
    /* the rest: chunks workers took and are computing */
    for (long spins = 0;
         __atomic_load_n(&sa_pool.done, __ATOMIC_ACQUIRE) < j->nchunks; spins++) {
        if (spins < 4096) SA_PAUSE();
        else sched_yield();
    }
    const int others = (int)__atomic_load_n(&sa_pool.by_others, __ATOMIC_RELAXED);
    pthread_mutex_lock(&sa_pool.mu);
    sa_pool.busy = 0;
    pthread_mutex_unlock(&sa_pool.mu);
    return others;
}

static int sa_parallel_chunks(sa_task fn, void *ctx, Py_ssize_t n, Py_ssize_t chunk,
                              int nthreads) {
    sa_job j = {fn, ctx, n, chunk < 1 ? 1 : chunk, 1, 0, 0, nthreads};
    const Py_ssize_t nchunks = n > 0 ? (n + j.chunk - 1) / j.chunk : 0;
    if (nchunks > (Py_ssize_t)UINT32_MAX) {  /* keep the count in 32 bits */
        j.chunk = (n + UINT32_MAX - 1) / UINT32_MAX;
        j.nchunks = (uint32_t)((n + j.chunk - 1) / j.chunk);
    } else {
        j.nchunks = (uint32_t)nchunks;
    }
    return sa_run(&j);
}

static int sa_parallel_for(sa_task fn, void *ctx, Py_ssize_t n, Py_ssize_t align,
                           int parts) {
    if (align < 1) align = 1;
    if (parts > SA_MAX_THREADS) parts = SA_MAX_THREADS;
    const Py_ssize_t units = n > 0 ? (n + align - 1) / align : 0;
    if (units < parts) parts = (int)units;
    sa_job j = {fn, ctx, n, 0, align, (uint32_t)(parts > 0 ? parts : 0), 1, parts};
    return sa_run(&j);
}

#endif
