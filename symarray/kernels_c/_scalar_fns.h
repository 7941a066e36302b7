/* The functions the scalar table's C expressions call, for every C type.
 *
 * The generated op lists (_ops_table.h) spell each row's expression with
 * SC_<name> calls (the table's "exp(a)" becomes "SC_exp(a)").  This file
 * defines every SC_<name> as a type-generic macro (C11 _Generic) over the
 * compute types: _Bool, int8..int64, uint8..uint64, float, double.  Each
 * follows what the row's NumPy implementation (the op's perform) gives,
 * NaN, infinities and signed zeros included; comments name the cases.
 *
 * Vector math: glibc's libmvec has SIMD variants of exp, log, sin, pow...
 * for SSE, AVX, AVX2 and AVX-512 ("_ZGVeN8v_exp").  Declaring the scalar
 * functions "omp declare simd" (compiled with -fopenmp-simd) lets gcc call
 * those variants in vectorized loops without -ffast-math, so isnan, NaN
 * comparisons and signed zeros keep their IEEE meaning.  libmvec's
 * functions are accurate to 4 ulp (glibc's manual); the scalar libm ones to
 * about 1 ulp.  Without glibc >= 2.35 on x86-64 the loops stay scalar.
 *
 * Helpers are written branch-free where a vector loop should take them
 * (both sides computed, then selected), since libmvec has no masked
 * variants.  Integer arithmetic wraps as in NumPy: the module is compiled
 * with -fwrapv, and division by zero gives 0 (NumPy 2's result).
 */
#ifndef SC_SCALAR_FNS_H
#define SC_SCALAR_FNS_H

#include <math.h>
#include <stdint.h>

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif
#define SC_LN2 0.693147180559945309417232121458176568
#define SC_SQRT_PI 1.772453850905516027298167483341145183

/* -- libmvec ------------------------------------------------------------ */

#if defined(__x86_64__) && defined(__GLIBC__) && defined(__GLIBC_PREREQ)
#if __GLIBC_PREREQ(2, 35)
#define SC_HAVE_LIBMVEC 1
#endif
#endif

#ifdef SC_HAVE_LIBMVEC
#define SC_VEC1(F)                                                            \
    _Pragma("omp declare simd notinbranch") extern double F(double);         \
    _Pragma("omp declare simd notinbranch") extern float F##f(float);
#define SC_VEC2(F)                                                            \
    _Pragma("omp declare simd notinbranch") extern double F(double, double); \
    _Pragma("omp declare simd notinbranch") extern float F##f(float, float);
SC_VEC1(exp) SC_VEC1(exp2) SC_VEC1(expm1) SC_VEC1(log) SC_VEC1(log2)
SC_VEC1(log10) SC_VEC1(log1p) SC_VEC1(sin) SC_VEC1(cos) SC_VEC1(tan)
SC_VEC1(asin) SC_VEC1(acos) SC_VEC1(atan) SC_VEC1(sinh) SC_VEC1(cosh)
SC_VEC1(tanh) SC_VEC1(asinh) SC_VEC1(acosh) SC_VEC1(atanh) SC_VEC1(erf)
SC_VEC1(erfc)
SC_VEC2(pow) SC_VEC2(atan2)
#endif

/* -- type dispatch ------------------------------------------------------ */

/* F##_<suffix> for the type of x: floats only, every type but bool, all. */
#define SC_PICK_F(x, F) _Generic((x), float: F##_f32, default: F##_f64)
#define SC_PICK_FI(x, F) _Generic((x),                                        \
    int8_t: F##_i8, int16_t: F##_i16, int32_t: F##_i32, int64_t: F##_i64,    \
    uint8_t: F##_u8, uint16_t: F##_u16, uint32_t: F##_u32,                   \
    uint64_t: F##_u64, float: F##_f32, double: F##_f64)
#define SC_PICK_ALL(x, F) _Generic((x), _Bool: F##_b,                        \
    int8_t: F##_i8, int16_t: F##_i16, int32_t: F##_i32, int64_t: F##_i64,    \
    uint8_t: F##_u8, uint16_t: F##_u16, uint32_t: F##_u32,                   \
    uint64_t: F##_u64, float: F##_f32, double: F##_f64)

/* libm by name: f for float, the name itself for double */
#define SC_LIBM(x, F) _Generic((x), float: F##f, default: F)

/* Y(suffix, C type, unsigned type of the same width) */
#define SC_SIGNED(Y) Y(i8, int8_t, uint8_t) Y(i16, int16_t, uint16_t)          \
    Y(i32, int32_t, uint32_t) Y(i64, int64_t, uint64_t)
#define SC_UNSIGNED(Y) Y(u8, uint8_t, uint8_t) Y(u16, uint16_t, uint16_t)      \
    Y(u32, uint32_t, uint32_t) Y(u64, uint64_t, uint64_t)
#define SC_FLOATS(Y) Y(f32, float, float) Y(f64, double, double)

/* -- arithmetic --------------------------------------------------------- */

/* set by a kernel whose perform would raise (integer ** negative); the
   interpreter clears it before a run and checks it after */
static __thread int sc_status;

/* floor division and Python's modulo: integers (x // 0 == x % 0 == 0,
   MIN // -1 wraps to MIN) */
#define SC_DEF_IDIV(S, T, U)                                                  \
    static inline T sc_floor_div_##S(T a, T b) {                              \
        if (b == 0) return 0;                                                 \
        if ((T)-1 < 0 && b == (T)-1) return (T)((U)0 - (U)a);                 \
        T q = (T)(a / b);                                                     \
        if ((T)-1 < 0 && (T)(a % b) != 0 && ((a < 0) != (b < 0))) q--;        \
        return q;                                                             \
    }                                                                         \
    static inline T sc_py_mod_##S(T a, T b) {                                 \
        if (b == 0 || ((T)-1 < 0 && b == (T)-1)) return 0;                    \
        T r = (T)(a % b);                                                     \
        if ((T)-1 < 0 && r != 0 && ((r < 0) != (b < 0))) r = (T)(r + b);      \
        return r;                                                             \
    }
SC_SIGNED(SC_DEF_IDIV) SC_UNSIGNED(SC_DEF_IDIV)

/* floats, as NumPy's divmod: b == 0 gives a / b (inf or NaN) and a NaN
   remainder; a zero remainder takes b's sign; the quotient is floored */
#define SC_DEF_FDIV(S, T, U)                                                  \
    static inline T sc_floor_div_##S(T a, T b) {                              \
        if (b == 0) return a / b;                                             \
        T mod = SC_LIBM(a, fmod)(a, b);                                       \
        T div = (a - mod) / b;                                                \
        if (mod != 0 && ((b < 0) != (mod < 0))) div -= 1;                     \
        if (div == 0) return SC_LIBM(a, copysign)((T)0, a / b);               \
        T fl = SC_LIBM(a, floor)(div);                                        \
        if (div - fl > (T)0.5) fl += 1;                                       \
        return fl;                                                            \
    }                                                                         \
    static inline T sc_py_mod_##S(T a, T b) {                                 \
        T mod = SC_LIBM(a, fmod)(a, b);                                       \
        if (b == 0) return mod;                                               \
        if (mod == 0) return SC_LIBM(a, copysign)((T)0, b);                   \
        if ((b < 0) != (mod < 0)) mod += b;                                   \
        return mod;                                                           \
    }
SC_FLOATS(SC_DEF_FDIV)
#define SC_floor_div(a, b) SC_PICK_FI(a, sc_floor_div)(a, b)
#define SC_py_mod(a, b) SC_PICK_FI(a, sc_py_mod)(a, b)

/* integer powers by squaring, wrapping; a negative exponent is an error
   (perform raises), flagged in sc_status */
#define SC_DEF_IPOW(S, T, U)                                                  \
    static inline T sc_pow_##S(T a, T b) {                                    \
        if (b < 0) { sc_status = 1; return 0; }                               \
        U r = 1, base = (U)a, e = (U)b;                                       \
        while (e) { if (e & 1) r = (U)(r * base); base = (U)(base * base);    \
                    e >>= 1; }                                                \
        return (T)r;                                                          \
    }
SC_SIGNED(SC_DEF_IPOW) SC_UNSIGNED(SC_DEF_IPOW)
#define sc_pow_f32 powf
#define sc_pow_f64 pow
#define SC_pow(a, b) SC_PICK_FI(a, sc_pow)(a, b)

/* abs: fabs for floats (abs(-0.0) is 0.0), wrapping for signed integers */
#define SC_DEF_ABS(S, T, U)                                                   \
    static inline T sc_fabs_##S(T a) { return (T)-1 < 0 && a < 0 ? (T)((U)0 - (U)a) : a; }
SC_SIGNED(SC_DEF_ABS) SC_UNSIGNED(SC_DEF_ABS)
static inline _Bool sc_fabs_b(_Bool a) { return a; }
#define sc_fabs_f32 fabsf
#define sc_fabs_f64 fabs
#define SC_fabs(a) SC_PICK_ALL(a, sc_fabs)(a)

/* sign: NaN stays NaN, both zeros give +0 */
#define SC_sgn(a) ((a) > 0 ? (__typeof__(a))1 : (a) < 0 ? (__typeof__(a))-1    \
                   : (a) == (a) ? (__typeof__(a))0 : (a))

/* NumPy's maximum/minimum/clip: NaN propagates from either side */
#define SC_fmax_nan(a, b) (((a) >= (b) || (a) != (a)) ? (a) : (b))
#define SC_fmin_nan(a, b) (((a) <= (b) || (a) != (a)) ? (a) : (b))
#define SC_clip(a, lo, hi) SC_fmin_nan(SC_fmax_nan(a, lo), hi)

/* real inputs only: complex dtypes never reach these kernels */
#define SC_creal(a) (a)
#define SC_cimag(a) ((__typeof__(a))0)
#define SC_conj(a) (a)
#define SC_carg(a) SC_LIBM(a, atan2)((__typeof__(a))0, a)  /* pi for -0.0 */

static inline int sc_isnan_f32(float a) { return isnan(a); }
static inline int sc_isnan_f64(double a) { return isnan(a); }
static inline int sc_isinf_f32(float a) { return isinf(a); }
static inline int sc_isinf_f64(double a) { return isinf(a); }
static inline int sc_never(int64_t a) { (void)a; return 0; }  /* integers */
#define SC_isnan(a) _Generic((a), float: sc_isnan_f32, double: sc_isnan_f64,    \
                             default: sc_never)(a)
#define SC_isinf(a) _Generic((a), float: sc_isinf_f32, double: sc_isinf_f64,    \
                             default: sc_never)(a)
/* bitwise not; logical not for bool */
#define SC_DEF_INVERT(S, T, U) static inline T sc_invert_##S(T a) { return (T)~a; }
SC_SIGNED(SC_DEF_INVERT) SC_UNSIGNED(SC_DEF_INVERT)
static inline _Bool sc_invert_b(_Bool a) { return !a; }
#define SC_invert(a) _Generic((a), _Bool: sc_invert_b, int8_t: sc_invert_i8,      \
    int16_t: sc_invert_i16, int32_t: sc_invert_i32, int64_t: sc_invert_i64,     \
    uint8_t: sc_invert_u8, uint16_t: sc_invert_u16, uint32_t: sc_invert_u32,    \
    uint64_t: sc_invert_u64)(a)

/* -- libm --------------------------------------------------------------- */

#define SC_exp(a) SC_LIBM(a, exp)(a)
#define SC_exp2(a) SC_LIBM(a, exp2)(a)
#define SC_expm1(a) SC_LIBM(a, expm1)(a)
#define SC_log(a) SC_LIBM(a, log)(a)
#define SC_log2(a) SC_LIBM(a, log2)(a)
#define SC_log10(a) SC_LIBM(a, log10)(a)
#define SC_log1p(a) SC_LIBM(a, log1p)(a)
#define SC_sqrt(a) SC_LIBM(a, sqrt)(a)
#define SC_sin(a) SC_LIBM(a, sin)(a)
#define SC_cos(a) SC_LIBM(a, cos)(a)
#define SC_tan(a) SC_LIBM(a, tan)(a)
#define SC_asin(a) SC_LIBM(a, asin)(a)
#define SC_acos(a) SC_LIBM(a, acos)(a)
#define SC_atan(a) SC_LIBM(a, atan)(a)
#define SC_atan2(a, b) SC_LIBM(a, atan2)(a, b)
#define SC_sinh(a) SC_LIBM(a, sinh)(a)
#define SC_cosh(a) SC_LIBM(a, cosh)(a)
#define SC_tanh(a) SC_LIBM(a, tanh)(a)
#define SC_asinh(a) SC_LIBM(a, asinh)(a)
#define SC_acosh(a) SC_LIBM(a, acosh)(a)
#define SC_atanh(a) SC_LIBM(a, atanh)(a)
#define SC_floor(a) SC_LIBM(a, floor)(a)
#define SC_ceil(a) SC_LIBM(a, ceil)(a)
#define SC_trunc(a) SC_LIBM(a, trunc)(a)
#define SC_rint(a) SC_LIBM(a, rint)(a)
/* round half away from zero as the op's perform computes it (not C's
   round: -0.0 gives +0.0, and x + 0.5 is rounded before the floor) */
#define SC_round(a) ((a) >= 0 ? SC_LIBM(a, floor)((a) + (__typeof__(a))0.5)      \
                     : SC_LIBM(a, ceil)((a) - (__typeof__(a))0.5))
#define SC_erf(a) SC_LIBM(a, erf)(a)
#define SC_erfc(a) SC_LIBM(a, erfc)(a)
#define SC_tgamma(a) SC_LIBM(a, tgamma)(a)

/* -- composites of libm (branch-free, so they vectorize) ---------------- */

/* NumPy's logaddexp: equal arguments (equal infinities too) give
   x + log 2; otherwise max + log1p(exp(-|x - y|)); NaN propagates */
#define SC_DEF_LAE(S, T, U)                                                   \
    static inline T sc_logaddexp_##S(T x, T y) {                              \
        const T m = x > y ? x : y;                                            \
        const T r = m + SC_log1p(SC_exp(-SC_LIBM(x, fabs)(x - y)));           \
        return x == y ? x + (T)SC_LN2 : r;                                    \
    }                                                                         \
    /* log(1 - exp(x)), two branches for precision (x <= 0) */                \
    static inline T sc_log1mexp_##S(T x) {                                    \
        const T near = SC_log(-SC_expm1(x));                                  \
        const T far = SC_log1p(-SC_exp(x));                                   \
        return x > (T)-SC_LN2 ? near : far;                                   \
    }                                                                         \
    /* scipy's expit */                                                       \
    static inline T sc_sigmoid_##S(T x) { return (T)1 / ((T)1 + SC_exp(-x)); } \
    /* logaddexp(0, x) */                                                     \
    static inline T sc_softplus_##S(T x) {                                    \
        return (x > 0 ? x : (T)0) + SC_log1p(SC_exp(-SC_LIBM(x, fabs)(x)));   \
    }
SC_FLOATS(SC_DEF_LAE)
#define SC_logaddexp(a, b) SC_PICK_F(a, sc_logaddexp)(a, b)
#define SC_log1mexp(a) SC_PICK_F(a, sc_log1mexp)(a)
#define SC_sigmoid(a) SC_PICK_F(a, sc_sigmoid)(a)
#define SC_softplus(a) SC_PICK_F(a, sc_softplus)(a)

/* -- special functions (scipy.special's, in double) -------------------- */
#include "_special.h"

#define SC_erfcx(a) SC_PICK_F(a, sc_erfcx)(a)
#define SC_erfinv(a) SC_PICK_F(a, sc_erfinv)(a)
#define SC_erfcinv(a) SC_PICK_F(a, sc_erfcinv)(a)
#define SC_lgamma(a) SC_PICK_F(a, sc_lgamma)(a)
#define SC_digamma(a) SC_PICK_F(a, sc_digamma)(a)
#define SC_trigamma(a) SC_PICK_F(a, sc_trigamma)(a)

#endif
