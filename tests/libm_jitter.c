/* Another C library's last bits, for `make binder-check` (loaded with LD_PRELOAD).

   exp, log, pow, sin and their relatives are correctly rounded in almost every case by glibc,
   but not by every C library, and glibc's FMA and non-FMA variants already disagree in the
   last bit now and then. A chapter whose printed digits depend on those bits passes on one
   machine and fails on the next. This library stands in for "the next machine": each wrapped
   function returns glibc's result or one of its two neighbours (one ulp away), chosen by a
   hash of the arguments and LIBM_JITTER_SEED. It is a function of its arguments, like any
   libm; exact cases (exp(0), log(1), pow with an integer exponent, sqrt) stay exact.

   Build: cc -O2 -shared -fPIC -o libm_jitter.so libm_jitter.c -ldl -lm */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static uint64_t seed = 1;

__attribute__((constructor)) static void read_seed(void) {
    const char *s = getenv("LIBM_JITTER_SEED");
    if (s) seed = strtoull(s, NULL, 10);
}

static uint64_t mix(uint64_t x) {
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    x ^= x >> 33;
    return x;
}

static uint64_t bits(double x) {
    uint64_t u;
    memcpy(&u, &x, sizeof u);
    return u;
}

/* r, or its neighbour above or below, by the hash h; errno is left as glibc set it. An integer
   result (exp(0), cos(0) = 1, tanh(40) = 1, log10(1000) = 3) is exact and stays so, which also
   keeps sin, cos and tanh within [-1, 1] and cosh at least 1. */
static double nudge(double r, uint64_t h) {
    if (!isfinite(r) || fabs(r) < 1e-300 || r == floor(r)) return r;
    int saved = errno;
    uint64_t k = mix(h ^ mix(seed)) % 3;
    double out = k == 0 ? r : nextafter(r, k == 1 ? INFINITY : -INFINITY);
    errno = saved;
    return out;
}

#define WRAP1(name, exact)                                                   \
    double name(double x) {                                                  \
        static double (*real)(double);                                       \
        if (!real) real = (double (*)(double))dlsym(RTLD_NEXT, #name);       \
        double r = real(x);                                                  \
        return (exact) ? r : nudge(r, bits(x) * 31 + __LINE__);              \
    }

WRAP1(exp, x == 0.0)
WRAP1(expm1, x == 0.0)
WRAP1(exp2, x == floor(x))
WRAP1(log, x == 1.0)
WRAP1(log1p, x == 0.0)
WRAP1(log2, x == 1.0 || (x > 0 && x == ldexp(1.0, ilogb(x))))
WRAP1(log10, x == 1.0)
WRAP1(sin, x == 0.0)
WRAP1(cos, x == 0.0)
WRAP1(tan, x == 0.0)
WRAP1(atan, x == 0.0)
WRAP1(sinh, x == 0.0)
WRAP1(cosh, x == 0.0)
WRAP1(tanh, x == 0.0)

double pow(double x, double y) {
    static double (*real)(double, double);
    if (!real) real = (double (*)(double, double))dlsym(RTLD_NEXT, "pow");
    double r = real(x, y);
    if (y == floor(y) || y == 0.5 || x == 0.0 || x == 1.0) return r;
    return nudge(r, bits(x) * 131 + bits(y) * 7);
}

double atan2(double y, double x) {
    static double (*real)(double, double);
    if (!real) real = (double (*)(double, double))dlsym(RTLD_NEXT, "atan2");
    double r = real(y, x);
    return y == 0.0 ? r : nudge(r, bits(x) * 131 + bits(y) * 7 + 5);
}
