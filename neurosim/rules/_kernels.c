/*
 * Fused single-pass CPU kernels for Madam and LogGridMadam (float32).
 *
 * Each function updates elements [start, end) of one parameter tensor in one
 * pass over memory (the eager torch path makes ten or more). Python calls them
 * through ctypes, which releases the GIL, so a thread pool splits large tensors
 * across cores. The arithmetic follows the eager path in neurosim/rules
 * operation by operation; only exp differs (a Cody-Waite range reduction with a
 * degree-6 minimax polynomial, after Moshier's Cephes expf, ~1 ulp), so Madam
 * agrees with the eager path to float32 rounding and LogGridMadam's levels
 * agree except where a value lies within an ulp of a rounding boundary.
 *
 * Madam: Bernstein, Zhao, Meister, Liu, Anandkumar, Yue (2020), "Learning
 * compositional functions via multiplicative weight updates", NeurIPS.
 */
#include <math.h>
#include <stdint.h>
#include <string.h>

#define TINY_F32 1.17549435e-38f
#define MAX_F32 3.40282347e+38f

/* NaN-propagating clamp (as torch.clamp); unlike fminf/fmaxf it inlines to vector min/max. */
static inline float clampf(float x, float lo, float hi) { x = x < lo ? lo : x; return x > hi ? hi : x; }

/* gcc on x86 defaults to 128-bit vectors on some CPUs; 256-bit helps Madam's exp loop
   (but not LogGridMadam's table lookup). */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
#define MADAM_VECTOR_WIDTH __attribute__((target("prefer-vector-width=256")))
#else
#define MADAM_VECTOR_WIDTH
#endif

static inline float fast_expf(float x) {
    x = clampf(x, -87.0f, 88.0f);
    float n = floorf(x * 1.44269504088896341f + 0.5f);
    float r = x - n * 0.693359375f;
    r = r - n * -2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * (r * r) + r + 1.0f;
    int32_t e = ((int32_t)n + 127) << 23;
    float scale;
    memcpy(&scale, &e, sizeof scale);
    return p * scale;
}

/* exp(x) for |x| <= 0.125 (Madam's |lr * gn| <= lr * g_bound, 0.1 by default): the Taylor
 * series to degree 6 (truncation below 1e-10, under float32 rounding), without the range
 * reduction of fast_expf (see madam_mul for how the two are kept in separate loops). */
static inline float small_expf(float x) {
    float p = 1.0f / 720.0f;
    p = p * x + 1.0f / 120.0f;
    p = p * x + 1.0f / 24.0f;
    p = p * x + 1.0f / 6.0f;
    p = p * x + 0.5f;
    p = p * x + 1.0f;
    return p * x + 1.0f;
}

/* lowbias32 integer hash (C. Wellons, "Prospecting for hash functions", 2018). */
static inline uint32_t mix32(uint32_t x) {
    x ^= x >> 16;
    x *= 0x7feb352dU;
    x ^= x >> 15;
    x *= 0x846ca68bU;
    x ^= x >> 16;
    return x;
}

/* Normalised, clipped gradient; updates the second moment v in place.
 * A non-finite gradient entry counts as 0 (and is counted in *skipped): Madam's 0/0 -> 0
 * extended to NaN and inf. v saturates at the largest float (an overflowing square, or a
 * NaN loaded from a state, would otherwise freeze the synapse or poison the level). The
 * result is always finite. isfinite() holds because the flags keep IEEE semantics
 * (no -ffinite-math-only). */
static inline float normalised(float g, float *v, float beta, float omb, float bc, float gbound,
                               int64_t *skipped) {
    int ok = isfinite(g);
    *skipped += !ok;
    g = ok ? g : 0.0f;
    float vb = *v * beta;
    float vi = fmaf(omb * g, g, vb); /* torch's addcmul is an FMA */
    vi = (vi <= MAX_F32) ? vi : MAX_F32; /* +inf and NaN -> max */
    *v = vi;
    float d = sqrtf(vi / bc);
    d = d < TINY_F32 ? TINY_F32 : d;
    float gn = g / d;
    return clampf(gn, -gbound, gbound);
}

/* Madam (additive == 0): p <- clip(p * exp(-lr * gn * sign(p)), -wmax, wmax).
 * additive == 1: p <- p - lr * gn (for biases and other non-synapse parameters). */
/* One multiplicative Madam pass; `small` is a compile-time constant at each call, so the
 * compiler emits two branch-free loops (a branch inside one loop would cost both sides). */
static inline __attribute__((always_inline)) int64_t madam_mul(
        float *restrict p, const float *restrict g, float *restrict v, int64_t start, int64_t end,
        float beta, float omb, float bc, float neg_lr, float gbound, float wmax, const int small) {
    int64_t skipped = 0;
    for (int64_t i = start; i < end; ++i) {
        float gn = normalised(g[i], &v[i], beta, omb, bc, gbound, &skipped);
        float pi = p[i];
        float s = (pi > 0.0f) ? 1.0f : ((pi < 0.0f) ? -1.0f : 0.0f);
        float x = (gn * s) * neg_lr;
        float w = pi * (small ? small_expf(x) : fast_expf(x));
        p[i] = clampf(w, -wmax, wmax);
    }
    return skipped;
}

/* Returns the number of non-finite gradient entries skipped. */
MADAM_VECTOR_WIDTH int64_t madam_f32(float *restrict p, const float *restrict g, float *restrict v,
               int64_t start, int64_t end, float beta, float omb, float bc, float lr, float gbound,
               float wmax, int additive) {
    if (additive) {
        int64_t skipped = 0;
        for (int64_t i = start; i < end; ++i) {
            float gn = normalised(g[i], &v[i], beta, omb, bc, gbound, &skipped);
            p[i] = fmaf(gn, -lr, p[i]); /* torch's add(alpha=) is an FMA */
        }
        return skipped;
    }
    if (lr * gbound <= 0.125f)
        return madam_mul(p, g, v, start, end, beta, omb, bc, -lr, gbound, wmax, 1);
    return madam_mul(p, g, v, start, end, beta, omb, bc, -lr, gbound, wmax, 0);
}

/* LogGridMadam: level <- clip(floor(level + (gn * s) * coef + u), 0, top), p <- s * table[level],
 * with coef = -lr / step, s = +1 for p >= 0 else -1, and u = offset (nearest; 0.5) or a
 * hash of (key, index) in [0, 1) with 24 bits (stochastic). coef, top, offset, beta and gbound
 * come from neurosim.rules.spec (GridMadamSpec), the one definition of the rule. The level is clipped before
 * the cast to an integer and the clip sends NaN to 0 (!(k >= 0)), so the table index is
 * always in 0..top whatever the inputs. Returns the number of non-finite gradient entries. */
#define LOGGRID_KERNEL(NAME, LTYPE)                                                               \
    int64_t NAME(float *restrict p, const float *restrict g, float *restrict v,                   \
                 LTYPE *restrict level, const float *restrict table, int64_t start, int64_t end,  \
                 int32_t top, float beta, float omb, float bc, float coef, float gbound,          \
                 int stochastic, float offset, uint32_t key) {                                    \
        const float ftop = (float)top;                                                            \
        int64_t skipped = 0;                                                                      \
        for (int64_t i = start; i < end; ++i) {                                                   \
            float gn = normalised(g[i], &v[i], beta, omb, bc, gbound, &skipped);                  \
            float s = (p[i] >= 0.0f) ? 1.0f : -1.0f;                                              \
            float x = fmaf(gn * s, coef, (float)level[i]);                                        \
            float u = offset;                                                                     \
            if (stochastic) {                                                                     \
                uint32_t h = mix32((uint32_t)i * 0x9E3779B9U + key);                              \
                u = (float)(h >> 8) * 5.9604644775390625e-8f;                                     \
            }                                                                                     \
            float k = floorf(x + u);                                                              \
            k = (k >= 0.0f) ? k : 0.0f; /* NaN -> 0 */                                            \
            k = (k <= ftop) ? k : ftop;                                                           \
            int32_t ki = (int32_t)k;                                                              \
            level[i] = (LTYPE)ki;                                                                 \
            p[i] = s * table[ki];                                                                 \
        }                                                                                         \
        return skipped;                                                                           \
    }

LOGGRID_KERNEL(loggrid_f32_u8, uint8_t)
LOGGRID_KERNEL(loggrid_f32_i16, int16_t)
