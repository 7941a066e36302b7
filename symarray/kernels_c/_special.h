/* Special functions of the scalar table that C99 lacks, as scipy.special
 * gives them: erfcx, erfinv, erfcinv, gammaln (thread-safe), psi
 * (digamma) and polygamma(1, x) (trigamma).
 *
 * Each is computed in double; the float32 version rounds the double
 * result (scipy's float32 loops compute in double too).  The values at
 * poles, infinities and NaN follow scipy (comments name them); accuracy is
 * a few ulp away from the roots of psi (where only the absolute error is
 * small).  Included by _scalar_fns.h.
 */
#ifndef SC_SPECIAL_H
#define SC_SPECIAL_H

#include <math.h>

#define SC_EULER 0.577215664901532860606512090082402431

/* exp(x * x) without the rounding error of x * x (to x ~ 26) */
static inline double sc_exp_sq(double x) {
    const double hi = x * x;
    const double lo = fma(x, x, -hi);
    return exp(hi) * (1.0 + lo);
}

/* erfcx(x) = exp(x^2) erfc(x): the asymptotic series past 26 (where erfc
   underflows), the reflection 2 exp(x^2) - erfcx(-x) below 0 */
static double sc_erfcx_f64(double x) {
    if (x < 0) {
        if (x < -26.7) return INFINITY;  /* also -inf */
        return 2.0 * sc_exp_sq(x) - sc_erfcx_f64(-x);
    }
    if (x < 26.0) return sc_exp_sq(x) * erfc(x);
    /* 1/(x sqrt(pi)) * sum_k (-1)^k (2k-1)!! / (2x^2)^k; 8 terms reach
       double precision at x >= 26; inf gives 0, NaN stays NaN */
    const double t = 1.0 / (2.0 * x * x);
    double s = 1.0, term = 1.0;
    for (int k = 1; k <= 8; k++) {
        term *= -(2.0 * k - 1.0) * t;
        s += term;
    }
    return s / (x * SC_SQRT_PI);
}

/* Winitzki's closed form for erfinv (relative error < 2e-3), refined by
   Halley steps below */
static inline double sc_erfinv_guess(double y) {
    const double a = 0.147;
    const double l = log((1.0 - y) * (1.0 + y));
    const double b = 2.0 / (M_PI * a) + 0.5 * l;
    return copysign(sqrt(sqrt(b * b - l / a) - b), y);
}

/* Halley's method on f(x) = F(x) - target, where F is erf or erfc; both
   have F''(x) = -2x F'(x), so a step is x -= u / (1 + x u), u = f / F' */
static inline double sc_halley_erf(double x, double y, int use_erfc) {
    for (int k = 0; k < 3; k++) {
        const double d = 2.0 / SC_SQRT_PI * exp(-x * x);
        if (d == 0.0) break;
        const double u = use_erfc ? (erfc(x) - y) / -d : (erf(x) - y) / d;
        x -= u / (1.0 + x * u);
    }
    return x;
}

/* x > 0 with erfc(x) = z, for 0 < z <= 0.5 (erfc keeps full relative
   precision there) */
static inline double sc_erfcinv_tail(double z) {
    return sc_halley_erf(sc_erfinv_guess(1.0 - z), z, 1);
}

/* erfinv: +-1 give +-inf, |y| > 1 NaN, both zeros +0.0 (as scipy); the
   tails go through erfc */
static double sc_erfinv_f64(double y) {
    const double t = fabs(y);
    if (!(t <= 1.0)) return NAN;  /* also NaN */
    if (t == 0.0) return 0.0;
    if (t == 1.0) return copysign(INFINITY, y);
    if (t <= 0.5) return sc_halley_erf(sc_erfinv_guess(y), y, 0);
    return copysign(sc_erfcinv_tail(1.0 - t), y);
}

/* erfcinv: 0 gives inf, 2 gives -inf, outside [0, 2] NaN; the middle is
   -erfinv(z - 1) (so erfcinv(1) is -0.0, as scipy's) */
static double sc_erfcinv_f64(double z) {
    if (!(z >= 0.0 && z <= 2.0)) return NAN;
    if (z == 0.0) return INFINITY;
    if (z == 2.0) return -INFINITY;
    if (z <= 0.5) return sc_erfcinv_tail(z);
    if (z >= 1.5) return -sc_erfcinv_tail(2.0 - z);
    return -sc_erfinv_f64(z - 1.0);
}

/* log|gamma(x)| without lgamma's global signgam (threads); -inf gives
   -inf, as scipy's gammaln */
extern double lgamma_r(double, int *);
static inline double sc_lgamma_f64(double x) {
    int sign;
    return x == -INFINITY ? x : lgamma_r(x, &sign);
}

/* tan(pi x) and sin(pi x), reduced exactly to |r| <= 1/2 first */
static inline double sc_tanpi(double x) { return tan(M_PI * (x - nearbyint(x))); }
static inline double sc_sinpi(double x) {
    const double n = nearbyint(x);
    const double s = sin(M_PI * (x - n));
    return fmod(n, 2.0) == 0.0 ? s : -s;
}

/* psi: 0 gives -inf, -0.0 inf, negative integers and -inf NaN; the
   recurrence psi(x) = psi(x + 1) - 1/x up to x >= 10, then the asymptotic
   series; reflection for x < 0 */
static double sc_digamma_f64(double x) {
    if (isnan(x) || x == INFINITY) return x;
    if (x == 0.0) return copysign(INFINITY, -x);
    if (x < 0.0) {
        if (x == floor(x)) return NAN;  /* also -inf */
        return sc_digamma_f64(1.0 - x) - M_PI / sc_tanpi(x);
    }
    double r = 0.0;
    while (x < 10.0) {
        r -= 1.0 / x;
        x += 1.0;
    }
    const double z = 1.0 / (x * x);
    const double series = z * (1.0 / 12 - z * (1.0 / 120 - z * (1.0 / 252 - z * (
        1.0 / 240 - z * (1.0 / 132 - z * (691.0 / 32760 - z / 12))))));
    return r + log(x) - 0.5 / x - series;
}

/* polygamma(1, x): non-positive integers (and -inf) give inf, inf 0;
   psi1(x) = psi1(x + 1) + 1/x^2 up to x >= 10, then the asymptotic series;
   reflection psi1(x) = pi^2 / sin^2(pi x) - psi1(1 - x) for x < 0 */
static double sc_trigamma_f64(double x) {
    if (isnan(x)) return x;
    if (x == INFINITY) return 0.0;
    if (x <= 0.0 && x == floor(x)) return INFINITY;
    if (x < 0.0) {
        const double s = sc_sinpi(x);
        return M_PI * M_PI / (s * s) - sc_trigamma_f64(1.0 - x);
    }
    double r = 0.0;
    while (x < 10.0) {
        r += 1.0 / (x * x);
        x += 1.0;
    }
    const double z = 1.0 / (x * x);
    const double series = 1.0 / 6 - z * (1.0 / 30 - z * (1.0 / 42 - z * (
        1.0 / 30 - z * (5.0 / 66 - z * (691.0 / 2730 - z * 7.0 / 6)))));
    return r + 1.0 / x + 0.5 * z + z / x * series;
}

/* float32: the double result, rounded */
#define SC_DEF_F32_VIA_F64(NAME)                                              \
    static inline float NAME##_f32(float x) { return (float)NAME##_f64(x); }
SC_DEF_F32_VIA_F64(sc_erfcx) SC_DEF_F32_VIA_F64(sc_erfinv)
SC_DEF_F32_VIA_F64(sc_erfcinv) SC_DEF_F32_VIA_F64(sc_lgamma)
SC_DEF_F32_VIA_F64(sc_digamma) SC_DEF_F32_VIA_F64(sc_trigamma)

#endif
