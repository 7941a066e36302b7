/* The profiling clock, shared by the profiled VM (_cvm_profile.pyx) and the
 * scan loop's part timer (_loop_profile.pyx), so that their readings can be compared and nested.
 *
 * symarray_ticks(): the CPU's time-stamp counter where there is one (x86:
 * about 10 ns a reading, constant rate on current CPUs; converted with
 * symarray.vm._cvm_profile.ns_per_tick), else CLOCK_MONOTONIC in nanoseconds.
 * SYMARRAY_TICKS_ARE_NS: 1 when the readings are nanoseconds.
 */
#ifndef SYMARRAY_TICKS_H
#define SYMARRAY_TICKS_H

#if defined(_MSC_VER) && (defined(_M_X64) || defined(_M_IX86))
#include <intrin.h>
static inline long long symarray_ticks(void) { return (long long)__rdtsc(); }
#define SYMARRAY_TICKS_ARE_NS 0
#elif (defined(__x86_64__) || defined(__i386__)) && \
      (defined(__GNUC__) || defined(__clang__))
#include <x86intrin.h>
static inline long long symarray_ticks(void) { return (long long)__rdtsc(); }
#define SYMARRAY_TICKS_ARE_NS 0
#elif defined(_WIN32)
#include <time.h>
static inline long long symarray_ticks(void) {
    struct timespec t; timespec_get(&t, TIME_UTC);
    return (long long)t.tv_sec * 1000000000LL + t.tv_nsec;
}
#define SYMARRAY_TICKS_ARE_NS 1
#else
#include <time.h>
static inline long long symarray_ticks(void) {
    struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t);
    return (long long)t.tv_sec * 1000000000LL + t.tv_nsec;
}
#define SYMARRAY_TICKS_ARE_NS 1
#endif

#endif /* SYMARRAY_TICKS_H */
