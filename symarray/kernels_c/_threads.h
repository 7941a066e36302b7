/* The process's one thread pool: the C kernels that cimport
 * symarray.kernels_c._threads split their loops over it, and OpenBLAS runs
 * its jobs on it (the threads callback of _blas.pyx), so kernels and BLAS
 * never have two sets of threads competing for the cores.
 *
 * Three entry points:
 * - sa_parallel_chunks(fn, ctx, n, chunk, nthreads) cuts [0, n) into chunks
 *   of `chunk` elements; the calling thread and up to nthreads - 1 workers
 *   take chunks as they come (dynamic scheduling) and call
 *   fn(ctx, begin, end, thread) for each; `thread` < nthreads, 0 for the
 *   caller, and no two threads share one, so per-thread scratch needs no
 *   locks.
 * - sa_parallel_for(fn, ctx, n, align, parts) cuts [0, n) into `parts`
 *   ranges aligned to `align` and calls fn(ctx, begin, end, part) for each
 *   exactly once, on whichever thread takes it.
 * - sa_parallel_gang(fn, ctx, parts) calls fn(ctx, k, k + 1, k) for every
 *   part k at the same time, each on its own thread (part 0 on the caller),
 *   and returns when all have returned.  For work whose parts wait on each
 *   other: OpenBLAS's level-3 jobs spin until the other jobs have packed
 *   their panels, so run one after another on one thread they never end.
 *
 * Key decisions:
 * - parallel_for/chunks never wait for a worker that has not started: the
 *   caller works through the chunks itself and then waits only for chunks a
 *   worker took and is still computing.  On a busy machine (more runnable
 *   threads than cores) a worker may wake late; OpenMP's end-of-region
 *   barrier would make the caller wait for it, here the caller just does
 *   the work.  A gang has to wait for its threads: that is its contract.
 * - A worker takes part in a call by claiming a slot (1 .. threads - 1) with
 *   one compare-and-swap on a word holding the call's generation, so any
 *   idle worker can serve any call and the caller wakes only as many
 *   sleepers as it needs.  Chunks are claimed the same way (generation and
 *   next chunk in one word), so a worker still finishing an old call can
 *   never take a slot or a chunk of a newer one.  Workers read the call's
 *   description without the mutex (a seqlock: the generation is odd while
 *   the caller writes it), so the workers one call wakes do not queue on
 *   the mutex one after another.
 * - Idle policy: a worker that took part in a call spins (PAUSE,
 *   re-reading the generation) for sa_pool.spin_ns, then sleeps on a
 *   condition variable.  The default spin is SA_SPIN_NS (20 us): back-to-
 *   back BLAS calls and kernels (a VM running the nodes of one function)
 *   find their workers awake, which saves a futex wake-up per call; a gang
 *   waits for every worker, so it gains the most.  The spin is bounded and
 *   only follows a parallel call, and only workers 1 .. cores - 1 spin, so
 *   spinning workers never take the caller's core; when the caller goes
 *   back to Python for longer than the spin, the workers are asleep.
 *   set_idle_spin(0) makes them sleep at once.
 * - Workers are created on first use, as many as the largest call asked
 *   for minus one, and live until the process exits.  They block every
 *   signal: Python's handlers run on the main thread.
 * - One call at a time.  parallel_for/chunks made while the pool is busy
 *   (another Python thread's kernel, a nested call, a gang waiting) run all
 *   their chunks on the calling thread: results never depend on the split.
 *   A gang cannot run on one thread, so a gang from another thread waits
 *   until the pool is free (calls of a pool are short and never wait for
 *   the waiter, so this cannot deadlock), and a nested gang (called from a
 *   part or chunk running on the pool, which must not wait for the pool it
 *   holds) starts temporary threads for its parts and joins them.  If
 *   threads cannot be created (or parts > SA_MAX_THREADS; OpenBLAS's
 *   wheels are built with MAX_THREADS=64 too), the gang runs no part and
 *   returns -1: the caller decides (the BLAS callback reports and aborts,
 *   as OpenBLAS's own server does when it cannot start its threads).
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
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define SA_MAX_THREADS 64
#define SA_SPIN_NS 20000L  /* default idle spin of a worker after a call */
#define SA_LINE __attribute__((aligned(64)))  /* starts a cache line */

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
    int gang;                 /* part k on slot k, all at once (nchunks == threads) */
} sa_job;
_Static_assert(sizeof(sa_job) % 8 == 0, "sa_job is copied in 8-byte words");

static struct {
    pthread_mutex_t mu;
    pthread_cond_t go;            /* workers wait for a new generation */
    pthread_cond_t idle;          /* gangs wait for busy == 0 */
    int n_workers;                /* worker threads alive */
    int sleeping;                 /* workers waiting on `go` */
    int busy;                     /* a call is running */
    int waiting;                  /* gangs waiting on `idle` */
    /* read by spinning workers: a line of its own */
    uint32_t gen SA_LINE;         /* +2 per parallel call (written under mu; odd while
                                     the job is written; read atomically) */
    sa_job job;                   /* the current call (written under mu) */
    /* written by the call's threads */
    uint64_t slots SA_LINE;       /* gen << 32 | next slot (atomic) */
    uint64_t ticket;              /* gen << 32 | next chunk (atomic) */
    uint32_t done;                /* chunks (gang: parts) workers finished (atomic) */
    uint32_t by_others;           /* chunks other threads ran (atomic) */
    long spin_ns SA_LINE;         /* idle spin before sleeping (atomic) */
    int cores;                    /* CPUs this process may run on */
    uint32_t start_gen[SA_MAX_THREADS];
    long tid[SA_MAX_THREADS];     /* kernel thread id of worker k */
    long n_parallel, n_gang, n_gang_waits, n_gang_temporary;  /* statistics */
} sa_pool = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER,
             PTHREAD_COND_INITIALIZER, .spin_ns = SA_SPIN_NS};
static pthread_once_t sa_once = PTHREAD_ONCE_INIT;
static int sa_forked = 0;          /* this process is a fork child */
static __thread int sa_inside = 0; /* this thread runs pool work (workers: always) */

static inline uint32_t sa_gen(void) {
    return __atomic_load_n(&sa_pool.gen, __ATOMIC_ACQUIRE);
}

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

/* Take the next of `limit` numbers from *word for generation gen; -1 when
   none is left or the generation moved on. */
static inline int64_t sa_claim(uint64_t *word, uint32_t gen, uint32_t limit) {
    uint64_t t = __atomic_load_n(word, __ATOMIC_ACQUIRE);
    for (;;) {
        if ((uint32_t)(t >> 32) != gen || (uint32_t)t >= limit) return -1;
        if (__atomic_compare_exchange_n(word, &t, t + 1, 1, __ATOMIC_ACQ_REL,
                                        __ATOMIC_ACQUIRE))
            return (int64_t)(uint32_t)t;
    }
}

/* Run chunks of generation gen until none is left. */
static void sa_work(const sa_job *j, uint32_t gen, int thread) {
    int64_t c;
    while ((c = sa_claim(&sa_pool.ticket, gen, j->nchunks)) >= 0) {
        Py_ssize_t begin, end;
        sa_chunk_bounds(j, (uint32_t)c, &begin, &end);
        if (begin < end) j->fn(j->ctx, begin, end, j->by_part ? (int)c : thread);
        if (thread) __atomic_fetch_add(&sa_pool.by_others, 1, __ATOMIC_RELAXED);
        __atomic_fetch_add(&sa_pool.done, 1, __ATOMIC_RELEASE);
    }
}

static inline long sa_now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long)t.tv_sec * 1000000000L + t.tv_nsec;
}

/* Spin until the generation moves past `seen` or spin_ns have passed. */
static void sa_idle_spin(uint32_t seen) {
    const long ns = __atomic_load_n(&sa_pool.spin_ns, __ATOMIC_RELAXED);
    if (ns <= 0) return;
    const long until = sa_now_ns() + ns;
    do {
        for (int i = 0; i < 64; i++) {
            if (sa_gen() != seen) return;
            SA_PAUSE();
        }
    } while (sa_now_ns() < until);
}

/* The job of generation g into *out, read without the lock (a seqlock: the
   writer makes gen odd, writes the job, then makes it g); 0 when gen moved
   on or the job is being written (try again). */
static int sa_read_job(uint32_t g, sa_job *out) {
    if (g & 1) return 0;
    uint64_t *dst = (uint64_t *)out;
    const uint64_t *src = (const uint64_t *)&sa_pool.job;
    for (size_t i = 0; i < sizeof(sa_job) / 8; i++)
        dst[i] = __atomic_load_n(&src[i], __ATOMIC_RELAXED);
    __atomic_thread_fence(__ATOMIC_ACQUIRE);
    return __atomic_load_n(&sa_pool.gen, __ATOMIC_RELAXED) == g;
}

static void *sa_worker(void *arg) {
    const int k = (int)(Py_ssize_t)arg;
    const int may_spin = k < sa_pool.cores;  /* spinners + caller <= cores */
    sa_inside = 1;
    __atomic_store_n(&sa_pool.tid[k], (long)syscall(SYS_gettid), __ATOMIC_RELEASE);
    pthread_mutex_lock(&sa_pool.mu);
    uint32_t seen = sa_pool.start_gen[k];
    pthread_mutex_unlock(&sa_pool.mu);
    int spin = 0;  /* spin first only after taking part in a call */
    for (;;) {
        uint32_t g = sa_gen();
        if (g == seen && spin) {
            sa_idle_spin(seen);
            g = sa_gen();
            spin = 0;
        }
        if (g == seen) {  /* sleep until a new call (gen is even under mu) */
            pthread_mutex_lock(&sa_pool.mu);
            while (sa_pool.gen == seen) {
                sa_pool.sleeping++;
                pthread_cond_wait(&sa_pool.go, &sa_pool.mu);
                sa_pool.sleeping--;
            }
            pthread_mutex_unlock(&sa_pool.mu);
            continue;
        }
        sa_job job;
        if (!sa_read_job(g, &job)) {  /* being written: read it again */
            SA_PAUSE();
            continue;
        }
        seen = g;
        const int64_t slot = sa_claim(&sa_pool.slots, g, (uint32_t)job.threads);
        spin = slot > 0 && may_spin;
        if (slot > 0 && job.gang) {
            job.fn(job.ctx, (Py_ssize_t)slot, (Py_ssize_t)slot + 1, (int)slot);
            __atomic_fetch_add(&sa_pool.done, 1, __ATOMIC_RELEASE);
        } else if (slot > 0) {
            sa_work(&job, g, (int)slot);
        }
    }
    return NULL;
}

static void sa_atfork_child(void) {
    pthread_mutex_init(&sa_pool.mu, NULL);
    pthread_cond_init(&sa_pool.go, NULL);
    pthread_cond_init(&sa_pool.idle, NULL);
    sa_pool.n_workers = 0;
    sa_pool.sleeping = 0;
    sa_pool.busy = 0;
    sa_pool.waiting = 0;
    for (int k = 0; k < SA_MAX_THREADS; k++) sa_pool.tid[k] = 0;
    sa_forked = 1;
}
static void sa_atfork_prepare(void) { pthread_mutex_lock(&sa_pool.mu); }
static void sa_atfork_parent(void) { pthread_mutex_unlock(&sa_pool.mu); }
static void sa_install(void) {
    cpu_set_t cpus;
    sa_pool.cores = sched_getaffinity(0, sizeof(cpus), &cpus) == 0 ? CPU_COUNT(&cpus)
                                                                 : 1;
    if (sa_pool.cores < 1) sa_pool.cores = 1;
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

/* Publish job j as a new generation and wake the sleepers it needs (mu held,
   pool not busy).  gen is odd while the job is written (see sa_read_job). */
static uint32_t sa_start(const sa_job *j, uint32_t first_chunk) {
    sa_pool.busy = 1;
    const uint32_t gen = sa_pool.gen + 2;
    __atomic_store_n(&sa_pool.gen, gen - 1, __ATOMIC_RELAXED);
    __atomic_thread_fence(__ATOMIC_RELEASE);
    uint64_t *dst = (uint64_t *)&sa_pool.job;
    const uint64_t *src = (const uint64_t *)j;
    for (size_t i = 0; i < sizeof(sa_job) / 8; i++)
        __atomic_store_n(&dst[i], src[i], __ATOMIC_RELAXED);
    __atomic_store_n(&sa_pool.done, 0, __ATOMIC_RELAXED);
    __atomic_store_n(&sa_pool.by_others, 0, __ATOMIC_RELAXED);
    __atomic_store_n(&sa_pool.ticket, (uint64_t)gen << 32 | first_chunk,
                     __ATOMIC_RELAXED);
    __atomic_store_n(&sa_pool.slots, (uint64_t)gen << 32 | 1, __ATOMIC_RELAXED);
    __atomic_store_n(&sa_pool.gen, gen, __ATOMIC_RELEASE);
    const int need = j->threads - 1;
    if (need >= sa_pool.sleeping) {
        pthread_cond_broadcast(&sa_pool.go);
    } else {
        for (int i = 0; i < need; i++) pthread_cond_signal(&sa_pool.go);
    }
    return gen;
}

/* The call is over: free the pool for the next one. */
static void sa_finish(long *counter) {
    pthread_mutex_lock(&sa_pool.mu);
    sa_pool.busy = 0;
    (*counter)++;
    if (sa_pool.waiting) pthread_cond_broadcast(&sa_pool.idle);
    pthread_mutex_unlock(&sa_pool.mu);
}

/* Wait until workers finished `count` chunks (gang: parts) of this call. */
static void sa_wait_done(uint32_t count) {
    for (long spins = 0; __atomic_load_n(&sa_pool.done, __ATOMIC_ACQUIRE) < count;
         spins++) {
        if (spins < 4096) SA_PAUSE();
        else sched_yield();
    }
}

/* Run job j on up to j->threads threads; returns the chunks others ran. */
static int sa_run(sa_job *j) {
    if (j->nchunks == 0) return 0;
    int parallel = j->threads > 1 && j->nchunks > 1 && !sa_inside;
    uint32_t gen = 0;
    if (parallel) {
        pthread_once(&sa_once, sa_install);
        pthread_mutex_lock(&sa_pool.mu);
        if (sa_pool.busy || sa_pool.waiting) {
            parallel = 0;
        } else {
            j->threads = sa_grow(j->threads < SA_MAX_THREADS ? j->threads
                                                             : SA_MAX_THREADS);
            parallel = j->threads > 1;
        }
        if (parallel) gen = sa_start(j, 0);
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
    sa_inside = 1;
    sa_work(j, gen, 0);
    sa_wait_done(j->nchunks);  /* the rest: chunks workers took and are computing */
    sa_inside = 0;
    const int others = (int)__atomic_load_n(&sa_pool.by_others, __ATOMIC_RELAXED);
    sa_finish(&sa_pool.n_parallel);
    return others;
}

static int sa_parallel_chunks(sa_task fn, void *ctx, Py_ssize_t n, Py_ssize_t chunk,
                              int nthreads) {
    sa_job j = {.fn = fn, .ctx = ctx, .n = n, .chunk = chunk < 1 ? 1 : chunk,
                .align = 1, .threads = nthreads};
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
    sa_job j = {.fn = fn, .ctx = ctx, .n = n, .align = align,
                .nchunks = (uint32_t)(parts > 0 ? parts : 0), .by_part = 1,
                .threads = parts};
    return sa_run(&j);
}

/* -- gangs on temporary threads (nested gangs) ------------------------------ */

typedef struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int go;                   /* 0: wait, 1: run your part, -1: exit */
    sa_task fn;
    void *ctx;
} sa_crew;

typedef struct {
    sa_crew *crew;
    int part;
} sa_crew_member;

static void *sa_crew_main(void *arg) {
    const sa_crew_member *m = (const sa_crew_member *)arg;
    sa_crew *crew = m->crew;
    sa_inside = 1;
    pthread_mutex_lock(&crew->mu);
    while (crew->go == 0) pthread_cond_wait(&crew->cv, &crew->mu);
    const int go = crew->go;
    pthread_mutex_unlock(&crew->mu);
    if (go > 0) crew->fn(crew->ctx, m->part, m->part + 1, m->part);
    return NULL;
}

/* Parts 1.. on threads started for this call; none runs unless all start. */
static int sa_gang_temporary(sa_task fn, void *ctx, int parts) {
    sa_crew crew = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, fn, ctx};
    sa_crew_member members[SA_MAX_THREADS];
    pthread_t tids[SA_MAX_THREADS];
    sigset_t all, old;
    int started = 0;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    for (int k = 1; k < parts; k++, started++) {
        members[k].crew = &crew;
        members[k].part = k;
        if (pthread_create(&tids[k], NULL, sa_crew_main, &members[k])) break;
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    const int ok = started == parts - 1;
    pthread_mutex_lock(&crew.mu);
    crew.go = ok ? 1 : -1;
    pthread_cond_broadcast(&crew.cv);
    pthread_mutex_unlock(&crew.mu);
    if (ok) {
        const int was_inside = sa_inside;
        sa_inside = 1;
        fn(ctx, 0, 1, 0);
        sa_inside = was_inside;
    }
    for (int k = 1; k <= started; k++) pthread_join(tids[k], NULL);
    __atomic_fetch_add(&sa_pool.n_gang_temporary, 1, __ATOMIC_RELAXED);
    return ok ? parts - 1 : -1;
}

/* fn(ctx, k, k + 1, k) for k < parts, all at once on distinct threads (part 0
   on the caller); returns parts - 1 (the parts other threads ran), or -1
   without running any part when the threads cannot be had. */
static int sa_parallel_gang(sa_task fn, void *ctx, int parts) {
    if (parts <= 1) {
        if (parts == 1) fn(ctx, 0, 1, 0);
        return 0;
    }
    if (parts > SA_MAX_THREADS) return -1;
    if (sa_inside) return sa_gang_temporary(fn, ctx, parts);  /* nested */
    pthread_once(&sa_once, sa_install);
    pthread_mutex_lock(&sa_pool.mu);
    if (sa_pool.busy) {
        sa_pool.n_gang_waits++;
        sa_pool.waiting++;
        while (sa_pool.busy) pthread_cond_wait(&sa_pool.idle, &sa_pool.mu);
        sa_pool.waiting--;
    }
    if (sa_grow(parts) < parts) {
        pthread_mutex_unlock(&sa_pool.mu);
        return sa_gang_temporary(fn, ctx, parts);
    }
    const sa_job j = {.fn = fn, .ctx = ctx, .n = parts, .align = 1,
                      .nchunks = (uint32_t)parts, .by_part = 1, .threads = parts,
                      .gang = 1};
    sa_start(&j, 1);
    pthread_mutex_unlock(&sa_pool.mu);
    sa_inside = 1;
    fn(ctx, 0, 1, 0);
    sa_wait_done((uint32_t)parts - 1);
    sa_inside = 0;
    sa_finish(&sa_pool.n_gang);
    return parts - 1;
}

/* -- introspection ---------------------------------------------------------- */

/* Kernel thread ids of the live workers into out[]; returns how many. */
static int sa_worker_tids(long *out) {
    pthread_mutex_lock(&sa_pool.mu);
    const int n = sa_pool.n_workers;
    for (int k = 1; k <= n; k++) {
        long t;
        while (!(t = __atomic_load_n(&sa_pool.tid[k], __ATOMIC_ACQUIRE)))
            sched_yield();  /* a worker just started */
        out[k - 1] = t;
    }
    pthread_mutex_unlock(&sa_pool.mu);
    return n;
}

/* workers, parallel calls, gangs, gangs that waited for the pool, gangs on
   temporary threads */
static void sa_stats(long *out) {
    pthread_mutex_lock(&sa_pool.mu);
    out[0] = sa_pool.n_workers;
    out[1] = sa_pool.n_parallel;
    out[2] = sa_pool.n_gang;
    out[3] = sa_pool.n_gang_waits;
    out[4] = __atomic_load_n(&sa_pool.n_gang_temporary, __ATOMIC_RELAXED);
    pthread_mutex_unlock(&sa_pool.mu);
}

static void sa_set_spin_ns(long ns) {
    __atomic_store_n(&sa_pool.spin_ns, ns > 0 ? ns : 0, __ATOMIC_RELAXED);
}
static long sa_get_spin_ns(void) {
    return __atomic_load_n(&sa_pool.spin_ns, __ATOMIC_RELAXED);
}

#endif
