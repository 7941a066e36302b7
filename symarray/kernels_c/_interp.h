/* The block interpreter's run loop: a program of typed block loops over
 * an n-d iteration space, one range of it per thread.
 *
 * A program is a list of instructions (loop, dst, a, b, c) over numbered
 * registers: inputs, constants, then temporaries.  A register points at one
 * block of up to SC_BLOCK values of its dtype.  For each block of the
 * output's elements (in C order):
 *
 * 1. every input register is pointed at the block's values: straight into
 *    the input array when its innermost stride is its itemsize, at a block
 *    filled with copies of one element when the stride is 0 (refilled only
 *    when that element changes), else at a block gathered from the strided
 *    values;
 * 2. an output that may be written directly (contiguous innermost, and
 *    overlapping no input) gets its register pointed into the output;
 * 3. the instructions run, each one loop over the whole block;
 * 4. outputs not written directly are copied (scattered) out.
 *
 * Blocks stay within one innermost row when rows are long (SC_ROW_MIN and
 * up) so that contiguous rows are read in place; short rows are gathered
 * into blocks that span rows.  Every read of a block's elements happens
 * before any write to them, so an output over an input of the same layout
 * (in-place) is safe.
 */
#ifndef SC_INTERP_H
#define SC_INTERP_H

#include <string.h>
#include <numpy/ndarraytypes.h>
#include "_loops.h"

#define SC_BLOCK 1024
#define SC_ROW_MIN 64
#define SC_MAXD NPY_MAXDIMS
/* bytes of a block: every register holds up to SC_BLOCK 8-byte values */
#define SC_BLOCK_BYTES (SC_BLOCK * 8)

typedef struct {
    sc_loop fn;
    int32_t dst, a, b, c;  /* registers; an unused operand repeats a */
} sc_instr;

typedef struct {
    /* the program (fixed when the thunk is made) */
    int n_instr, nin, nout, n_regs, nthreads;
    const sc_instr *code;
    const int32_t *out_reg;      /* nout: the register each output reads */
    void **home;                 /* nthreads x n_regs: each register's block */
    void **regs;                 /* nthreads x n_regs: pointers during a run */
    const char **filled;         /* nthreads x nin: element a block holds */
    int *status;                 /* nthreads: sc_status after the run */
    int checked;                 /* a loop may set sc_status (integer powers) */
    int flat;                    /* nd == 1, inputs contiguous or one element,
                                    outputs contiguous: sc_run_flat */
    /* one call (set by the thunk before running) */
    int nd;                      /* rank of the coalesced iteration space */
    npy_intp shape[SC_MAXD];
    npy_intp *strides;           /* (nin + nout) x SC_MAXD byte strides */
    char **base;                 /* nin + nout data pointers */
    int *isize;                  /* nin + nout item sizes */
    unsigned char *direct;       /* nout: may be written in place of its register */
} sc_exec;

/* Drop length-1 dimensions and merge neighbours whose strides line up for
   every operand; returns the new rank (>= 1). */
static int sc_coalesce(int nops, int ndim, npy_intp *shape, npy_intp *strides) {
    int nd = 0;
    for (int d = 0; d < ndim; d++) {
        if (shape[d] == 1) continue;
        int merge = nd > 0;
        for (int k = 0; merge && k < nops; k++) {
            const npy_intp *s = strides + k * SC_MAXD;
            if (s[nd - 1] != s[d] * shape[d]) merge = 0;
        }
        if (merge) {
            shape[nd - 1] *= shape[d];
            for (int k = 0; k < nops; k++)
                strides[k * SC_MAXD + nd - 1] = strides[k * SC_MAXD + d];
        } else {
            shape[nd] = shape[d];
            for (int k = 0; k < nops; k++)
                strides[k * SC_MAXD + nd] = strides[k * SC_MAXD + d];
            nd++;
        }
    }
    if (nd == 0) {  /* every dimension has length 1 */
        shape[0] = 1;
        for (int k = 0; k < nops; k++) strides[k * SC_MAXD] = 0;
        nd = 1;
    }
    return nd;
}

/* Copy n items of `isz` bytes from a strided run into a block, or back. */
static void sc_gather(char *dst, const char *src, npy_intp n, npy_intp step, int isz) {
    if (step == isz) { memcpy(dst, src, (size_t)(n * isz)); return; }
#define SC_GATHER_CASE(T) do { T *d = (T *)dst;                                 \
        for (npy_intp i = 0; i < n; i++, src += step) d[i] = *(const T *)src; } while (0)
    switch (isz) {
        case 1: SC_GATHER_CASE(uint8_t); break;
        case 2: SC_GATHER_CASE(uint16_t); break;
        case 4: SC_GATHER_CASE(uint32_t); break;
        default: SC_GATHER_CASE(uint64_t); break;
    }
#undef SC_GATHER_CASE
}
static void sc_scatter(char *dst, const char *src, npy_intp n, npy_intp step, int isz) {
    if (step == isz) { memmove(dst, src, (size_t)(n * isz)); return; }
#define SC_SCATTER_CASE(T) do { const T *s = (const T *)src;                   \
        for (npy_intp i = 0; i < n; i++, dst += step) *(T *)dst = s[i]; } while (0)
    switch (isz) {
        case 1: SC_SCATTER_CASE(uint8_t); break;
        case 2: SC_SCATTER_CASE(uint16_t); break;
        case 4: SC_SCATTER_CASE(uint32_t); break;
        default: SC_SCATTER_CASE(uint64_t); break;
    }
#undef SC_SCATTER_CASE
}

/* Fill a block with n copies of one item. */
static void sc_fill(char *dst, const char *src, npy_intp n, int isz) {
#define SC_FILL_CASE(T) do { const T v = *(const T *)src; T *d = (T *)dst;      \
        for (npy_intp i = 0; i < n; i++) d[i] = v; } while (0)
    switch (isz) {
        case 1: SC_FILL_CASE(uint8_t); break;
        case 2: SC_FILL_CASE(uint16_t); break;
        case 4: SC_FILL_CASE(uint32_t); break;
        default: SC_FILL_CASE(uint64_t); break;
    }
#undef SC_FILL_CASE
}

/* Move the C-order index idx forward by n elements. */
static inline void sc_advance(int nd, const npy_intp *shape, npy_intp *idx, npy_intp n) {
    for (int d = nd - 1; d >= 0 && n; d--) {
        n += idx[d];
        idx[d] = n % shape[d];
        n /= shape[d];
    }
}

/* Copy n elements starting at index `start` between a strided n-d array
   and a block (blocks that span rows). */
static void sc_copy_nd(int nd, const npy_intp *shape, const npy_intp *start,
                       npy_intp n, char *data, const npy_intp *strides,
                       char *block, int isz, int scatter) {
    npy_intp idx[SC_MAXD];
    const int last = nd - 1;
    npy_intp done = 0;
    for (int d = 0; d < nd; d++) idx[d] = start[d];
    while (done < n) {
        npy_intp m = shape[last] - idx[last];
        if (m > n - done) m = n - done;
        char *p = data;
        for (int d = 0; d < nd; d++) p += idx[d] * strides[d];
        if (scatter) sc_scatter(p, block + done * isz, m, strides[last], isz);
        else sc_gather(block + done * isz, p, m, strides[last], isz);
        done += m;
        sc_advance(nd, shape, idx, m);
    }
}

/* sc_run_range when every input is contiguous or a single element and
   every output contiguous (e->flat, the common case): no index arithmetic. */
static void sc_run_flat(sc_exec *e, npy_intp begin, npy_intp end, int t) {
    void **regs = e->regs + (size_t)t * e->n_regs;
    void **home = e->home + (size_t)t * e->n_regs;
    const int nin = e->nin, nout = e->nout;
    const npy_intp *st = e->strides;
    for (int r = 0; r < e->n_regs; r++) regs[r] = home[r];
    for (int i = 0; i < nin; i++) {  /* single elements: one fill per run */
        if (st[i * SC_MAXD] == 0) {
            const npy_intp n = e->shape[0] < SC_BLOCK ? e->shape[0] : SC_BLOCK;
            sc_fill((char *)home[i], e->base[i], n, e->isize[i]);
        }
    }
    if (e->checked) sc_status = 0;
    for (npy_intp off = begin; off < end; off += SC_BLOCK) {
        const npy_intp n = end - off < SC_BLOCK ? end - off : SC_BLOCK;
        for (int i = 0; i < nin; i++)
            if (st[i * SC_MAXD]) regs[i] = e->base[i] + off * e->isize[i];
        for (int o = 0; o < nout; o++)
            if (e->direct[o]) regs[e->out_reg[o]] = e->base[nin + o] + off * e->isize[nin + o];
        for (int k = 0; k < e->n_instr; k++) {
            const sc_instr *ins = e->code + k;
            ins->fn((char *)regs[ins->dst], (const char *)regs[ins->a],
                    (const char *)regs[ins->b], (const char *)regs[ins->c], n);
        }
        for (int o = 0; o < nout; o++) {
            const int isz = e->isize[nin + o];
            char *p = e->base[nin + o] + off * isz;
            const char *src = (const char *)regs[e->out_reg[o]];
            if (p != src) memmove(p, src, (size_t)(n * isz));
        }
    }
    if (e->checked) e->status[t] = sc_status;
}

/* Run the program over elements [begin, end) of the iteration space with
   thread t's registers. */
static void sc_run_range(sc_exec *e, npy_intp begin, npy_intp end, int t) {
    if (e->flat) {
        sc_run_flat(e, begin, end, t);
        return;
    }
    void **regs = e->regs + (size_t)t * e->n_regs;
    void **home = e->home + (size_t)t * e->n_regs;
    const char **filled = e->filled + (size_t)t * e->nin;
    const int nd = e->nd, last = e->nd - 1, nin = e->nin, nops = e->nin + e->nout;
    const npy_intp inner = e->shape[last];
    const int rows = nd == 1 || inner >= SC_ROW_MIN;
    npy_intp idx[SC_MAXD];
    npy_intp rem = begin;
    for (int d = last; d >= 0; d--) {
        if (rem) {
            idx[d] = rem % e->shape[d];
            rem /= e->shape[d];
        } else {
            idx[d] = 0;
        }
    }
    for (int r = 0; r < e->n_regs; r++) regs[r] = home[r];
    for (int i = 0; i < nin; i++) filled[i] = NULL;
    if (e->checked) sc_status = 0;  /* thread-local: only when needed */
    npy_intp off = begin;
    while (off < end) {
        npy_intp n = end - off;
        if (n > SC_BLOCK) n = SC_BLOCK;
        if (rows && n > inner - idx[last]) n = inner - idx[last];
        /* 1. inputs */
        for (int i = 0; i < nin; i++) {
            const npy_intp *st = e->strides + i * SC_MAXD;
            const int isz = e->isize[i];
            if (!rows) {
                sc_copy_nd(nd, e->shape, idx, n, e->base[i], st, (char *)home[i],
                           isz, 0);
                continue;
            }
            const char *p = e->base[i];
            for (int d = 0; d < nd; d++) p += idx[d] * st[d];
            if (st[last] == isz) {
                regs[i] = (void *)p;
            } else if (st[last] == 0) {
                if (filled[i] != p) {
                    sc_fill((char *)home[i], p, inner < SC_BLOCK ? inner : SC_BLOCK,
                            isz);
                    filled[i] = p;
                }
            } else {
                sc_gather((char *)home[i], p, n, st[last], isz);
            }
        }
        /* 2. outputs written in place of their register */
        for (int o = 0; o < e->nout; o++) {
            const npy_intp *st = e->strides + (nin + o) * SC_MAXD;
            if (rows && e->direct[o] && st[last] == e->isize[nin + o]) {
                char *p = e->base[nin + o];
                for (int d = 0; d < nd; d++) p += idx[d] * st[d];
                regs[e->out_reg[o]] = p;
            }
        }
        /* 3. the program */
        for (int k = 0; k < e->n_instr; k++) {
            const sc_instr *ins = e->code + k;
            ins->fn((char *)regs[ins->dst], (const char *)regs[ins->a],
                    (const char *)regs[ins->b], (const char *)regs[ins->c], n);
        }
        /* 4. the other outputs */
        for (int o = 0; o < e->nout; o++) {
            const npy_intp *st = e->strides + (nin + o) * SC_MAXD;
            const int isz = e->isize[nin + o];
            const char *src = (const char *)regs[e->out_reg[o]];
            if (!rows) {
                sc_copy_nd(nd, e->shape, idx, n, e->base[nin + o], st, (char *)src,
                           isz, 1);
                continue;
            }
            char *p = e->base[nin + o];
            for (int d = 0; d < nd; d++) p += idx[d] * st[d];
            if (p != src) sc_scatter(p, src, n, st[last], isz);
        }
        if (rows) {  /* the block ended within its row: no division */
            idx[last] += n;
            for (int d = last; d > 0 && idx[d] == e->shape[d]; d--) {
                idx[d] = 0;
                idx[d - 1]++;
            }
        } else {
            sc_advance(nd, e->shape, idx, n);
        }
        off += n;
    }
    (void)nops;
    if (e->checked) e->status[t] = sc_status;
}

#endif
