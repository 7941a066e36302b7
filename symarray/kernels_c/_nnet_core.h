/* Softmax and log-softmax along one axis of an N-d float32/float64 array.
 *
 * A *row* is one slice along the normalized axis (length n).  Per row, as
 * the ops' NumPy perform computes it:
 *
 *   m = max(x)
 *   d = x - m                   in the array's dtype
 *   s = sum(exp(d))             accumulated in double
 *   softmax:      exp(d) * (1 / s)     (perform divides: <= 1 ulp apart)
 *   log-softmax:  d - log(s)
 *
 * NaN and infinities come out where perform has them without a test: a row
 * holding NaN has a NaN d, so s and every output are NaN whatever m is (the
 * max loops may skip a NaN); a row of -inf has m = -inf and d = NaN; a row
 * holding +inf has d = NaN there and s = NaN.
 *
 * Layout: the rows are the elements of the other axes (length-1 axes
 * dropped, axes sorted by input stride, adjacent axes merged when both
 * arrays allow it), walked in that order.  Three paths:
 *
 * - *in place*: long rows (n >= NN_LONG) contiguous in the input and the
 *   output, one row at a time with "omp simd" loops;
 * - *rows*: blocks of g rows; each row's d goes to a contiguous scratch
 *   block ([row][i]), exp runs over the whole block at once (rows of 10
 *   still fill the vector lanes instead of running a scalar remainder per
 *   row), then each row is summed and written.  The axis is walked with its
 *   stride (any sign);
 * - *lanes*: when rows lie closer together than the steps along the axis
 *   (softmax over axis 0 of a C-ordered matrix), a block is g neighbouring
 *   rows of the innermost outer axis (about NN_LANE_BLOCK bytes) and every
 *   loop runs across them, so reads and writes follow memory and vectorize;
 *   exp(d) goes straight to the output and is scaled in a last pass (no
 *   scratch).
 *
 * Threads get chunks of whole blocks: a chunk is a multiple of g rows,
 * blocks start at multiples of g (lanes blocks also end where the innermost
 * outer axis wraps), each rows block's scratch is 64-byte aligned and its
 * exp loop runs over a multiple of NN_LANES elements (zero padded).  So
 * every element meets the same code whatever the thread count, and results
 * are identical for any number of threads.
 *
 * Vector math: glibc's libmvec provides SIMD exp; "omp declare simd"
 * declarations (compiled with -fopenmp-simd and -fno-math-errno, not
 * -ffast-math: NaN and infinities keep their meaning) let gcc call it from
 * "omp simd" loops, and the hot functions are compiled for AVX-512, AVX2
 * and the baseline (target_clones, picked at load time).
 */
#ifndef NN_CORE_H
#define NN_CORE_H

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <numpy/ndarraytypes.h>

#if defined(__x86_64__) && defined(__GLIBC__) && defined(__GLIBC_PREREQ)
#if __GLIBC_PREREQ(2, 35)
_Pragma("omp declare simd notinbranch") extern double exp(double);
_Pragma("omp declare simd notinbranch") extern float expf(float);
#endif
#endif

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && \
    defined(__linux__) && __GNUC__ >= 11
#define NN_HOT __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", \
                                            "default")))
#else
#define NN_HOT
#endif

#define NN_MAXD 64       /* NumPy 2's NPY_MAXDIMS */
#define NN_LONG 128      /* contiguous rows this long are computed in place */
#define NN_BLOCK 2048    /* elements of a rows block (aim) */
#define NN_LANE_BLOCK (1024 * 1024)  /* bytes of a lanes block (aim) */
#define NN_GROUP 1024    /* most rows in a block */
#define NN_LANES 16      /* exp loops run over multiples of this */
#define NN_ALIGN 64      /* scratch blocks start at multiples of this */

enum { NN_IN_PLACE = 0, NN_ROWS = 1, NN_BY_LANES = 2 };

typedef struct {
    int log;                    /* 1: log-softmax, 0: softmax */
    int f32;                    /* 1: float32, 0: float64 */
    npy_intp isz;               /* itemsize */
    npy_intp n;                 /* length of the normalized axis */
    npy_intp sx, so;            /* its strides in bytes: input, output */
    int nd;                     /* outer axes after dropping and merging */
    npy_intp shape[NN_MAXD];    /* their lengths, largest input stride first */
    npy_intp xstr[NN_MAXD];     /* their input strides */
    npy_intp ostr[NN_MAXD];     /* their output strides */
    npy_intp rows;              /* number of rows (product of shape) */
    int path;                   /* NN_IN_PLACE, NN_ROWS or NN_BY_LANES */
    npy_intp group;             /* rows per block (1 in place) */
    npy_intp part_bytes;        /* scratch bytes per thread part (aligned) */
    const char *x;              /* input data */
    char *out;                  /* output data */
    char *scratch;              /* NN_ALIGN-aligned, part_bytes per part */
} nn_plan;

#define NN_AT(T, ptr, i, st) (*(const T *)((ptr) + (i) * (st)))
#define NN_OUT(T, ptr, i, st) (*(T *)((ptr) + (i) * (st)))

#define NN_DEFS(T, S, EXP)                                                     \
    /* max of n >= 1 contiguous values (may skip NaN: see above) */           \
    static inline T nn_max_##S(const T *restrict x, npy_intp n) {              \
        T m = x[0];                                                            \
        if (n < 32) {                                                          \
            for (npy_intp i = 1; i < n; i++)                                   \
                m = x[i] > m ? x[i] : m;                                       \
        } else {                                                               \
            _Pragma("omp simd reduction(max:m)")                               \
            for (npy_intp i = 1; i < n; i++)                                   \
                m = x[i] > m ? x[i] : m;                                       \
        }                                                                      \
        return m;                                                              \
    }                                                                          \
    static inline double nn_sum_##S(const T *restrict w, npy_intp n) {         \
        double s = 0.0;                                                        \
        if (n < 32) {                                                          \
            for (npy_intp i = 0; i < n; i++)                                   \
                s += (double)w[i];                                             \
        } else {                                                               \
            _Pragma("omp simd reduction(+:s)")                                 \
            for (npy_intp i = 0; i < n; i++)                                   \
                s += (double)w[i];                                             \
        }                                                                      \
        return s;                                                              \
    }                                                                          \
    /* exp over a block: len a multiple of NN_LANES, w NN_ALIGN-aligned */    \
    NN_HOT static void nn_exp_##S(T *restrict w, npy_intp len) {               \
        _Pragma("omp simd aligned(w:64)")                                      \
        for (npy_intp k = 0; k < len; k++)                                     \
            w[k] = EXP(w[k]);                                                  \
    }                                                                          \
    /* zero the padding after len elements and run exp over the block */      \
    static inline void nn_exp_block_##S(T *restrict w, npy_intp len) {         \
        const npy_intp padded = (len + NN_LANES - 1) / NN_LANES * NN_LANES;    \
        for (npy_intp k = len; k < padded; k++)                                \
            w[k] = 0;                                                          \
        nn_exp_##S(w, padded);                                                 \
    }                                                                          \
                                                                               \
    /* in place: one long contiguous row */                                   \
    NN_HOT static void nn_row_##S(const T *restrict x, T *restrict y,          \
                                  npy_intp n, int lg) {                        \
        const T m = nn_max_##S(x, n);                                          \
        double s = 0.0;                                                        \
        if (lg) {                                                              \
            _Pragma("omp simd reduction(+:s)")                                 \
            for (npy_intp i = 0; i < n; i++)                                   \
                s += (double)EXP(x[i] - m);                                    \
            const T l = (T)log(s);                                             \
            _Pragma("omp simd")                                                \
            for (npy_intp i = 0; i < n; i++)                                   \
                y[i] = (x[i] - m) - l;                                         \
        } else {                                                               \
            _Pragma("omp simd reduction(+:s)")                                 \
            for (npy_intp i = 0; i < n; i++) {                                 \
                const T e = EXP(x[i] - m);                                     \
                y[i] = e;                                                      \
                s += (double)e;                                                \
            }                                                                  \
            const T c = (T)(1.0 / s);                                          \
            _Pragma("omp simd")                                                \
            for (npy_intp i = 0; i < n; i++)                                   \
                y[i] = y[i] * c;                                               \
        }                                                                      \
    }                                                                          \
                                                                               \
    /* rows: g rows (xp[r], op[r]) through the scratch block w[r][i] */       \
    NN_HOT static void nn_rows_block_##S(const nn_plan *p,                     \
                                         const char *const *xp,                \
                                         char *const *op, npy_intp g,          \
                                         T *restrict w) {                      \
        const npy_intp n = p->n, sx = p->sx, so = p->so;                       \
        const int xunit = sx == (npy_intp)sizeof(T);                           \
        const int ounit = so == (npy_intp)sizeof(T);                           \
        T m[NN_GROUP], c[NN_GROUP];                                            \
        for (npy_intp r = 0; r < g; r++) {  /* maxima, then d */               \
            const char *xr = xp[r];                                            \
            T *restrict wr = w + r * n;                                        \
            if (xunit) {                                                       \
                const T *restrict xi = (const T *)xr;                          \
                const T mr = nn_max_##S(xi, n);                                \
                for (npy_intp i = 0; i < n; i++)                               \
                    wr[i] = xi[i] - mr;                                        \
                m[r] = mr;                                                     \
            } else {                                                           \
                T mr = NN_AT(T, xr, 0, sx);                                    \
                for (npy_intp i = 1; i < n; i++) {                             \
                    const T v = NN_AT(T, xr, i, sx);                           \
                    mr = v > mr ? v : mr;                                      \
                }                                                              \
                for (npy_intp i = 0; i < n; i++)                               \
                    wr[i] = NN_AT(T, xr, i, sx) - mr;                          \
                m[r] = mr;                                                     \
            }                                                                  \
        }                                                                      \
        nn_exp_block_##S(w, g * n);                                            \
        for (npy_intp r = 0; r < g; r++) {                                     \
            const double s = nn_sum_##S(w + r * n, n);                         \
            c[r] = p->log ? (T)log(s) : (T)(1.0 / s);                          \
        }                                                                      \
        for (npy_intp r = 0; r < g; r++) {                                     \
            const T *restrict wr = w + r * n;                                  \
            const char *xr = xp[r];                                            \
            char *yr = op[r];                                                  \
            const T mr = m[r], cr = c[r];                                      \
            if (p->log && xunit && ounit) {                                    \
                const T *restrict xi = (const T *)xr;                          \
                T *restrict yo = (T *)yr;                                      \
                for (npy_intp i = 0; i < n; i++)                               \
                    yo[i] = (xi[i] - mr) - cr;                                 \
            } else if (p->log) {                                               \
                for (npy_intp i = 0; i < n; i++)                               \
                    NN_OUT(T, yr, i, so) = (NN_AT(T, xr, i, sx) - mr) - cr;    \
            } else if (ounit) {                                                \
                T *restrict yo = (T *)yr;                                      \
                for (npy_intp i = 0; i < n; i++)                               \
                    yo[i] = wr[i] * cr;                                        \
            } else {                                                           \
                for (npy_intp i = 0; i < n; i++)                               \
                    NN_OUT(T, yr, i, so) = wr[i] * cr;                         \
            }                                                                  \
        }                                                                      \
    }                                                                          \
                                                                               \
    /* lanes: g rows x0 + r * ls (output o0 + r * lo), every loop across   \
       them; exp(d) goes to the output and is scaled in a last pass */        \
    NN_HOT static void nn_lanes_block_##S(const nn_plan *p, const char *x0,    \
                                          char *o0, npy_intp g) {              \
        const npy_intp n = p->n, sx = p->sx, so = p->so;                       \
        const npy_intp ls = p->xstr[p->nd - 1], lo = p->ostr[p->nd - 1];       \
        const int xunit = ls == (npy_intp)sizeof(T);                           \
        T m[NN_GROUP], c[NN_GROUP];                                            \
        T t[NN_GROUP] __attribute__((aligned(NN_ALIGN)));                      \
        double s[NN_GROUP];                                                    \
        for (npy_intp r = 0; r < g; r++) {                                     \
            m[r] = NN_AT(T, x0, r, ls);                                        \
            s[r] = 0.0;                                                        \
        }                                                                      \
        for (npy_intp i = 1; i < n; i++) {                                     \
            const char *xi = x0 + i * sx;                                      \
            if (xunit) {                                                       \
                const T *restrict v = (const T *)xi;                           \
                _Pragma("omp simd")                                            \
                for (npy_intp r = 0; r < g; r++)                               \
                    m[r] = v[r] > m[r] ? v[r] : m[r];                          \
            } else {                                                           \
                for (npy_intp r = 0; r < g; r++) {                             \
                    const T v = NN_AT(T, xi, r, ls);                           \
                    m[r] = v > m[r] ? v : m[r];                                \
                }                                                              \
            }                                                                  \
        }                                                                      \
        const int unit = xunit && lo == (npy_intp)sizeof(T);                   \
        for (npy_intp i = 0; i < n; i++) {  /* exp(x - m), summed */           \
            const char *xi = x0 + i * sx;                                      \
            char *yi = o0 + i * so;                                            \
            if (unit && !p->log) {                                             \
                const T *restrict v = (const T *)xi;                           \
                T *restrict y = (T *)yi;                                       \
                _Pragma("omp simd")                                            \
                for (npy_intp r = 0; r < g; r++) {                             \
                    const T e = EXP(v[r] - m[r]);                              \
                    y[r] = e;                                                  \
                    s[r] += (double)e;                                         \
                }                                                              \
                continue;                                                      \
            }                                                                  \
            for (npy_intp r = 0; r < g; r++)                                   \
                t[r] = NN_AT(T, xi, r, ls) - m[r];                             \
            _Pragma("omp simd aligned(t:64)")                                  \
            for (npy_intp r = 0; r < g; r++) {                                 \
                t[r] = EXP(t[r]);                                              \
                s[r] += (double)t[r];                                          \
            }                                                                  \
            if (!p->log)                                                       \
                for (npy_intp r = 0; r < g; r++)                               \
                    NN_OUT(T, yi, r, lo) = t[r];                               \
        }                                                                      \
        for (npy_intp r = 0; r < g; r++)                                       \
            c[r] = p->log ? (T)log(s[r]) : (T)(1.0 / s[r]);                    \
        for (npy_intp i = 0; i < n; i++) {                                     \
            const char *xi = x0 + i * sx;                                      \
            char *yi = o0 + i * so;                                            \
            if (unit) {                                                        \
                const T *restrict v = (const T *)xi;                           \
                T *restrict y = (T *)yi;                                       \
                if (p->log) {                                                  \
                    _Pragma("omp simd")                                        \
                    for (npy_intp r = 0; r < g; r++)                           \
                        y[r] = (v[r] - m[r]) - c[r];                           \
                } else {                                                       \
                    _Pragma("omp simd")                                        \
                    for (npy_intp r = 0; r < g; r++)                           \
                        y[r] = y[r] * c[r];                                    \
                }                                                              \
            } else if (p->log) {                                               \
                for (npy_intp r = 0; r < g; r++)                               \
                    NN_OUT(T, yi, r, lo) = (NN_AT(T, xi, r, ls) - m[r]) - c[r]; \
            } else {                                                           \
                for (npy_intp r = 0; r < g; r++)                               \
                    NN_OUT(T, yi, r, lo) *= c[r];                              \
            }                                                                  \
        }                                                                      \
    }

NN_DEFS(double, f64, exp)
NN_DEFS(float, f32, expf)

/* -- the plan -------------------------------------------------------------- */

static inline npy_intp nn_abs(npy_intp v) { return v < 0 ? -v : v; }

/* Fill p's layout from the arrays' shape and strides (both ndim long);
   `axis` is the normalized axis (0 <= axis < ndim), every length >= 1. */
static void nn_prepare(nn_plan *p, int ndim, const npy_intp *shape,
                       const npy_intp *xstr, const npy_intp *ostr, int axis) {
    int nd = 0;
    p->n = shape[axis];
    p->sx = xstr[axis];
    p->so = ostr[axis];
    p->rows = 1;
    for (int d = 0; d < ndim; d++) {
        if (d == axis || shape[d] == 1)
            continue;
        /* insertion by |input stride|, largest first (stable) */
        int k = nd++;
        while (k > 0 && nn_abs(p->xstr[k - 1]) < nn_abs(xstr[d])) {
            p->shape[k] = p->shape[k - 1];
            p->xstr[k] = p->xstr[k - 1];
            p->ostr[k] = p->ostr[k - 1];
            k--;
        }
        p->shape[k] = shape[d];
        p->xstr[k] = xstr[d];
        p->ostr[k] = ostr[d];
        p->rows *= shape[d];
    }
    /* merge an axis into the next one when it steps over all of it */
    int m = 0;
    for (int d = 1; d < nd; d++) {
        if (p->xstr[m] == p->xstr[d] * p->shape[d] &&
            p->ostr[m] == p->ostr[d] * p->shape[d]) {
            p->shape[m] *= p->shape[d];
            p->xstr[m] = p->xstr[d];
            p->ostr[m] = p->ostr[d];
        } else {
            m++;
            p->shape[m] = p->shape[d];
            p->xstr[m] = p->xstr[d];
            p->ostr[m] = p->ostr[d];
        }
    }
    p->nd = nd ? m + 1 : 0;
    npy_intp g;
    if (p->sx == p->isz && p->so == p->isz && p->n >= NN_LONG) {
        p->path = NN_IN_PLACE;
        g = 1;
    } else if (p->nd > 0 && nn_abs(p->xstr[p->nd - 1]) < nn_abs(p->sx)) {
        p->path = NN_BY_LANES;
        g = NN_LANE_BLOCK / (p->n * p->isz);
        g = g < 16 ? 16 : g;
    } else {
        p->path = NN_ROWS;
        g = NN_BLOCK / p->n;
    }
    g = g < 1 ? 1 : (g > NN_GROUP ? NN_GROUP : g);
    p->group = g < p->rows ? g : p->rows;
    if (p->path != NN_ROWS) {
        p->part_bytes = 0;
    } else {
        npy_intp elems = (p->group * p->n + NN_LANES - 1) / NN_LANES * NN_LANES;
        p->part_bytes = (elems * p->isz + NN_ALIGN - 1) / NN_ALIGN * NN_ALIGN;
    }
}

/* -- rows [begin, end) --------------------------------------------------- */

static void nn_flush(const nn_plan *p, const char *const *xp, char *const *op,
                     npy_intp g, char *w) {
    if (p->path == NN_BY_LANES) {
        if (p->f32)
            nn_lanes_block_f32(p, xp[0], op[0], g);
        else
            nn_lanes_block_f64(p, xp[0], op[0], g);
    } else if (p->f32) {
        nn_rows_block_f32(p, xp, op, g, (float *)w);
    } else {
        nn_rows_block_f64(p, xp, op, g, (double *)w);
    }
}

/* Compute rows [begin, end) (in the plan's row order); `begin` is a
   multiple of p->group; `part` picks the scratch block (a thread's own). */
static void nn_rows(const nn_plan *p, npy_intp begin, npy_intp end, int part) {
    npy_intp idx[NN_MAXD];
    const char *xp[NN_GROUP];
    char *op[NN_GROUP];
    const int nd = p->nd;
    const int lanes = p->path == NN_BY_LANES;
    npy_intp xo = 0, oo = 0, rest = begin, g = 0;
    char *w = p->scratch + (npy_intp)part * p->part_bytes;
    for (int d = nd - 1; d >= 0; d--) {     /* unravel begin */
        idx[d] = rest % p->shape[d];
        rest /= p->shape[d];
        xo += idx[d] * p->xstr[d];
        oo += idx[d] * p->ostr[d];
    }
    for (npy_intp r = begin; r < end; r++) {
        if (p->path == NN_IN_PLACE) {
            if (p->f32)
                nn_row_f32((const float *)(p->x + xo), (float *)(p->out + oo),
                           p->n, p->log);
            else
                nn_row_f64((const double *)(p->x + xo), (double *)(p->out + oo),
                           p->n, p->log);
        } else {
            xp[g] = p->x + xo;
            op[g] = p->out + oo;
            g++;
            /* a lanes block ends where the innermost outer axis wraps */
            if (g == p->group || r + 1 == end || (r + 1) % p->group == 0 ||
                (lanes && idx[nd - 1] + 1 == p->shape[nd - 1])) {
                nn_flush(p, xp, op, g, w);
                g = 0;
            }
        }
        for (int d = nd - 1; d >= 0; d--) {  /* next row */
            xo += p->xstr[d];
            oo += p->ostr[d];
            if (++idx[d] < p->shape[d])
                break;
            xo -= p->xstr[d] * p->shape[d];
            oo -= p->ostr[d] * p->shape[d];
            idx[d] = 0;
        }
    }
}

/* The thread pool's task: ctx is the plan. */
static void nn_task(void *ctx, Py_ssize_t begin, Py_ssize_t end, int part) {
    nn_rows((const nn_plan *)ctx, begin, end, part);
}

#endif /* NN_CORE_H */
