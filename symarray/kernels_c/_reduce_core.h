/* The reduction engine of symarray/kernels_c/_reduce.pyx (included there).
 *
 * A reduction is an iteration space of ndim dimensions over nin inputs
 * (byte strides, 0 where an input is broadcast) and one accumulator array
 * in the accumulator type (element strides, 0 along reduced dimensions).
 * sr_prepare drops length-1 dimensions, orders the rest by the main
 * input's strides (smallest innermost), merges neighbours whose strides
 * line up and picks the dimension the threads split; sr_execute then walks
 * the outer dimensions and hands each inner run to sr_inner:
 *
 *   - inner dimension reduced: the run folds into one accumulator
 *     (pairwise summation: error O(log n) like NumPy's);
 *   - inner dimension kept: the run updates a row of accumulators
 *     (acc[j] = op(acc[j], v[j]), which vectorizes along the row).
 *
 * The values reduced are register out_reg of a *prologue*: a program of
 * the elementwise block interpreter (_interp.h: typed block loops from the
 * scalar table, built by symarray/kernels_c/program.py), so a reduction
 * runs every op and dtype an Elemwise node runs, and no temporary of the
 * input's size is ever made.  A plain reduction is the empty program whose
 * result is its input.  Inputs are read in place when contiguous, else
 * gathered into per-thread blocks of SR_BLOCK elements, and values not in
 * the accumulator type are converted block by block (sr_loads).  A
 * contiguous input already of the accumulator type (or float32 summed in
 * float64) folds in place over its whole run.
 *
 * Threads (the kernels' pool, _threads.h) take chunks of one dimension: a
 * kept one (disjoint accumulators) or, when the kept ones are too short, a
 * reduced one with an accumulator array per chunk, combined in chunk order
 * afterwards; the chunks do not depend on the thread count, so neither do
 * the results.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <numpy/ndarraytypes.h>

#include <pthread.h>

/* the interpreter's loops (sc_table), instructions and blocks; its run
   loops serve Elemwise nodes and go unused here */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#include "_interp.h"
#pragma GCC diagnostic pop

/* The hot loops are compiled for AVX-512, AVX2 and the baseline; the loader
   picks one for the CPU (GCC's target_clones: one build, run-time dispatch). */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
#define SR_HOT __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define SR_HOT
#endif

#define SR_MAXIN 32          /* inputs of a prologue (fusion's limit) */
#define SR_MAXD NPY_MAXDIMS
#define SR_BLOCK SC_BLOCK    /* elements per block: the interpreter's */
#define SR_PAIRWISE 256      /* pairwise summation leaves */
#define SR_PRIVATE_CHUNKS 8  /* chunks of a reduced dimension split for threads */

enum { SR_SUM = 0, SR_PROD, SR_MAX, SR_MIN, SR_ALL, SR_ANY, SR_N_REDUCE };


/* -- types: Y(suffix, C type, unsigned twin for wrapping, kind, lowest, highest)
   kinds: KB bool, KI signed, KU unsigned, KF float.  Dense indices 0..10. */
#define SR_TYPES(Y)                                                          \
    Y(b, npy_bool, npy_uint8, KB, 0, 1)                                        \
    Y(i8, npy_int8, npy_uint8, KI, INT8_MIN, INT8_MAX)                         \
    Y(i16, npy_int16, npy_uint16, KI, INT16_MIN, INT16_MAX)                    \
    Y(i32, npy_int32, npy_uint32, KI, INT32_MIN, INT32_MAX)                    \
    Y(i64, npy_int64, npy_uint64, KI, INT64_MIN, INT64_MAX)                    \
    Y(u8, npy_uint8, npy_uint8, KU, 0, UINT8_MAX)                              \
    Y(u16, npy_uint16, npy_uint16, KU, 0, UINT16_MAX)                          \
    Y(u32, npy_uint32, npy_uint32, KU, 0, UINT32_MAX)                          \
    Y(u64, npy_uint64, npy_uint64, KU, 0, UINT64_MAX)                          \
    Y(f32, npy_float32, npy_float32, KF, -INFINITY, INFINITY)                  \
    Y(f64, npy_float64, npy_float64, KF, -INFINITY, INFINITY)
/* the same list, for a second level of expansion: X(P1, P2, P3, suffix, type) */
#define SR_TYPES_X(X, P1, P2, P3)                                            \
    X(P1, P2, P3, b, npy_bool) X(P1, P2, P3, i8, npy_int8)                    \
    X(P1, P2, P3, i16, npy_int16) X(P1, P2, P3, i32, npy_int32)               \
    X(P1, P2, P3, i64, npy_int64) X(P1, P2, P3, u8, npy_uint8)                \
    X(P1, P2, P3, u16, npy_uint16) X(P1, P2, P3, u32, npy_uint32)             \
    X(P1, P2, P3, u64, npy_uint64) X(P1, P2, P3, f32, npy_float32)            \
    X(P1, P2, P3, f64, npy_float64)

enum { SR_T_b = 0, SR_T_i8, SR_T_i16, SR_T_i32, SR_T_i64, SR_T_u8, SR_T_u16,
       SR_T_u32, SR_T_u64, SR_T_f32, SR_T_f64, SR_N_TYPES };

static const int sr_tsize[SR_N_TYPES] = {1, 1, 2, 4, 8, 1, 2, 4, 8, 4, 8};

/* The dense type of a NumPy type number; -1 for the others. */
static int sr_tindex(int typenum) {
    switch (typenum) {
    case NPY_BOOL: return SR_T_b;
    case NPY_BYTE: return SR_T_i8;
    case NPY_SHORT: return SR_T_i16;
    case NPY_UBYTE: return SR_T_u8;
    case NPY_USHORT: return SR_T_u16;
    case NPY_FLOAT: return SR_T_f32;
    case NPY_DOUBLE: return SR_T_f64;
    default: break;
    }
    if (typenum == NPY_INT || typenum == NPY_LONG || typenum == NPY_LONGLONG) {
        const int size = typenum == NPY_INT ? (int)sizeof(int)
                       : typenum == NPY_LONG ? (int)sizeof(long)
                       : (int)sizeof(long long);
        return size == 4 ? SR_T_i32 : size == 8 ? SR_T_i64 : -1;
    }
    if (typenum == NPY_UINT || typenum == NPY_ULONG || typenum == NPY_ULONGLONG) {
        const int size = typenum == NPY_UINT ? (int)sizeof(unsigned)
                       : typenum == NPY_ULONG ? (int)sizeof(unsigned long)
                       : (int)sizeof(unsigned long long);
        return size == 4 ? SR_T_u32 : size == 8 ? SR_T_u64 : -1;
    }
    return -1;
}

/* -- conversions: n elements with byte stride st -> a contiguous block ----- */

typedef void (*sr_load_fn)(const char *src, npy_intp st, npy_intp n, void *dst);

#define SR_CVT_KB(DT, x) ((DT)((x) != 0))
#define SR_CVT_KI(DT, x) ((DT)(x))
#define SR_CVT_KU(DT, x) ((DT)(x))
#define SR_CVT_KF(DT, x) ((DT)(x))

#define SR_LOAD_DEF(DS, DT, DK, SS, ST)                                      \
static void sr_load_##SS##_##DS(const char *s, npy_intp st, npy_intp n,      \
                                void *dv) {                                  \
    DT *d = (DT *)dv;                                                        \
    if (st == (npy_intp)sizeof(ST)) {                                        \
        const ST *x = (const ST *)s;                                         \
        for (npy_intp i = 0; i < n; i++) d[i] = SR_CVT_##DK(DT, x[i]);       \
    } else {                                                                 \
        for (npy_intp i = 0; i < n; i++, s += st)                            \
            d[i] = SR_CVT_##DK(DT, *(const ST *)s);                          \
    }                                                                        \
}
#define SR_LOAD_ROW(S, T, W, K, LO, HI) SR_TYPES_X(SR_LOAD_DEF, S, T, K)
SR_TYPES(SR_LOAD_ROW)

#define SR_LOAD_PTR(DS, DT, DK, SS, ST) sr_load_##SS##_##DS,
#define SR_LOAD_TROW(S, T, W, K, LO, HI) {SR_TYPES_X(SR_LOAD_PTR, S, T, K)},
/* sr_loads[dst][src] */
static const sr_load_fn sr_loads[SR_N_TYPES][SR_N_TYPES] = {SR_TYPES(SR_LOAD_TROW)};

/* -- folds (run -> one accumulator) and row updates (run -> accumulators) -- */

typedef void (*sr_fold_fn)(const void *v, npy_intp n, void *acc);
typedef void (*sr_accum_fn)(const void *v, npy_intp n, void *acc, npy_intp step);

/* NaN propagates through max/min of floats as in NumPy */
#define SR_GT_KF(a, b) ((a) > (b) || (a) != (a))
#define SR_LT_KF(a, b) ((a) < (b) || (a) != (a))
#define SR_GT_KI(a, b) ((a) > (b))
#define SR_LT_KI(a, b) ((a) < (b))
#define SR_GT_KU SR_GT_KI
#define SR_LT_KU SR_LT_KI
#define SR_GT_KB SR_GT_KI
#define SR_LT_KB SR_LT_KI

/* pairwise sum of n values, leaves of SR_PAIRWISE summed by 8 accumulators */
#define SR_PW_DEF(S, T, W)                                                   \
SR_HOT static W sr_pwleaf_##S(const T *v, npy_intp n) {                      \
    W s0 = 0, s1 = 0, s2 = 0, s3 = 0, s4 = 0, s5 = 0, s6 = 0, s7 = 0;        \
    npy_intp i = 0;                                                          \
    for (; i + 8 <= n; i += 8) {                                             \
        s0 += (W)v[i]; s1 += (W)v[i + 1]; s2 += (W)v[i + 2];                 \
        s3 += (W)v[i + 3]; s4 += (W)v[i + 4]; s5 += (W)v[i + 5];             \
        s6 += (W)v[i + 6]; s7 += (W)v[i + 7];                                \
    }                                                                        \
    W s = ((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7));                 \
    for (; i < n; i++) s += (W)v[i];                                         \
    return s;                                                                \
}                                                                            \
static W sr_pw_##S(const T *v, npy_intp n) {                                 \
    if (n <= SR_PAIRWISE) return sr_pwleaf_##S(v, n);                        \
    const npy_intp h = (n / 2) & ~(npy_intp)7;                               \
    return sr_pw_##S(v, h) + sr_pw_##S(v + h, n - h);                        \
}

#define SR_ARITH_DEF(S, T, W)                                                \
SR_PW_DEF(S, T, W)                                                           \
static void sr_fold_sum_##S(const void *v, npy_intp n, void *acc) {          \
    *(T *)acc = (T)((W)*(T *)acc + sr_pw_##S((const T *)v, n));              \
}                                                                            \
SR_HOT static void sr_accum_sum_##S(const void *vv, npy_intp n, void *av,       \
                             npy_intp step) {                                \
    const T *v = (const T *)vv; T *a = (T *)av;                              \
    if (step == 1) {                                                         \
        for (npy_intp i = 0; i < n; i++) a[i] = (T)((W)a[i] + (W)v[i]);      \
    } else {                                                                 \
        for (npy_intp i = 0; i < n; i++)                                     \
            a[i * step] = (T)((W)a[i * step] + (W)v[i]);                     \
    }                                                                        \
}                                                                            \
SR_HOT static void sr_fold_prod_##S(const void *vv, npy_intp n, void *acc) {    \
    const T *v = (const T *)vv;                                              \
    W p = (W)*(T *)acc;                                                      \
    /* in order: underflows meet infinities as in NumPy's product */        \
    for (npy_intp i = 0; i < n; i++) p *= (W)v[i];                           \
    *(T *)acc = (T)p;                                                        \
}                                                                            \
SR_HOT static void sr_accum_prod_##S(const void *vv, npy_intp n, void *av,      \
                              npy_intp step) {                               \
    const T *v = (const T *)vv; T *a = (T *)av;                              \
    for (npy_intp i = 0; i < n; i++)                                         \
        a[i * step] = (T)((W)a[i * step] * (W)v[i]);                         \
}

#define SR_ORDER_DEF(S, T, K)                                                \
SR_HOT static void sr_accum_max_##S(const void *vv, npy_intp n, void *av,       \
                             npy_intp step) {                                \
    const T *v = (const T *)vv; T *a = (T *)av;                              \
    for (npy_intp i = 0; i < n; i++) {                                       \
        const T x = v[i], y = a[i * step];                                   \
        a[i * step] = SR_GT_##K(x, y) ? x : y;                               \
    }                                                                        \
}                                                                            \
SR_HOT static void sr_accum_min_##S(const void *vv, npy_intp n, void *av,       \
                             npy_intp step) {                                \
    const T *v = (const T *)vv; T *a = (T *)av;                              \
    for (npy_intp i = 0; i < n; i++) {                                       \
        const T x = v[i], y = a[i * step];                                   \
        a[i * step] = SR_LT_##K(x, y) ? x : y;                               \
    }                                                                        \
}

/* max/min folds: floats flag NaN apart (in their own type, so the loop
   vectorizes) */
#define SR_FOLD_ORDER_KF(S, T)                                                \
SR_HOT static void sr_fold_max_##S(const void *vv, npy_intp n, void *acc) {     \
    const T *v = (const T *)vv; T m = *(T *)acc, nanf = 0;                   \
    if (m != m) return;                                                      \
    _Pragma("omp simd reduction(max:m) reduction(max:nanf)")                 \
    for (npy_intp i = 0; i < n; i++) {                                       \
        const T x = v[i]; m = x > m ? x : m; nanf = x != x ? (T)1 : nanf; }  \
    *(T *)acc = nanf != 0 ? (T)NAN : m;                                      \
}                                                                            \
SR_HOT static void sr_fold_min_##S(const void *vv, npy_intp n, void *acc) {     \
    const T *v = (const T *)vv; T m = *(T *)acc, nanf = 0;                   \
    if (m != m) return;                                                      \
    _Pragma("omp simd reduction(min:m) reduction(max:nanf)")                 \
    for (npy_intp i = 0; i < n; i++) {                                       \
        const T x = v[i]; m = x < m ? x : m; nanf = x != x ? (T)1 : nanf; }  \
    *(T *)acc = nanf != 0 ? (T)NAN : m;                                      \
}
#define SR_FOLD_ORDER_KI(S, T)                                                \
SR_HOT static void sr_fold_max_##S(const void *vv, npy_intp n, void *acc) {     \
    const T *v = (const T *)vv; T m = *(T *)acc;                             \
    _Pragma("omp simd reduction(max:m)")                                     \
    for (npy_intp i = 0; i < n; i++) m = v[i] > m ? v[i] : m;                \
    *(T *)acc = m;                                                           \
}                                                                            \
SR_HOT static void sr_fold_min_##S(const void *vv, npy_intp n, void *acc) {     \
    const T *v = (const T *)vv; T m = *(T *)acc;                             \
    _Pragma("omp simd reduction(min:m)")                                     \
    for (npy_intp i = 0; i < n; i++) m = v[i] < m ? v[i] : m;                \
    *(T *)acc = m;                                                           \
}
#define SR_FOLD_ORDER_KU SR_FOLD_ORDER_KI
#define SR_FOLD_ORDER_KB SR_FOLD_ORDER_KI

#define SR_DEF_NUM(S, T, W, K, LO, HI) SR_ORDER_DEF(S, T, K) SR_FOLD_ORDER_##K(S, T)
SR_TYPES(SR_DEF_NUM)
#define SR_DEF_ARITH_KB(S, T, W)
#define SR_DEF_ARITH_KI(S, T, W) SR_ARITH_DEF(S, T, W)
#define SR_DEF_ARITH_KU(S, T, W) SR_ARITH_DEF(S, T, W)
#define SR_DEF_ARITH_KF(S, T, W) SR_ARITH_DEF(S, T, W)
#define SR_DEF_ARITH(S, T, W, K, LO, HI) SR_DEF_ARITH_##K(S, T, W)
SR_TYPES(SR_DEF_ARITH)
/* float32 values summed in float64 accumulators, read in place */
SR_PW_DEF(f32f64, npy_float32, npy_float64)
SR_HOT static void sr_accum_sum_f32f64(const npy_float32 *v, npy_intp n,
                                       npy_float64 *a, npy_intp step) {
    if (step == 1) {
        for (npy_intp i = 0; i < n; i++) a[i] += (npy_float64)v[i];
    } else {
        for (npy_intp i = 0; i < n; i++) a[i * step] += (npy_float64)v[i];
    }
}

/* all/any over bool values (0/1) */
static void sr_fold_all_b(const void *vv, npy_intp n, void *acc) {
    const npy_bool *v = (const npy_bool *)vv; unsigned r = *(npy_bool *)acc;
    for (npy_intp i = 0; i < n && r; i++) r &= v[i] != 0;
    *(npy_bool *)acc = (npy_bool)r;
}
static void sr_fold_any_b(const void *vv, npy_intp n, void *acc) {
    const npy_bool *v = (const npy_bool *)vv; unsigned r = *(npy_bool *)acc;
    for (npy_intp i = 0; i < n && !r; i++) r |= v[i] != 0;
    *(npy_bool *)acc = (npy_bool)r;
}
static void sr_accum_all_b(const void *vv, npy_intp n, void *av, npy_intp step) {
    const npy_bool *v = (const npy_bool *)vv; npy_bool *a = (npy_bool *)av;
    for (npy_intp i = 0; i < n; i++) a[i * step] = a[i * step] && v[i];
}
static void sr_accum_any_b(const void *vv, npy_intp n, void *av, npy_intp step) {
    const npy_bool *v = (const npy_bool *)vv; npy_bool *a = (npy_bool *)av;
    for (npy_intp i = 0; i < n; i++) a[i * step] = a[i * step] || v[i];
}

#define SR_NUM_PTR(P, S) P##_##S
#define SR_ROW_PTRS(P)                                                       \
    {NULL, P##_i8, P##_i16, P##_i32, P##_i64, P##_u8, P##_u16, P##_u32,      \
     P##_u64, P##_f32, P##_f64}
#define SR_ALL_PTRS(P)                                                       \
    {P##_b, P##_i8, P##_i16, P##_i32, P##_i64, P##_u8, P##_u16, P##_u32,     \
     P##_u64, P##_f32, P##_f64}
#define SR_BOOL_PTRS(P) {P##_b, NULL, NULL, NULL, NULL, NULL, NULL, NULL,    \
                         NULL, NULL, NULL}

static const sr_fold_fn sr_folds[SR_N_REDUCE][SR_N_TYPES] = {
    SR_ROW_PTRS(sr_fold_sum), SR_ROW_PTRS(sr_fold_prod), SR_ALL_PTRS(sr_fold_max),
    SR_ALL_PTRS(sr_fold_min), SR_BOOL_PTRS(sr_fold_all), SR_BOOL_PTRS(sr_fold_any)};
static const sr_accum_fn sr_accums[SR_N_REDUCE][SR_N_TYPES] = {
    SR_ROW_PTRS(sr_accum_sum), SR_ROW_PTRS(sr_accum_prod),
    SR_ALL_PTRS(sr_accum_max), SR_ALL_PTRS(sr_accum_min),
    SR_BOOL_PTRS(sr_accum_all), SR_BOOL_PTRS(sr_accum_any)};

/* Whether (op, accumulator type) has loops. */
static int sr_has_reduce(int op, int t) {
    return op >= 0 && op < SR_N_REDUCE && t >= 0 && t < SR_N_TYPES
           && sr_folds[op][t] != NULL;
}

/* Fill n accumulators with the op's identity (lowest value for max...). */
#define SR_FILL_DEF(S, T, W, K, LO, HI)                                      \
static void sr_fill_##S(int op, void *bv, npy_intp n) {                      \
    T *b = (T *)bv;                                                          \
    const T v = op == SR_SUM || op == SR_ANY ? (T)0                          \
              : op == SR_PROD || op == SR_ALL ? (T)1                         \
              : op == SR_MAX ? (T)(LO) : (T)(HI);                            \
    for (npy_intp i = 0; i < n; i++) b[i] = v;                               \
}
SR_TYPES(SR_FILL_DEF)
typedef void (*sr_fill_fn)(int op, void *b, npy_intp n);
static const sr_fill_fn sr_fills[SR_N_TYPES] = SR_ALL_PTRS(sr_fill);

/* -- sums of products -------------------------------------------------------- */

/* pairwise sum of x[i] * y[i] (the product rounded to T, summed in A): a
   sum whose prologue ends in mul or sqr reads the factors and stores no
   block of products */
#define SR_PWDOT_DEF(S, T, A)                                                \
SR_HOT static A sr_pwdotleaf_##S(const T *x, const T *y, npy_intp n) {       \
    A s0 = 0, s1 = 0, s2 = 0, s3 = 0, s4 = 0, s5 = 0, s6 = 0, s7 = 0;        \
    npy_intp i = 0;                                                          \
    for (; i + 8 <= n; i += 8) {                                             \
        s0 += (A)(T)(x[i] * y[i]); s1 += (A)(T)(x[i + 1] * y[i + 1]);        \
        s2 += (A)(T)(x[i + 2] * y[i + 2]); s3 += (A)(T)(x[i + 3] * y[i + 3]); \
        s4 += (A)(T)(x[i + 4] * y[i + 4]); s5 += (A)(T)(x[i + 5] * y[i + 5]); \
        s6 += (A)(T)(x[i + 6] * y[i + 6]); s7 += (A)(T)(x[i + 7] * y[i + 7]); \
    }                                                                        \
    A s = ((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7));                 \
    for (; i < n; i++) s += (A)(T)(x[i] * y[i]);                             \
    return s;                                                                \
}                                                                            \
static A sr_pwdot_##S(const T *x, const T *y, npy_intp n) {                  \
    if (n <= SR_PAIRWISE) return sr_pwdotleaf_##S(x, y, n);                  \
    const npy_intp h = (n / 2) & ~(npy_intp)7;                               \
    return sr_pwdot_##S(x, y, h) + sr_pwdot_##S(x + h, y + h, n - h);        \
}
SR_PWDOT_DEF(f64, npy_float64, npy_float64)
SR_PWDOT_DEF(f32, npy_float32, npy_float32)
SR_PWDOT_DEF(f32f64, npy_float32, npy_float64)


/* -- the plan ----------------------------------------------------------------- */

typedef struct {
    /* filled by the caller */
    int op;                     /* SR_SUM ... */
    int nin;                    /* inputs read */
    int ndim;                   /* dimensions of the iteration space */
    int atype;                  /* accumulator type (dense) */
    npy_intp shape[SR_MAXD];
    unsigned char red[SR_MAXD]; /* 1 where the dimension is reduced */
    npy_intp str[SR_MAXIN][SR_MAXD];
    char *data[SR_MAXIN];
    int itype[SR_MAXIN];        /* dense type of each input */
    char *acc;                  /* accumulators, C order over the kept dims */
    /* the prologue: a program of the block interpreter (_interp.h) */
    const sc_instr *code;       /* n_instr instructions; none: a plain reduction */
    int n_instr;
    int n_regs;                 /* inputs, constants, temporaries */
    int n_slots;                /* per-thread blocks of the temporaries */
    const int32_t *slot_of;     /* per register: a temporary's block, else -1 */
    char *consts;               /* n_const filled blocks (registers nin...) */
    int n_const;
    int out_reg;                /* the register reduced */
    int etype;                  /* its dense type */
    int dot;                    /* a sum of a last mul/sqr: folded as a dot */
    int checked;                /* a loop may set sc_status (perform raises) */
    int status;                 /* set when one did: the caller runs perform */
    /* set by sr_prepare */
    npy_intp astr[SR_MAXD];     /* accumulator strides (elements) */
    npy_intp acc_size;
    int split;                  /* dimension the threads split */
} sr_plan;

/* Whether the plan's sum can fold its last step, loop sc_table[loop] (a
   float mul or sqr giving the values reduced), as a dot of the factors,
   storing no products.  (By table entry: an ifunc'd loop's address as data
   holds it differs from the address code takes.) */
static int sr_dot_ok(const sr_plan *p, Py_ssize_t loop) {
    if (p->op != SR_SUM || p->n_instr < 1) return 0;
    const sc_entry *e = sc_table + loop;
    const int t = sr_tindex(e->tin);
    if (p->code[p->n_instr - 1].dst != p->out_reg || e->kind != SC_SAME
        || (strcmp(e->name, "mul") != 0 && strcmp(e->name, "sqr") != 0))
        return 0;
    return t == p->etype && (t == SR_T_f32 || t == SR_T_f64)
           && (p->atype == t || (t == SR_T_f32 && p->atype == SR_T_f64));
}

/* Order, merge and split the dimensions.  Returns 0 when there is nothing
   to iterate (a length-0 dimension), else 1. */
static int sr_prepare(sr_plan *p) {
    npy_intp run = 1, total = 1;
    int nd = 0, main_in = 0, best_nz = -1;
    /* accumulator strides over the kept dimensions, in their order */
    for (int d = p->ndim - 1; d >= 0; d--) {
        if (p->red[d]) p->astr[d] = 0;
        else { p->astr[d] = run; run *= p->shape[d]; }
        total *= p->shape[d];
    }
    p->acc_size = run;
    if (total == 0) return 0;
    /* the input that moves along the most dimensions leads the order */
    for (int k = 0; k < p->nin; k++) {
        int nz = 0;
        for (int d = 0; d < p->ndim; d++) nz += p->str[k][d] != 0 && p->shape[d] > 1;
        if (nz > best_nz) { best_nz = nz; main_in = k; }
    }
    /* drop length-1 dimensions */
    for (int d = 0; d < p->ndim; d++) {
        if (p->shape[d] == 1) continue;
        p->shape[nd] = p->shape[d]; p->red[nd] = p->red[d]; p->astr[nd] = p->astr[d];
        for (int k = 0; k < p->nin; k++) p->str[k][nd] = p->str[k][d];
        nd++;
    }
    /* stable insertion sort: larger |stride| of the main input outwards
       (a broadcast dimension, stride 0, goes outermost) */
    for (int i = 1; i < nd; i++) {
        for (int j = i; j > 0; j--) {
            npy_intp a = p->str[main_in][j - 1], b = p->str[main_in][j];
            npy_uintp ka = a == 0 ? (npy_uintp)-1 : (npy_uintp)(a < 0 ? -a : a);
            npy_uintp kb = b == 0 ? (npy_uintp)-1 : (npy_uintp)(b < 0 ? -b : b);
            if (ka >= kb) break;
            npy_intp ts = p->shape[j]; p->shape[j] = p->shape[j - 1]; p->shape[j - 1] = ts;
            unsigned char tr = p->red[j]; p->red[j] = p->red[j - 1]; p->red[j - 1] = tr;
            npy_intp ta = p->astr[j]; p->astr[j] = p->astr[j - 1]; p->astr[j - 1] = ta;
            for (int k = 0; k < p->nin; k++) {
                npy_intp t = p->str[k][j]; p->str[k][j] = p->str[k][j - 1]; p->str[k][j - 1] = t;
            }
        }
    }
    /* merge neighbours whose strides line up everywhere */
    int m = 0;
    for (int d = 0; d < nd; d++) {
        int merge = m > 0 && p->red[m - 1] == p->red[d]
                    && p->astr[m - 1] == p->astr[d] * p->shape[d];
        for (int k = 0; merge && k < p->nin; k++)
            merge = p->str[k][m - 1] == p->str[k][d] * p->shape[d];
        if (merge) {
            p->shape[m - 1] *= p->shape[d];
            p->astr[m - 1] = p->astr[d];
            for (int k = 0; k < p->nin; k++) p->str[k][m - 1] = p->str[k][d];
        } else {
            p->shape[m] = p->shape[d]; p->red[m] = p->red[d]; p->astr[m] = p->astr[d];
            for (int k = 0; k < p->nin; k++) p->str[k][m] = p->str[k][d];
            m++;
        }
    }
    if (m == 0) {  /* a single element: one reduced dimension of length 1 */
        p->shape[0] = 1; p->red[0] = 1; p->astr[0] = 0;
        for (int k = 0; k < p->nin; k++) p->str[k][0] = 0;
        m = 1;
    }
    p->ndim = m;
    /* the split: the longest kept dimension when it gives several chunks;
       else the longest reduced one (accumulators per chunk).  The choice
       does not look at the thread count, so results do not depend on it. */
    int kept = -1, red = -1;
    for (int d = 0; d < m; d++) {
        if (!p->red[d] && (kept < 0 || p->shape[d] > p->shape[kept])) kept = d;
        if (p->red[d] && (red < 0 || p->shape[d] > p->shape[red])) red = d;
    }
    p->split = kept >= 0 ? kept : red;
    if (kept >= 0 && p->shape[kept] < SR_PRIVATE_CHUNKS && red >= 0
        && p->shape[red] >= SR_PRIVATE_CHUNKS && p->acc_size <= 4096
        && p->op != SR_PROD)
        p->split = red;
    return 1;
}

/* per-thread scratch: gathered inputs, the prologue's registers */
typedef struct {
    char *mem;
    char *vbuf;                 /* values in the accumulator type */
    char *inbuf[SR_MAXIN];      /* gathered inputs */
    const char *filled[SR_MAXIN];  /* the element inbuf[k] holds copies of */
    void **regs;                /* the program's registers */
} sr_scratch;

static int sr_scratch_init(const sr_plan *p, sr_scratch *s) {
    const size_t blk = SC_BLOCK_BYTES;
    const int nbufs = 1 + p->nin + p->n_slots, base = p->nin + p->n_const;
    s->mem = (char *)malloc(blk * (size_t)nbufs + sizeof(void *) * (size_t)p->n_regs);
    if (s->mem == NULL) return -1;
    s->vbuf = s->mem;
    for (int k = 0; k < p->nin; k++) s->inbuf[k] = s->mem + blk * (size_t)(1 + k);
    char *slots = s->mem + blk * (size_t)(1 + p->nin);
    s->regs = (void **)(s->mem + blk * (size_t)nbufs);
    for (int r = 0; r < p->n_regs; r++)
        s->regs[r] = r < p->nin ? NULL
                   : r < base ? p->consts + blk * (size_t)(r - p->nin)
                   : slots + blk * (size_t)p->slot_of[r];
    return 0;
}

/* One inner run: n values from the inputs at ptr (inner strides st),
   reduced into acc (step 0: one accumulator; else a row, stride step). */
static void sr_inner(const sr_plan *p, char **ptr, const npy_intp *st, npy_intp n,
                     char *acc, npy_intp step, sr_scratch *s) {
    const int at = p->atype, asz = sr_tsize[at], et = p->etype, esz = sr_tsize[et];
    const sr_fold_fn fold = sr_folds[p->op][at];
    const sr_accum_fn accum = sr_accums[p->op][at];
    if (p->n_instr == 0 && p->out_reg < p->nin) {  /* the values are an input's */
        const char *x = ptr[p->out_reg];
        const npy_intp sx = st[p->out_reg];
        if (sx == esz && et == at) {  /* contiguous, in place */
            if (step == 0) fold(x, n, acc);
            else accum(x, n, acc, step);
            return;
        }
        if (sx == 4 && p->op == SR_SUM && et == SR_T_f32 && at == SR_T_f64) {
            /* a float32 sum, accumulated in float64 in place */
            if (step == 0)
                *(npy_float64 *)acc += sr_pw_f32f64((const npy_float32 *)x, n);
            else
                sr_accum_sum_f32f64((const npy_float32 *)x, n, (npy_float64 *)acc,
                                    step);
            return;
        }
        for (npy_intp b = 0; b < n; b += SR_BLOCK) {  /* converted in blocks */
            const npy_intp m = n - b < SR_BLOCK ? n - b : SR_BLOCK;
            sr_loads[at][et](x + b * sx, sx, m, s->vbuf);
            if (step == 0) fold(s->vbuf, m, acc);
            else accum(s->vbuf, m, acc + b * step * asz, step);
        }
        return;
    }
    void **regs = s->regs;
    const int n_exec = p->n_instr - (step == 0 && p->dot);
    for (npy_intp b = 0; b < n; b += SR_BLOCK) {
        const npy_intp m = n - b < SR_BLOCK ? n - b : SR_BLOCK;
        for (int k = 0; k < p->nin; k++) {  /* inputs: in place or gathered */
            const char *src = ptr[k] + b * st[k];
            const int it = p->itype[k];
            if (st[k] == sr_tsize[it]) {
                regs[k] = (void *)src;
                continue;
            }
            if (st[k] != 0) {
                sr_loads[it][it](src, st[k], m, s->inbuf[k]);
            } else if (s->filled[k] != src) {  /* broadcast: refilled on change */
                sc_fill(s->inbuf[k], src, SR_BLOCK, sr_tsize[it]);
                s->filled[k] = src;
            }
            regs[k] = s->inbuf[k];
        }
        for (int k = 0; k < n_exec; k++) {  /* the program, as _interp.h runs it */
            const sc_instr *ins = p->code + k;
            ins->fn((char *)regs[ins->dst], (const char *)regs[ins->a],
                    (const char *)regs[ins->b], (const char *)regs[ins->c], m);
        }
        if (n_exec < p->n_instr) {  /* sum(.. * ..): fold the products */
            const sc_instr *last = p->code + n_exec;
            const void *x = regs[last->a], *y = regs[last->b];
            if (et == SR_T_f64)
                *(double *)acc += sr_pwdot_f64((const double *)x, (const double *)y, m);
            else if (at == SR_T_f64)
                *(double *)acc += sr_pwdot_f32f64((const float *)x,
                                                  (const float *)y, m);
            else
                *(float *)acc += sr_pwdot_f32((const float *)x, (const float *)y, m);
            continue;
        }
        const char *v = (const char *)regs[p->out_reg];
        if (et != at) {
            sr_loads[at][et](v, esz, m, s->vbuf);
            v = s->vbuf;
        }
        if (step == 0) fold(v, m, acc);
        else accum(v, m, acc + b * step * asz, step);
    }
}

/* Walk dimensions 0..ndim-2 (dimension `split` limited to [lo, hi)) and
   run the inner dimension of each. */
static void sr_walk(sr_plan *p, npy_intp lo, npy_intp hi, char *acc,
                    sr_scratch *s) {
    const int nd = p->ndim, last = nd - 1, asz = sr_tsize[p->atype];
    npy_intp idx[SR_MAXD], beg[SR_MAXD], end[SR_MAXD], st[SR_MAXIN];
    char *ptr[SR_MAXIN];
    for (int d = 0; d < nd; d++) {
        beg[d] = d == p->split ? lo : 0;
        end[d] = d == p->split ? hi : p->shape[d];
        if (beg[d] >= end[d]) return;
        idx[d] = beg[d];
    }
    for (int k = 0; k < p->nin; k++) st[k] = p->str[k][last];
    const npy_intp n = end[last] - beg[last];
    for (int k = 0; k < p->nin; k++) s->filled[k] = NULL;  /* values may change */
    if (p->checked) sc_status = 0;  /* thread-local, set by integer powers */
    for (;;) {
        npy_intp aoff = beg[last] * p->astr[last];
        for (int k = 0; k < p->nin; k++) {
            char *q = p->data[k] + beg[last] * st[k];
            for (int d = 0; d < last; d++) q += idx[d] * p->str[k][d];
            ptr[k] = q;
        }
        for (int d = 0; d < last; d++) aoff += idx[d] * p->astr[d];
        sr_inner(p, ptr, st, n, acc + aoff * asz, p->astr[last], s);
        int d = last - 1;
        while (d >= 0) {
            if (++idx[d] < end[d]) break;
            idx[d] = beg[d];
            d--;
        }
        if (d < 0) break;
    }
    if (p->checked && sc_status) __atomic_store_n(&p->status, 1, __ATOMIC_RELAXED);
}

/* Run the plan on the calling thread (accumulators already hold the
   identity).  -1: no memory. */
static int sr_execute(sr_plan *p) {
    sr_scratch s;
    if (sr_scratch_init(p, &s) < 0) return -1;
    sr_walk(p, 0, p->shape[p->split], p->acc, &s);
    free(s.mem);
    return 0;
}

/* -- threads: chunks of the split dimension on the kernels' pool ------------
   The pool (_threads.h) calls sr_task(job, begin, end, thread) for chunks
   [begin, end) of the split dimension, on whichever thread takes them.  A
   kept split dimension gives every chunk its own outputs; a reduced one
   gives every chunk its own accumulators, combined in chunk order.  The
   chunks do not depend on the number of threads, so neither do results. */

#define SR_MAX_PARTS 64            /* the pool's most threads */
#define SR_CHUNK_WORK (1 << 15)    /* elements of work per chunk (kept split) */

typedef struct {
    sr_plan *p;
    npy_intp len;                  /* length of the split dimension */
    npy_intp chunk;                /* indices of it per chunk */
    size_t abytes;                 /* bytes of one accumulator array */
    char *priv;                    /* per-chunk accumulators, or NULL */
    int failed;
    sr_scratch scratch[SR_MAX_PARTS];   /* per thread; mem NULL until used */
} sr_job;

/* Set the job up for the prepared plan p.  -1: no memory. */
static int sr_job_init(sr_job *j, sr_plan *p) {
    memset(j, 0, sizeof(*j));
    j->p = p;
    j->len = p->shape[p->split];
    j->abytes = (size_t)p->acc_size * (size_t)sr_tsize[p->atype];
    if (p->red[p->split]) {
        /* a product runs in order (underflow meets infinity as in NumPy) */
        const npy_intp parts = p->op == SR_PROD ? 1 : SR_PRIVATE_CHUNKS;
        j->chunk = (j->len + parts - 1) / parts;
        const npy_intp nchunks = (j->len + j->chunk - 1) / j->chunk;
        j->priv = (char *)malloc(j->abytes * (size_t)nchunks);
        if (j->priv == NULL) return -1;
        for (npy_intp c = 0; c < nchunks; c++)
            sr_fills[p->atype](p->op, j->priv + j->abytes * (size_t)c, p->acc_size);
    } else {
        npy_intp total = 1;
        for (int d = 0; d < p->ndim; d++) total *= p->shape[d];
        const npy_intp per_index = total / (j->len > 0 ? j->len : 1);
        j->chunk = SR_CHUNK_WORK / (per_index > 0 ? per_index : 1);
        if (p->split == p->ndim - 1 && j->chunk < 256) j->chunk = 256;  /* rows */
        if (j->chunk < 1) j->chunk = 1;
    }
    return 0;
}

static void sr_task(void *ctx, Py_ssize_t begin, Py_ssize_t end, int thread) {
    sr_job *j = (sr_job *)ctx;
    sr_scratch *s = &j->scratch[thread < SR_MAX_PARTS ? thread : 0];
    if (s->mem == NULL && sr_scratch_init(j->p, s) < 0) {
        __atomic_store_n(&j->failed, 1, __ATOMIC_RELAXED);
        return;
    }
    char *acc = j->priv ? j->priv + j->abytes * (size_t)(begin / j->chunk) : j->p->acc;
    sr_walk(j->p, begin, end, acc, s);
}

/* Combine the chunks' accumulators and free the job.  -1: memory ran out. */
static int sr_job_finish(sr_job *j) {
    sr_plan *p = j->p;
    if (j->priv) {
        const npy_intp nchunks = (j->len + j->chunk - 1) / j->chunk;
        for (npy_intp c = 0; c < nchunks; c++)
            sr_accums[p->op][p->atype](j->priv + j->abytes * (size_t)c, p->acc_size,
                                       p->acc, 1);
        free(j->priv);
    }
    for (int t = 0; t < SR_MAX_PARTS; t++) free(j->scratch[t].mem);
    return j->failed ? -1 : 0;
}

/* -- argmax / argmin ---------------------------------------------------------- */

/* Scan n values (byte stride st) whose flat indices start at base; keep the
   first extreme in *best / *at.  Returns 1 at a NaN (it wins: stop).  A
   contiguous run is taken in chunks: a vectorized max (min) of the chunk,
   and only when it beats the best so far (or is NaN), a scan of the chunk
   for its first index. */
#define SR_ARG_CHUNK 64
#define SR_PRAGMA(x) _Pragma(#x)
#define SR_ARG_ONE(NAME, S, T, K, CMP, RED)                                  \
SR_HOT static int NAME##_##S(const char *p, npy_intp st, npy_intp n,        \
                             npy_intp base, void *bestv, npy_intp *at) {     \
    T best = *(T *)bestv;                                                    \
    if (st == (npy_intp)sizeof(T)) {                                         \
        const T *v = (const T *)p;                                           \
        for (npy_intp c = 0; c < n; c += SR_ARG_CHUNK) {                     \
            const npy_intp e = n - c < SR_ARG_CHUNK ? n : c + SR_ARG_CHUNK;  \
            T m = best, nanf = 0;                                            \
            SR_PRAGMA(omp simd reduction(RED:m) reduction(max:nanf))         \
            for (npy_intp i = c; i < e; i++) {                               \
                const T x = v[i];                                            \
                m = x CMP m ? x : m; nanf = x != x ? (T)1 : nanf; }          \
            if (nanf != 0) {                                                 \
                for (npy_intp i = c; i < e; i++)                             \
                    if (v[i] != v[i]) {                                      \
                        *at = base + i; *(T *)bestv = v[i]; return 1; }      \
            }                                                                \
            if (m CMP best) {                                                \
                for (npy_intp i = c; i < e; i++)                             \
                    if (v[i] == m) { best = m; *at = base + i; break; }      \
            }                                                                \
        }                                                                    \
        *(T *)bestv = best;                                                  \
        return 0;                                                            \
    }                                                                        \
    for (npy_intp i = 0; i < n; i++, p += st) {                              \
        const T x = *(const T *)p;                                           \
        if (x CMP best || x != x) {                                          \
            best = x; *at = base + i;                                        \
            if (x != x) { *(T *)bestv = best; return 1; }                    \
        }                                                                    \
    }                                                                        \
    *(T *)bestv = best;                                                      \
    return 0;                                                                \
}
#define SR_ARG_DEF(S, T, W, K, LO, HI)                                       \
    SR_ARG_ONE(sr_argmax, S, T, K, >, max) SR_ARG_ONE(sr_argmin, S, T, K, <, min)
SR_TYPES(SR_ARG_DEF)
typedef int (*sr_arg_fn)(const char *p, npy_intp st, npy_intp n, npy_intp base,
                         void *best, npy_intp *at);
static const sr_arg_fn sr_argmaxes[SR_N_TYPES] = SR_ALL_PTRS(sr_argmax);
static const sr_arg_fn sr_argmins[SR_N_TYPES] = SR_ALL_PTRS(sr_argmin);

typedef struct {
    int is_max, itype;
    int nk, nr;                 /* kept and reduced dimensions (C order) */
    npy_intp kshape[SR_MAXD], kstr[SR_MAXD];
    npy_intp rshape[SR_MAXD], rstr[SR_MAXD];
    char *data;
    npy_int64 *out;             /* C order over the kept dimensions */
    npy_intp out_size;
} sr_argplan;

/* the arg of one output: the reduced block at q, in C order */
static void sr_arg_one(const sr_argplan *p, const char *q, npy_int64 *out) {
    const sr_fill_fn fill = sr_fills[p->itype];
    const sr_arg_fn scan = p->is_max ? sr_argmaxes[p->itype] : sr_argmins[p->itype];
    npy_int64 store;            /* any dtype's extreme, 8-byte aligned */
    void *best = &store;
    npy_intp at = 0, base = 0, idx[SR_MAXD];
    const int last = p->nr - 1;
    const npy_intp n = p->rshape[last];
    fill(p->is_max ? SR_MAX : SR_MIN, best, 1);
    for (int d = 0; d < last; d++) idx[d] = 0;
    for (;;) {
        const char *r = q;
        for (int d = 0; d < last; d++) r += idx[d] * p->rstr[d];
        if (scan(r, p->rstr[last], n, base, best, &at)) break;
        base += n;
        int d = last - 1;
        while (d >= 0) {
            if (++idx[d] < p->rshape[d]) break;
            idx[d] = 0;
            d--;
        }
        if (d < 0) break;
    }
    *out = (npy_int64)at;
}

static void sr_arg_range(const sr_argplan *p, npy_intp lo, npy_intp hi) {
    npy_intp idx[SR_MAXD];
    npy_intp rem = lo;
    for (int d = p->nk - 1; d >= 0; d--) { idx[d] = rem % p->kshape[d]; rem /= p->kshape[d]; }
    for (npy_intp o = lo; o < hi; o++) {
        const char *q = p->data;
        for (int d = 0; d < p->nk; d++) q += idx[d] * p->kstr[d];
        sr_arg_one(p, q, p->out + o);
        for (int d = p->nk - 1; d >= 0; d--) {
            if (++idx[d] < p->kshape[d]) break;
            idx[d] = 0;
        }
    }
}

/* the pool's task: outputs [begin, end) */
static void sr_arg_task(void *ctx, Py_ssize_t begin, Py_ssize_t end, int thread) {
    (void)thread;
    sr_arg_range((const sr_argplan *)ctx, begin, end);
}
