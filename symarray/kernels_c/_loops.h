/* Typed block loops: one C function per (scalar op, compute type), per
 * cast, and the table the interpreter looks them up in.
 *
 * A loop computes z[i] = E(x[i], y[i], w[i]) for i < n over contiguous
 * blocks (registers of the block interpreter, see _interp.h).  The op
 * lists come from the scalar table (_ops_table.h, generated), the SC_*
 * functions their expressions call from _scalar_fns.h.
 *
 * Run-time CPU dispatch: float loops and casts are compiled three times
 * (gcc target_clones: x86-64-v4 = AVX-512, x86-64-v3 = AVX2/FMA, and the
 * baseline), and the dynamic loader picks the best clone for the CPU
 * (ifunc), so one build uses AVX-512 and libmvec's 8-wide exp where the CPU
 * has them and still runs on any x86-64.  Integer loops are compiled once.
 *
 * Bool values are read as C _Bool (any nonzero byte is true) and written
 * as 0/1.  Registers never alias the register a loop writes, so the
 * pointers are restrict.
 */
#ifndef SC_LOOPS_H
#define SC_LOOPS_H

#include <stdint.h>
#include <numpy/ndarraytypes.h>
#include "_scalar_fns.h"
#include "_ops_table.h"

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && __GNUC__ >= 11
#define SC_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", \
                                               "default")))
#else
#define SC_CLONES
#endif

typedef void (*sc_loop)(char *z, const char *x, const char *y, const char *w,
                        npy_intp n);

/* Y(suffix, compute type, storage type, NumPy type number) */
#define SC_TYPES_F(Y) Y(f32, float, npy_float32, NPY_FLOAT32)                   \
    Y(f64, double, npy_float64, NPY_FLOAT64)
#define SC_TYPES_I(Y) Y(i8, int8_t, npy_int8, NPY_INT8)                         \
    Y(i16, int16_t, npy_int16, NPY_INT16) Y(i32, int32_t, npy_int32, NPY_INT32) \
    Y(i64, int64_t, npy_int64, NPY_INT64) Y(u8, uint8_t, npy_uint8, NPY_UINT8)  \
    Y(u16, uint16_t, npy_uint16, NPY_UINT16)                                     \
    Y(u32, uint32_t, npy_uint32, NPY_UINT32)                                     \
    Y(u64, uint64_t, npy_uint64, NPY_UINT64)
#define SC_TYPES_B(Y) Y(b, _Bool, npy_bool, NPY_BOOL)
#define SC_TYPES_ALL(Y) SC_TYPES_B(Y) SC_TYPES_I(Y) SC_TYPES_F(Y)

/* One loop: inputs of compute type T stored as ST (the condition of a
   switch is bool: CT/CST), output TO stored as STO. */
#define SC_LOOP(ATTR, NAME, NIN, CT, CST, T, ST, TO, STO, E)                   \
    ATTR static void NAME(char *restrict zp, const char *restrict xp,           \
                          const char *restrict yp, const char *restrict wp,     \
                          npy_intp n) {                                         \
        STO *restrict z = (STO *)zp;                                            \
        const CST *restrict x = (const CST *)xp;                                \
        const ST *restrict y = (const ST *)yp;                                  \
        const ST *restrict w = (const ST *)wp;                                  \
        (void)y; (void)w;                                                       \
        for (npy_intp i = 0; i < n; i++) {                                      \
            const CT a = (CT)x[i];                                              \
            const T b = NIN > 1 ? (T)y[i] : (T)0;                               \
            const T c = NIN > 2 ? (T)w[i] : (T)0;                               \
            (void)a; (void)b; (void)c;                                          \
            z[i] = (STO)(TO)(E);                                                \
        }                                                                       \
    }

/* -- the loops, named sc_loop_<op>_<suffix> -------------------------------- */

#define SC_DEF_SAME_F(NAME, NIN, E)                                             \
    SC_LOOP(SC_CLONES, sc_loop_##NAME##_f32, NIN, float, npy_float32, float,          \
            npy_float32, float, npy_float32, E)                                 \
    SC_LOOP(SC_CLONES, sc_loop_##NAME##_f64, NIN, double, npy_float64, double,        \
            npy_float64, double, npy_float64, E)
#define SC_DEF_PRED_F(NAME, NIN, E)                                             \
    SC_LOOP(SC_CLONES, sc_loop_##NAME##_f32, NIN, float, npy_float32, float,          \
            npy_float32, _Bool, npy_bool, E)                                    \
    SC_LOOP(SC_CLONES, sc_loop_##NAME##_f64, NIN, double, npy_float64, double,        \
            npy_float64, _Bool, npy_bool, E)
#define SC_I_LOOPS(NAME, NIN, E, OUT, SOUT)                                     \
    SC_LOOP(, sc_loop_##NAME##_i8, NIN, int8_t, npy_int8, int8_t, npy_int8, OUT(int8_t), SOUT(npy_int8), E) \
    SC_LOOP(, sc_loop_##NAME##_i16, NIN, int16_t, npy_int16, int16_t, npy_int16, OUT(int16_t), SOUT(npy_int16), E) \
    SC_LOOP(, sc_loop_##NAME##_i32, NIN, int32_t, npy_int32, int32_t, npy_int32, OUT(int32_t), SOUT(npy_int32), E) \
    SC_LOOP(, sc_loop_##NAME##_i64, NIN, int64_t, npy_int64, int64_t, npy_int64, OUT(int64_t), SOUT(npy_int64), E) \
    SC_LOOP(, sc_loop_##NAME##_u8, NIN, uint8_t, npy_uint8, uint8_t, npy_uint8, OUT(uint8_t), SOUT(npy_uint8), E) \
    SC_LOOP(, sc_loop_##NAME##_u16, NIN, uint16_t, npy_uint16, uint16_t, npy_uint16, OUT(uint16_t), SOUT(npy_uint16), E) \
    SC_LOOP(, sc_loop_##NAME##_u32, NIN, uint32_t, npy_uint32, uint32_t, npy_uint32, OUT(uint32_t), SOUT(npy_uint32), E) \
    SC_LOOP(, sc_loop_##NAME##_u64, NIN, uint64_t, npy_uint64, uint64_t, npy_uint64, OUT(uint64_t), SOUT(npy_uint64), E)
#define SC_SAME_T(T) T
#define SC_BOOL_T(T) _Bool
#define SC_BOOL_ST(T) npy_bool
#define SC_DEF_SAME_I(NAME, NIN, E) SC_I_LOOPS(NAME, NIN, E, SC_SAME_T, SC_SAME_T)
#define SC_DEF_PRED_I(NAME, NIN, E) SC_I_LOOPS(NAME, NIN, E, SC_BOOL_T, SC_BOOL_ST)
#define SC_DEF_SAME_B(NAME, NIN, E)                                             \
    SC_LOOP(, sc_loop_##NAME##_b, NIN, _Bool, npy_bool, _Bool, npy_bool, _Bool,       \
            npy_bool, E)
#define SC_DEF_PRED_B SC_DEF_SAME_B

SC_SAME_F(SC_DEF_SAME_F)
SC_PRED_F(SC_DEF_PRED_F)
SC_SAME_I(SC_DEF_SAME_I)
SC_PRED_I(SC_DEF_PRED_I)
SC_SAME_B(SC_DEF_SAME_B)
SC_PRED_B(SC_DEF_PRED_B)

/* switch(cond, a, b): the condition is bool, the values of type T */
#define SC_DEF_SWITCH_T(S, T, ST, N)                                            \
    SC_LOOP(, sc_loop_switch_##S, 3, _Bool, npy_bool, T, ST, T, ST, SC_SWITCH_EXPR)
/* the table's expression for switch, taken from the generated list */
#define SC_SWITCH_PICK(NAME, NIN, E) E
#define SC_SWITCH_EXPR SC_SWITCH(SC_SWITCH_PICK)
SC_TYPES_ALL(SC_DEF_SWITCH_T)

/* casts: sc_loop_cast_<from>_<to>, C conversions (NaN -> bool is true; floats
   out of an integer type's range are undefined in C and may differ from
   NumPy's results) */
#define SC_DEF_CAST_TO(S2, T2, ST2, N2, S1, T1, ST1)                            \
    SC_LOOP(SC_CLONES, sc_loop_cast_##S1##_##S2, 1, T1, ST1, T1, ST1, T2, ST2, a)
#define SC_DEF_CAST_FROM(S1, T1, ST1, N1)                                       \
    SC_CAST_TARGETS(SC_DEF_CAST_TO, S1, T1, ST1)
#define SC_CAST_TARGETS(Z, S1, T1, ST1)                                         \
    Z(b, _Bool, npy_bool, NPY_BOOL, S1, T1, ST1)                                 \
    Z(i8, int8_t, npy_int8, NPY_INT8, S1, T1, ST1)                               \
    Z(i16, int16_t, npy_int16, NPY_INT16, S1, T1, ST1)                           \
    Z(i32, int32_t, npy_int32, NPY_INT32, S1, T1, ST1)                           \
    Z(i64, int64_t, npy_int64, NPY_INT64, S1, T1, ST1)                           \
    Z(u8, uint8_t, npy_uint8, NPY_UINT8, S1, T1, ST1)                            \
    Z(u16, uint16_t, npy_uint16, NPY_UINT16, S1, T1, ST1)                        \
    Z(u32, uint32_t, npy_uint32, NPY_UINT32, S1, T1, ST1)                        \
    Z(u64, uint64_t, npy_uint64, NPY_UINT64, S1, T1, ST1)                        \
    Z(f32, float, npy_float32, NPY_FLOAT32, S1, T1, ST1)                         \
    Z(f64, double, npy_float64, NPY_FLOAT64, S1, T1, ST1)
SC_TYPES_ALL(SC_DEF_CAST_FROM)

/* -- the lookup table ------------------------------------------------- */

enum { SC_SAME = 0, SC_PRED = 1, SC_SWITCH_KIND = 2, SC_CAST = 3 };

typedef struct {
    const char *name;  /* the scalar op's name, or "cast" */
    int kind;          /* SC_SAME, SC_PRED, SC_SWITCH_KIND or SC_CAST */
    int tin;           /* NumPy type number of the inputs (switch: values) */
    int tout;          /* NumPy type number of the output */
    int nin;           /* number of inputs */
    sc_loop fn;
} sc_entry;

#define SC_ROW_SAME_F(NAME, NIN, E)                                             \
    {#NAME, SC_SAME, NPY_FLOAT32, NPY_FLOAT32, NIN, sc_loop_##NAME##_f32},            \
    {#NAME, SC_SAME, NPY_FLOAT64, NPY_FLOAT64, NIN, sc_loop_##NAME##_f64},
#define SC_ROW_PRED_F(NAME, NIN, E)                                             \
    {#NAME, SC_PRED, NPY_FLOAT32, NPY_BOOL, NIN, sc_loop_##NAME##_f32},               \
    {#NAME, SC_PRED, NPY_FLOAT64, NPY_BOOL, NIN, sc_loop_##NAME##_f64},
#define SC_ROWS_I(NAME, NIN, KIND, OUT)                                         \
    {#NAME, KIND, NPY_INT8, OUT(NPY_INT8), NIN, sc_loop_##NAME##_i8},                 \
    {#NAME, KIND, NPY_INT16, OUT(NPY_INT16), NIN, sc_loop_##NAME##_i16},              \
    {#NAME, KIND, NPY_INT32, OUT(NPY_INT32), NIN, sc_loop_##NAME##_i32},              \
    {#NAME, KIND, NPY_INT64, OUT(NPY_INT64), NIN, sc_loop_##NAME##_i64},              \
    {#NAME, KIND, NPY_UINT8, OUT(NPY_UINT8), NIN, sc_loop_##NAME##_u8},               \
    {#NAME, KIND, NPY_UINT16, OUT(NPY_UINT16), NIN, sc_loop_##NAME##_u16},            \
    {#NAME, KIND, NPY_UINT32, OUT(NPY_UINT32), NIN, sc_loop_##NAME##_u32},            \
    {#NAME, KIND, NPY_UINT64, OUT(NPY_UINT64), NIN, sc_loop_##NAME##_u64},
#define SC_NUM_SAME(N) N
#define SC_NUM_BOOL(N) NPY_BOOL
#define SC_ROW_SAME_I(NAME, NIN, E) SC_ROWS_I(NAME, NIN, SC_SAME, SC_NUM_SAME)
#define SC_ROW_PRED_I(NAME, NIN, E) SC_ROWS_I(NAME, NIN, SC_PRED, SC_NUM_BOOL)
#define SC_ROW_SAME_B(NAME, NIN, E)                                             \
    {#NAME, SC_SAME, NPY_BOOL, NPY_BOOL, NIN, sc_loop_##NAME##_b},
#define SC_ROW_PRED_B(NAME, NIN, E)                                             \
    {#NAME, SC_PRED, NPY_BOOL, NPY_BOOL, NIN, sc_loop_##NAME##_b},
#define SC_ROW_SWITCH(S, T, ST, N)                                              \
    {"switch", SC_SWITCH_KIND, N, N, 3, sc_loop_switch_##S},
#define SC_ROW_CAST_TO(S2, T2, ST2, N2, S1, N1, UNUSED)                         \
    {"cast", SC_CAST, N1, N2, 1, sc_loop_cast_##S1##_##S2},
#define SC_ROW_CAST_FROM(S1, T1, ST1, N1) SC_CAST_TARGETS(SC_ROW_CAST_TO, S1, N1, 0)

static const sc_entry sc_table[] = {
    SC_SAME_F(SC_ROW_SAME_F) SC_PRED_F(SC_ROW_PRED_F)
    SC_SAME_I(SC_ROW_SAME_I) SC_PRED_I(SC_ROW_PRED_I)
    SC_SAME_B(SC_ROW_SAME_B) SC_PRED_B(SC_ROW_PRED_B)
    SC_TYPES_ALL(SC_ROW_SWITCH)
    SC_TYPES_ALL(SC_ROW_CAST_FROM)
    {NULL, 0, 0, 0, 0, NULL}
};

static Py_ssize_t sc_n_loops(void) {
    return (Py_ssize_t)(sizeof(sc_table) / sizeof(sc_table[0]) - 1);
}

#endif
