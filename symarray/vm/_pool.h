/* The buffer pool: a NumPy data allocator (NEP 49) that keeps freed large
 * blocks for the next allocation of about the same size.
 *
 * Why: a compiled function with large intermediates frees and allocates the
 * same few sizes on every call.  glibc serves blocks above its mmap threshold
 * with fresh mappings (or trims its heap after the frees), so every call
 * page-faults its intermediates in again: for an MLP training step that is
 * 1,765 faults and 3 ms of a 9.4 ms step.  The pool keeps such blocks mapped
 * and hands them back, so a steady-state call faults nothing.
 *
 * Layout: every block starts with a 64-byte header (magic, requested size,
 * capacity), and the data follows it, so `free` never trusts the size NumPy
 * passes and `realloc` knows the old size.  Blocks of at least
 * SA_POOL_MIN_BYTES come from mmap (huge pages advised from 4 MiB) and go
 * back to the free list; smaller ones are plain malloc blocks.
 *
 * The free list is a fixed table of SA_POOL_SLOTS entries.  An allocation
 * takes the most recently freed block whose capacity fits with at most 25%
 * slack (recent blocks are the ones still in cache); a free that would
 * exceed the byte limit, or find the table full, unmaps the least recently
 * freed blocks first.  One mutex guards the table: frees can come from any
 * thread that drops the last reference to an array.
 */
#ifndef SYMARRAY_POOL_H
#define SYMARRAY_POOL_H

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define SA_POOL_HDR 64
#define SA_POOL_MIN_BYTES (128 * 1024)
#define SA_POOL_SLOTS 128
#define SA_POOL_HUGE_BYTES (4 * 1024 * 1024)
#define SA_MAGIC_SMALL 0x73796d61736d6c31ULL /* "symasml1" */
#define SA_MAGIC_BIG 0x73796d6162696731ULL   /* "symabig1" */

typedef struct {
    uint64_t magic;
    size_t size;     /* bytes requested by the caller */
    size_t capacity; /* bytes mapped, header included (big blocks) */
    char pad[SA_POOL_HDR - sizeof(uint64_t) - 2 * sizeof(size_t)];
} sa_hdr;

typedef struct {
    char *base;     /* the mapping (header first); NULL: empty slot */
    size_t capacity;
    uint64_t stamp; /* when it was freed: larger is more recent */
} sa_slot;

typedef struct {
    pthread_mutex_t lock;
    sa_slot slots[SA_POOL_SLOTS];
    size_t limit;          /* most bytes the free list keeps */
    size_t cached_bytes;   /* bytes in the free list */
    size_t cached_blocks;
    size_t live_bytes;     /* big blocks handed out and not freed */
    uint64_t clock;
    uint64_t hits, misses, evictions, returns;
} sa_pool_t;

static sa_pool_t sa_pool = {PTHREAD_MUTEX_INITIALIZER, {{0}}, 0, 0, 0, 0, 0, 0, 0, 0, 0};

static size_t sa_page_size(void) {
    static size_t page = 0;
    if (!page) {
        long p = sysconf(_SC_PAGESIZE);
        page = p > 0 ? (size_t)p : 4096;
    }
    return page;
}

static void sa_unmap(char *base, size_t capacity) { munmap(base, capacity); }

/* Evict the least recently freed block; the lock is held. */
static void sa_evict_oldest(void) {
    int i, oldest = -1;
    for (i = 0; i < SA_POOL_SLOTS; i++) {
        if (sa_pool.slots[i].base &&
            (oldest < 0 || sa_pool.slots[i].stamp < sa_pool.slots[oldest].stamp))
            oldest = i;
    }
    if (oldest < 0) return;
    sa_unmap(sa_pool.slots[oldest].base, sa_pool.slots[oldest].capacity);
    sa_pool.cached_bytes -= sa_pool.slots[oldest].capacity;
    sa_pool.cached_blocks--;
    sa_pool.evictions++;
    sa_pool.slots[oldest].base = NULL;
}

/* A big block of at least `need` bytes (header included), or NULL. */
static char *sa_big_get(size_t need, int *fresh) {
    int i, best = -1;
    char *base;
    size_t capacity, slack = need / 4;
    pthread_mutex_lock(&sa_pool.lock);
    for (i = 0; i < SA_POOL_SLOTS; i++) {
        sa_slot *s = &sa_pool.slots[i];
        if (s->base && s->capacity >= need && s->capacity - need <= slack &&
            (best < 0 || s->stamp > sa_pool.slots[best].stamp))
            best = i;
    }
    if (best >= 0) {
        base = sa_pool.slots[best].base;
        capacity = sa_pool.slots[best].capacity;
        sa_pool.slots[best].base = NULL;
        sa_pool.cached_bytes -= capacity;
        sa_pool.cached_blocks--;
        sa_pool.live_bytes += capacity;
        sa_pool.hits++;
        pthread_mutex_unlock(&sa_pool.lock);
        *fresh = 0;
        return base;
    }
    sa_pool.misses++;
    pthread_mutex_unlock(&sa_pool.lock);
    capacity = (need + sa_page_size() - 1) / sa_page_size() * sa_page_size();
    base = (char *)mmap(NULL, capacity, PROT_READ | PROT_WRITE,
                        MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (base == MAP_FAILED) return NULL;
#ifdef MADV_HUGEPAGE
    if (capacity >= SA_POOL_HUGE_BYTES) madvise(base, capacity, MADV_HUGEPAGE);
#endif
    ((sa_hdr *)base)->capacity = capacity;
    pthread_mutex_lock(&sa_pool.lock);
    sa_pool.live_bytes += capacity;
    pthread_mutex_unlock(&sa_pool.lock);
    *fresh = 1;
    return base;
}

/* Give a big block back: keep it while the limit allows, else unmap it. */
static void sa_big_put(char *base) {
    int i, empty = -1;
    size_t capacity = ((sa_hdr *)base)->capacity;
    pthread_mutex_lock(&sa_pool.lock);
    sa_pool.live_bytes -= capacity;
    if (capacity > sa_pool.limit) {
        pthread_mutex_unlock(&sa_pool.lock);
        sa_unmap(base, capacity);
        return;
    }
    while (sa_pool.cached_bytes + capacity > sa_pool.limit) sa_evict_oldest();
    for (i = 0; i < SA_POOL_SLOTS; i++)
        if (!sa_pool.slots[i].base) { empty = i; break; }
    if (empty < 0) {
        sa_evict_oldest();
        for (i = 0; i < SA_POOL_SLOTS; i++)
            if (!sa_pool.slots[i].base) { empty = i; break; }
    }
    sa_pool.slots[empty].base = base;
    sa_pool.slots[empty].capacity = capacity;
    sa_pool.slots[empty].stamp = ++sa_pool.clock;
    sa_pool.cached_bytes += capacity;
    sa_pool.cached_blocks++;
    sa_pool.returns++;
    pthread_mutex_unlock(&sa_pool.lock);
}

static void *sa_alloc(size_t size, int zero) {
    char *base;
    int fresh = 0;
    if (size > SIZE_MAX - 2 * SA_POOL_HDR - sa_page_size()) return NULL;
    if (size + SA_POOL_HDR < SA_POOL_MIN_BYTES) {
        base = zero ? (char *)calloc(1, size + SA_POOL_HDR)
                    : (char *)malloc(size + SA_POOL_HDR);
        if (!base) return NULL;
        ((sa_hdr *)base)->magic = SA_MAGIC_SMALL;
        ((sa_hdr *)base)->capacity = size + SA_POOL_HDR;
    } else {
        base = sa_big_get(size + SA_POOL_HDR, &fresh);
        if (!base) return NULL;
        ((sa_hdr *)base)->magic = SA_MAGIC_BIG;
        if (zero && !fresh) memset(base + SA_POOL_HDR, 0, size);
    }
    ((sa_hdr *)base)->size = size;
    return base + SA_POOL_HDR;
}

/* -- the NEP 49 functions -------------------------------------------------- */

static void *sa_malloc(void *ctx, size_t size) {
    (void)ctx;
    return sa_alloc(size, 0);
}

static void *sa_calloc(void *ctx, size_t nelem, size_t elsize) {
    (void)ctx;
    if (elsize && nelem > SIZE_MAX / elsize) return NULL;
    return sa_alloc(nelem * elsize, 1);
}

static void sa_free(void *ctx, void *ptr, size_t size) {
    char *base;
    (void)ctx;
    (void)size; /* the header knows */
    if (!ptr) return;
    base = (char *)ptr - SA_POOL_HDR;
    if (((sa_hdr *)base)->magic == SA_MAGIC_BIG) {
        ((sa_hdr *)base)->magic = 0;
        sa_big_put(base);
    } else {
        ((sa_hdr *)base)->magic = 0;
        free(base);
    }
}

static void *sa_realloc(void *ctx, void *ptr, size_t new_size) {
    char *base, *grown;
    void *fresh;
    size_t old;
    if (!ptr) return sa_malloc(ctx, new_size);
    base = (char *)ptr - SA_POOL_HDR;
    old = ((sa_hdr *)base)->size;
    if (((sa_hdr *)base)->magic == SA_MAGIC_SMALL &&
        new_size + SA_POOL_HDR < SA_POOL_MIN_BYTES) {
        grown = (char *)realloc(base, new_size + SA_POOL_HDR);
        if (!grown) return NULL;
        ((sa_hdr *)grown)->size = new_size;
        ((sa_hdr *)grown)->capacity = new_size + SA_POOL_HDR;
        return grown + SA_POOL_HDR;
    }
    if (((sa_hdr *)base)->magic == SA_MAGIC_BIG &&
        new_size + SA_POOL_HDR <= ((sa_hdr *)base)->capacity &&
        new_size >= old / 2) {
        ((sa_hdr *)base)->size = new_size; /* fits in place */
        return ptr;
    }
    fresh = sa_alloc(new_size, 0);
    if (!fresh) return NULL;
    memcpy(fresh, ptr, old < new_size ? old : new_size);
    sa_free(ctx, ptr, old);
    return fresh;
}

/* -- control ------------------------------------------------------------------ */

static void sa_pool_set_limit(size_t limit) {
    pthread_mutex_lock(&sa_pool.lock);
    sa_pool.limit = limit;
    while (sa_pool.cached_bytes > sa_pool.limit) sa_evict_oldest();
    pthread_mutex_unlock(&sa_pool.lock);
}

static void sa_pool_clear(void) {
    pthread_mutex_lock(&sa_pool.lock);
    while (sa_pool.cached_blocks) sa_evict_oldest();
    pthread_mutex_unlock(&sa_pool.lock);
}

static void sa_pool_after_fork_child(void) {
    pthread_mutex_init(&sa_pool.lock, NULL);
}

/* The handler NumPy calls (needs numpy/ndarraytypes.h included first). */
static PyDataMem_Handler sa_pool_handler = {
    "symarray_buffer_pool", 1, {NULL, sa_malloc, sa_calloc, sa_realloc, sa_free}};

#endif /* SYMARRAY_POOL_H */
