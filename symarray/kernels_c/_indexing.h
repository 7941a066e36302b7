/* C loops of symarray/kernels_c/_indexing.pyx: gathers and scatters over
   one index array (or a mask's or several index arrays' byte offsets), the
   mask scan and the coordinate offsets.

   A loop (SA_IX_LOOP) walks the outer positions (merged dims before the
   index), then the index positions, then runs a row operation over the
   inner dims: the *target* row is addressed through the index, the
   *sequential* row is the next one (see the module docstring of
   _indexing.pyx). */
#ifndef SYMARRAY_INDEXING_H
#define SYMARRAY_INDEXING_H

#include <string.h>
#include <numpy/ndarraytypes.h>

#define SA_IX_MAXD NPY_MAXDIMS

/* One gather/scatter: see the module docstring for the roles. */
typedef struct {
    int nd_outer;                     /* merged dims before the index */
    npy_intp outer_shape[SA_IX_MAXD];
    npy_intp outer_t[SA_IX_MAXD];     /* target strides */
    npy_intp outer_s[SA_IX_MAXD];     /* sequential strides */
    npy_intp m;                       /* number of index positions */
    const char *idx;                  /* int64 indices (or byte offsets) */
    npy_intp idx_st;                  /* byte stride of idx */
    npy_intp n;                       /* indexed length; negatives add n */
    npy_intp ax_t;                    /* target bytes per index unit */
    npy_intp ax_s;                    /* sequential stride per position */
    int nd_inner;                     /* merged dims after (>= 1) */
    npy_intp inner_shape[SA_IX_MAXD];
    npy_intp inner_t[SA_IX_MAXD];
    npy_intp inner_s[SA_IX_MAXD];
    char *t_base;
    char *s_base;
} sa_ix;

typedef void (*sa_ix_fn)(const sa_ix *a);

typedef struct { npy_uint64 lo, hi; } sa_b16;

/* d = s over n elements with byte strides (contiguous and broadcast
   source cases kept apart so the compiler vectorizes them). */
#define SA_IX_ROW(NAME, T, STMT)                                           \
static inline void NAME##_row(char *dp, npy_intp ds, const char *sp,       \
                              npy_intp ss, npy_intp n) {                   \
    if (ds == (npy_intp)sizeof(T) && ss == (npy_intp)sizeof(T)) {          \
        T *d = (T *)dp; const T *s = (const T *)sp;                        \
        for (npy_intp j = 0; j < n; j++) { STMT(d[j], s[j]); }             \
    } else if (ds == (npy_intp)sizeof(T) && ss == 0) {                     \
        T *d = (T *)dp; const T v = *(const T *)sp;                        \
        for (npy_intp j = 0; j < n; j++) { STMT(d[j], v); }                \
    } else {                                                               \
        for (npy_intp j = 0; j < n; j++, dp += ds, sp += ss) {             \
            STMT(*(T *)dp, *(const T *)sp); }                              \
    }                                                                      \
}                                                                          \
static inline void NAME##_one(char *dp, const char *sp) {                  \
    STMT(*(T *)dp, *(const T *)sp);                                        \
}                                                                          \
static void NAME##_rownd(char *dp, const npy_intp *dst, const char *sp,    \
                         const npy_intp *sst, int nd,                      \
                         const npy_intp *shape) {                          \
    npy_intp c[SA_IX_MAXD];                                                \
    int d;                                                                 \
    for (d = 0; d < nd; d++) c[d] = 0;                                     \
    for (;;) {                                                             \
        NAME##_row(dp, dst[nd - 1], sp, sst[nd - 1], shape[nd - 1]);       \
        for (d = nd - 2; d >= 0; d--) {                                    \
            dp += dst[d]; sp += sst[d];                                    \
            if (++c[d] < shape[d]) break;                                  \
            dp -= dst[d] * shape[d]; sp -= sst[d] * shape[d]; c[d] = 0;    \
        }                                                                  \
        if (d < 0) return;                                                 \
    }                                                                      \
}

/* The loop over outer positions and index positions.  GATHER: the
   sequential array is written (d = target row); else the target is.
   Rows of one element, of one run and of several dims get their own
   copy of the index loop (BODY), so the branch is taken once. */
#define SA_IX_FOR(BODY)                                                    \
    for (npy_intp i = 0; i < a->m; i++, ip += a->idx_st, sp += a->ax_s) { \
        npy_intp r = (npy_intp)*(const npy_int64 *)ip;                     \
        if (r < 0) r += a->n;                                              \
        char *tp = tb + r * a->ax_t;                                       \
        BODY;                                                              \
    }
#define SA_IX_LOOP(NAME, ROW, GATHER)                                      \
static void NAME(const sa_ix *a) {                                         \
    npy_intp c[SA_IX_MAXD];                                                \
    char *tb = a->t_base, *sb = a->s_base;                                 \
    const int nd = a->nd_outer, ni = a->nd_inner;                          \
    const npy_intp li = a->inner_shape[ni - 1];                            \
    const npy_intp it = a->inner_t[ni - 1], is = a->inner_s[ni - 1];       \
    int d;                                                                 \
    for (d = 0; d < nd; d++) c[d] = 0;                                     \
    for (;;) {                                                             \
        const char *ip = a->idx;                                           \
        char *sp = sb;                                                     \
        if (ni == 1 && li == 1) {                                          \
            if (GATHER) { SA_IX_FOR(ROW##_one(sp, tp)) }                   \
            else { SA_IX_FOR(ROW##_one(tp, sp)) }                          \
        } else if (ni == 1) {                                              \
            if (GATHER) { SA_IX_FOR(ROW##_row(sp, is, tp, it, li)) }       \
            else { SA_IX_FOR(ROW##_row(tp, it, sp, is, li)) }              \
        } else if (GATHER) {                                               \
            SA_IX_FOR(ROW##_rownd(sp, a->inner_s, tp, a->inner_t, ni,      \
                                  a->inner_shape))                         \
        } else {                                                           \
            SA_IX_FOR(ROW##_rownd(tp, a->inner_t, sp, a->inner_s, ni,      \
                                  a->inner_shape))                         \
        }                                                                  \
        for (d = nd - 1; d >= 0; d--) {                                    \
            tb += a->outer_t[d]; sb += a->outer_s[d];                      \
            if (++c[d] < a->outer_shape[d]) break;                         \
            tb -= a->outer_t[d] * a->outer_shape[d];                       \
            sb -= a->outer_s[d] * a->outer_shape[d]; c[d] = 0;             \
        }                                                                  \
        if (d < 0) return;                                                 \
    }                                                                      \
}

#define SA_SET(D, S) ((D) = (S))
#define SA_ADD(D, S) ((D) += (S))
/* integers wrap around like NumPy: add in unsigned arithmetic */
#define SA_ADDI8(D, S) ((D) = (npy_int8)((npy_uint8)(D) + (npy_uint8)(S)))
#define SA_ADDI16(D, S) ((D) = (npy_int16)((npy_uint16)(D) + (npy_uint16)(S)))
#define SA_ADDI32(D, S) ((D) = (npy_int32)((npy_uint32)(D) + (npy_uint32)(S)))
#define SA_ADDI64(D, S) ((D) = (npy_int64)((npy_uint64)(D) + (npy_uint64)(S)))

/* copies by item size (set and gather for every dtype) */
SA_IX_ROW(sa_cp1, npy_uint8, SA_SET)
SA_IX_ROW(sa_cp2, npy_uint16, SA_SET)
SA_IX_ROW(sa_cp4, npy_uint32, SA_SET)
SA_IX_ROW(sa_cp8, npy_uint64, SA_SET)
SA_IX_ROW(sa_cp16, sa_b16, SA_SET)
/* accumulation per numeric dtype */
SA_IX_ROW(sa_add_f4, npy_float32, SA_ADD)
SA_IX_ROW(sa_add_f8, npy_float64, SA_ADD)
SA_IX_ROW(sa_add_i1, npy_int8, SA_ADDI8)
SA_IX_ROW(sa_add_i2, npy_int16, SA_ADDI16)
SA_IX_ROW(sa_add_i4, npy_int32, SA_ADDI32)
SA_IX_ROW(sa_add_i8, npy_int64, SA_ADDI64)
SA_IX_ROW(sa_add_u1, npy_uint8, SA_ADD)
SA_IX_ROW(sa_add_u2, npy_uint16, SA_ADD)
SA_IX_ROW(sa_add_u4, npy_uint32, SA_ADD)
SA_IX_ROW(sa_add_u8, npy_uint64, SA_ADD)

SA_IX_LOOP(sa_gather1, sa_cp1, 1)
SA_IX_LOOP(sa_gather2, sa_cp2, 1)
SA_IX_LOOP(sa_gather4, sa_cp4, 1)
SA_IX_LOOP(sa_gather8, sa_cp8, 1)
SA_IX_LOOP(sa_gather16, sa_cp16, 1)
SA_IX_LOOP(sa_set1, sa_cp1, 0)
SA_IX_LOOP(sa_set2, sa_cp2, 0)
SA_IX_LOOP(sa_set4, sa_cp4, 0)
SA_IX_LOOP(sa_set8, sa_cp8, 0)
SA_IX_LOOP(sa_set16, sa_cp16, 0)
SA_IX_LOOP(sa_inc_f4, sa_add_f4, 0)
SA_IX_LOOP(sa_inc_f8, sa_add_f8, 0)
SA_IX_LOOP(sa_inc_i1, sa_add_i1, 0)
SA_IX_LOOP(sa_inc_i2, sa_add_i2, 0)
SA_IX_LOOP(sa_inc_i4, sa_add_i4, 0)
SA_IX_LOOP(sa_inc_i8, sa_add_i8, 0)
SA_IX_LOOP(sa_inc_u1, sa_add_u1, 0)
SA_IX_LOOP(sa_inc_u2, sa_add_u2, 0)
SA_IX_LOOP(sa_inc_u4, sa_add_u4, 0)
SA_IX_LOOP(sa_inc_u8, sa_add_u8, 0)

/* The loop for mode (0 gather, 1 inc, 2 set), dtype kind and item size. */
static sa_ix_fn sa_ix_find(int mode, int kind, int itemsize) {
    if (mode != 1) {
        switch (itemsize) {
        case 1: return mode == 0 ? sa_gather1 : sa_set1;
        case 2: return mode == 0 ? sa_gather2 : sa_set2;
        case 4: return mode == 0 ? sa_gather4 : sa_set4;
        case 8: return mode == 0 ? sa_gather8 : sa_set8;
        case 16: return mode == 0 ? sa_gather16 : sa_set16;
        default: return NULL;
        }
    }
    if (kind == 'f') {
        return itemsize == 4 ? sa_inc_f4 : itemsize == 8 ? sa_inc_f8 : NULL;
    }
    if (kind == 'i' || kind == 'u') {
        const int u = kind == 'u';
        switch (itemsize) {
        case 1: return u ? sa_inc_u1 : sa_inc_i1;
        case 2: return u ? sa_inc_u2 : sa_inc_i2;
        case 4: return u ? sa_inc_u4 : sa_inc_i4;
        case 8: return u ? sa_inc_u8 : sa_inc_i8;
        default: return NULL;
        }
    }
    return NULL;
}

/* Scan a bool mask of nd >= 1 dims (C order): with out == NULL count
   its True elements; else write the byte offsets into the target
   (strides tst) of the True elements to out, which has room for one
   more than their number (the store is unconditional).  The count. */
static npy_intp sa_mask_scan(int nd, const npy_intp *shape, const char *m,
                             const npy_intp *mst, const npy_intp *tst,
                             npy_int64 *out) {
    npy_intp c[SA_IX_MAXD], k = 0, off = 0;
    int d;
    for (d = 0; d < nd; d++) { c[d] = 0; if (shape[d] == 0) return 0; }
    const npy_intp n = shape[nd - 1], ms = mst[nd - 1], ts = tst[nd - 1];
    for (;;) {
        const char *mp = m;
        if (out == NULL) {
            for (npy_intp j = 0; j < n; j++, mp += ms) k += *mp != 0;
        } else {
            npy_intp o = off;
            for (npy_intp j = 0; j < n; j++, mp += ms, o += ts) {
                out[k] = o; k += *mp != 0; }
        }
        for (d = nd - 2; d >= 0; d--) {
            m += mst[d]; off += tst[d];
            if (++c[d] < shape[d]) break;
            m -= mst[d] * shape[d]; off -= tst[d] * shape[d]; c[d] = 0;
        }
        if (d < 0) return k;
    }
}

/* The first position whose index is outside [-n, n), or -1. */
static npy_intp sa_ix_check(const char *idx, npy_intp st, npy_intp m,
                            npy_intp n) {
    for (npy_intp i = 0; i < m; i++, idx += st) {
        const npy_int64 r = *(const npy_int64 *)idx;
        if (r < -(npy_int64)n || r >= (npy_int64)n) return i;
    }
    return -1;
}

/* Coordinate indexing x[i0, i1, ...]: k integer index arrays broadcast
   together, each indexing one axis.  sa_co_offsets turns them into the
   byte offset into the target of each position of the broadcast index
   shape (C order), so the loops above run with ax_t = 1 and n = 0. */
#define SA_CO_MAXK 8

typedef struct {
    int k;                            /* number of index arrays */
    int q;                            /* dims of the broadcast shape (>= 1) */
    npy_intp shape[SA_IX_MAXD];       /* the broadcast index shape */
    const char *data[SA_CO_MAXK];     /* each array's first element */
    int itemsize[SA_CO_MAXK];         /* 1, 2, 4 or 8 */
    int is_signed[SA_CO_MAXK];        /* else unsigned (uint64 reads as
                                         int64, as NumPy casts it to intp) */
    npy_intp st[SA_CO_MAXK][SA_IX_MAXD];  /* strides, 0 on broadcast dims */
    npy_intp n[SA_CO_MAXK];           /* length of the axis it indexes */
    npy_intp tst[SA_CO_MAXK];         /* target's byte stride on that axis */
} sa_co;

/* One array's pass over the positions: out = (first ? 0 : out) + index *
   target stride; 0, or -1 at the first index outside [-n, n). */
#define SA_CO_PASS(NAME, T)                                                \
static int NAME(const sa_co *c, int j, npy_int64 *out, int first) {       \
    npy_intp cnt[SA_IX_MAXD];                                              \
    const int q = c->q;                                                    \
    const npy_intp len = c->shape[q - 1], ist = c->st[j][q - 1];           \
    const npy_int64 n = c->n[j], tst = c->tst[j];                          \
    const char *p = c->data[j];                                            \
    int d;                                                                 \
    for (d = 0; d < q; d++) cnt[d] = 0;                                    \
    for (;;) {                                                             \
        const char *ip = p;                                                \
        for (npy_intp i = 0; i < len; i++, ip += ist) {                    \
            npy_int64 r = (npy_int64)*(const T *)ip;                       \
            if (r < 0) r += n;                                             \
            if ((npy_uint64)r >= (npy_uint64)n) return -1;                 \
            if (first) out[i] = r * tst; else out[i] += r * tst;           \
        }                                                                  \
        out += len;                                                        \
        for (d = q - 2; d >= 0; d--) {                                     \
            p += c->st[j][d];                                              \
            if (++cnt[d] < c->shape[d]) break;                             \
            p -= c->st[j][d] * c->shape[d]; cnt[d] = 0;                    \
        }                                                                  \
        if (d < 0) return 0;                                               \
    }                                                                      \
}

SA_CO_PASS(sa_co_i1, npy_int8)
SA_CO_PASS(sa_co_u1, npy_uint8)
SA_CO_PASS(sa_co_i2, npy_int16)
SA_CO_PASS(sa_co_u2, npy_uint16)
SA_CO_PASS(sa_co_i4, npy_int32)
SA_CO_PASS(sa_co_u4, npy_uint32)
SA_CO_PASS(sa_co_i8, npy_int64)
SA_CO_PASS(sa_co_u8, npy_uint64)

typedef int (*sa_co_fn)(const sa_co *c, int j, npy_int64 *out, int first);

/* The byte offsets of the positions (every shape[d] > 0) into out: 0, or
   -1 when an index is out of range (or an item size is unknown). */
static int sa_co_offsets(const sa_co *c, npy_int64 *out) {
    static const sa_co_fn passes[2][4] = {
        {sa_co_u1, sa_co_u2, sa_co_u4, sa_co_u8},
        {sa_co_i1, sa_co_i2, sa_co_i4, sa_co_i8}};
    for (int j = 0; j < c->k; j++) {
        const int size = c->itemsize[j];
        const int w = size == 1 ? 0 : size == 2 ? 1 : size == 4 ? 2 :
                      size == 8 ? 3 : -1;
        if (w < 0 || passes[c->is_signed[j] != 0][w](c, j, out, j == 0) < 0)
            return -1;
    }
    return 0;
}

#endif  /* SYMARRAY_INDEXING_H */
