/*
 * Fused inference kernels on float32 rows, for lib/native/wasm-fused.ts: the norms, the gated and
 * GELU activations, rotary embedding and the causal softmax of attention, each one pass over its
 * data where tfjs-backend-wasm runs two to six ops (and allocates their intermediates). They read
 * and write the wasm heap through typed-array views; every length is checked here.
 *
 * Compiled at -O3 with one clone per vector width (AVX-512, AVX2, baseline), chosen when the
 * addon loads (GCC target_clones). Sums of squares and means accumulate in float64, so a norm is
 * at least as close to a float64 reference as PyTorch's float32 one. exp is a polynomial on the
 * reduced argument (Cephes' expf: within 2 ulp on the float range, no call, so it vectorizes).
 */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "addon.h"

#pragma GCC optimize("O3")

/*
 * e^x for float32 x: x = n ln2 + r with |r| <= ln2 / 2, e^r by Cephes' degree-5 minimax
 * polynomial, 2^n from exponent bits in two factors (so subnormal results come out right). x is
 * clamped to [-104, 88.7]: results from 0 (below the smallest subnormal) to 3.4e38, no
 * infinities; NaN passes through the comparisons unchanged.
 */
static inline float exp_poly(float x) {
  x = x > 88.7f ? 88.7f : x;
  x = x < -104.0f ? -104.0f : x;
  /* Round x / ln2 to the nearest integer by adding and subtracting 1.5 * 2^23. */
  const float shift = 12582912.0f;
  float n = (x * 1.44269504088896341f + shift) - shift;
  float r = x - n * 0.693359375f;
  r = r - n * -2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  int32_t k = (int32_t)n;
  int32_t half = k / 2;
  int32_t bits1 = (half + 127) << 23, bits2 = (k - half + 127) << 23;
  float s1, s2;
  memcpy(&s1, &bits1, sizeof s1);
  memcpy(&s2, &bits2, sizeof s2);
  return p * s1 * s2;
}

/* 1 / (1 + e^-z) without overflow or cancellation: e^-|z| is at most 1 either side of 0. */
static inline float sigmoid_poly(float z) {
  float e = exp_poly(z < 0 ? z : -z);
  return z < 0 ? e / (1.0f + e) : 1.0f / (1.0f + e);
}

/* out[r] = x[r] / sqrt(mean(x[r]^2) + eps) * gain, rows of `width`. */
VECTOR_CLONES static void rms_norm_rows(const float* x, const float* gain, float eps, float* out, size_t rows, size_t width) {
  for (size_t r = 0; r < rows; r++) {
    const float* xr = x + r * width;
    float* yr = out + r * width;
    double squares = 0;
    for (size_t i = 0; i < width; i++) squares += (double)xr[i] * xr[i];
    float inv = (float)(1.0 / sqrt(squares / (double)width + eps));
    for (size_t i = 0; i < width; i++) yr[i] = xr[i] * inv * gain[i];
  }
}

/* out[r] = (x[r] - mean) / sqrt(var + eps) * gain + bias (biased variance), rows of `width`. */
VECTOR_CLONES static void layer_norm_rows(const float* x, const float* gain, const float* bias, float eps, float* out, size_t rows, size_t width) {
  for (size_t r = 0; r < rows; r++) {
    const float* xr = x + r * width;
    float* yr = out + r * width;
    double sum = 0;
    for (size_t i = 0; i < width; i++) sum += xr[i];
    double mean = sum / (double)width;
    double squares = 0;
    for (size_t i = 0; i < width; i++) {
      double d = xr[i] - mean;
      squares += d * d;
    }
    float inv = (float)(1.0 / sqrt(squares / (double)width + eps));
    float m = (float)mean;
    for (size_t i = 0; i < width; i++) yr[i] = (xr[i] - m) * inv * gain[i] + bias[i];
  }
}

/* out = silu(gate) * up = gate sigmoid(gate) up. */
VECTOR_CLONES static void swiglu_values(const float* gate, const float* up, float* out, size_t n) {
  for (size_t i = 0; i < n; i++) out[i] = gate[i] * sigmoid_poly(gate[i]) * up[i];
}

/*
 * out = gelu_new(x) = 0.5 x (1 + tanh(u)), u = sqrt(2/pi) (x + 0.044715 x^3), computed as
 * x sigmoid(2u) (the same function: 1 + tanh(u) = 2 sigmoid(2u)), which has no cancellation
 * where tanh(u) is near -1.
 */
VECTOR_CLONES static void gelu_tanh_values(const float* x, float* out, size_t n) {
  for (size_t i = 0; i < n; i++) {
    float v = x[i];
    float u = 0.7978845608028654f * (v + 0.044715f * v * v * v);
    out[i] = v * sigmoid_poly(2.0f * u);
  }
}

/*
 * Rotary embedding, HF rotate_half layout, on rows of `width` (= d_head): row r is at position
 * r % n_pos; its first `rot` values rotate pairwise (i, i + rot/2) by the tables' angles, the rest
 * pass through. cos and sin are [n_pos, rot].
 */
/* One row of rotary_rows: xr [width] at the position whose table rows are c, s [rot]; yr apart from xr. */
static inline void rotary_row(const float* restrict xr, const float* c, const float* s, float* restrict yr, size_t width, size_t rot) {
  size_t half = rot / 2;
  for (size_t i = 0; i < half; i++) {
    float a = xr[i], b = xr[half + i];
    yr[i] = a * c[i] - b * s[i];
    yr[half + i] = b * c[half + i] + a * s[half + i];
  }
  for (size_t i = rot; i < width; i++) yr[i] = xr[i];
}

VECTOR_CLONES static void rotary_rows(const float* restrict x, const float* cos_t, const float* sin_t, float* restrict out, size_t rows, size_t width, size_t n_pos, size_t rot) {
  for (size_t r = 0; r < rows; r++) rotary_row(x + r * width, cos_t + (r % n_pos) * rot, sin_t + (r % n_pos) * rot, out + r * width, width, rot);
}

/*
 * Causal softmax in place over score rows [rows, n_pos]: row r is query position t = r % n_pos,
 * which sees keys first..t (first = t - window + 1 with a sliding window, else 0); the others
 * become exactly 0, as e^(-1e9 - max) does in the composite attention.
 */
/* The first key query position t sees: t - window + 1 with a sliding window (window > 0), else 0. */
static inline size_t first_key(size_t t, size_t window) { return window > 0 && t + 1 > window ? t + 1 - window : 0; }

/* Softmax in place over row[first..last] of a row of n scores; the rest of the row becomes 0. */
static inline void softmax_visible(float* row, size_t first, size_t last, size_t n) {
  float max = row[first];
  for (size_t k = first + 1; k <= last; k++) max = row[k] > max ? row[k] : max;
  for (size_t k = first; k <= last; k++) row[k] = exp_poly(row[k] - max);
  float sum = 0;
  for (size_t k = first; k <= last; k++) sum += row[k];
  float inv = 1.0f / sum;
  for (size_t k = first; k <= last; k++) row[k] *= inv;
  for (size_t k = 0; k < first; k++) row[k] = 0;
  for (size_t k = last + 1; k < n; k++) row[k] = 0;
}

VECTOR_CLONES static void causal_softmax_rows(float* s, size_t rows, size_t n_pos, size_t window) {
  for (size_t r = 0; r < rows; r++) {
    size_t t = r % n_pos;
    softmax_visible(s + r * n_pos, first_key(t, window), t, n_pos);
  }
}

/* A Float32Array argument, or a TypeError naming the call. */
static int f32(napi_env env, napi_value v, float** data, size_t* n) { return typed(env, v, napi_float32_array, (void**)data, n); }

static napi_value fail(napi_env env, const char* message) {
  napi_throw_range_error(env, NULL, message);
  return NULL;
}

/*
 * The row and elementwise kernels below run on `threads` threads (an optional last argument,
 * default 1: the caller passes the BLAS's thread count, lib/native/wasm-fused.ts) when the work is
 * large enough to pay for a thread: each thread takes a contiguous share of rows (or values),
 * computed exactly as on one thread. Why: between the products the BLAS's threads sleep, and these
 * loops (TinyLlama's SwiGLU over [512, 5632], 22 times a forward) ran on one core of two.
 */
enum { KERNEL_MAX_THREADS = 8, KERNEL_MIN_SHARE = 1 << 16 };

enum kernel_kind { KERNEL_RMS_NORM, KERNEL_LAYER_NORM, KERNEL_SWIGLU, KERNEL_GELU_TANH };

struct kernel_job {
  enum kernel_kind kind;
  const float *x, *y, *gain, *bias;
  float* out;
  float eps;
  size_t rows, width; /* rows of `width` values; swiglu and gelu: rows = values, width = 1 */
};

static void* kernel_share(void* arg) {
  const struct kernel_job* j = arg;
  switch (j->kind) {
    case KERNEL_RMS_NORM: rms_norm_rows(j->x, j->gain, j->eps, j->out, j->rows, j->width); break;
    case KERNEL_LAYER_NORM: layer_norm_rows(j->x, j->gain, j->bias, j->eps, j->out, j->rows, j->width); break;
    case KERNEL_SWIGLU: swiglu_values(j->x, j->y, j->out, j->rows); break;
    case KERNEL_GELU_TANH: gelu_tanh_values(j->x, j->out, j->rows); break;
  }
  return NULL;
}

/* Run `whole` on up to `threads` threads, each on a contiguous share of its rows (at least KERNEL_MIN_SHARE values each). */
static void run_kernel(struct kernel_job whole, int threads) {
  size_t values = whole.rows * whole.width;
  size_t n = threads > 1 ? (size_t)threads : 1;
  if (n > KERNEL_MAX_THREADS) n = KERNEL_MAX_THREADS;
  while (n > 1 && values / n < KERNEL_MIN_SHARE) n--;
  if (n > whole.rows) n = whole.rows > 0 ? whole.rows : 1;
  struct kernel_job jobs[KERNEL_MAX_THREADS];
  size_t start = 0;
  for (size_t t = 0; t < n; t++) {
    size_t end = whole.rows * (t + 1) / n;
    size_t at = start * whole.width;
    jobs[t] = whole;
    jobs[t].x = whole.x + at;
    jobs[t].y = whole.y != NULL ? whole.y + at : NULL;
    jobs[t].out = whole.out + at;
    jobs[t].rows = end - start;
    start = end;
  }
  run_shares(kernel_share, jobs, sizeof jobs[0], n);
}

/* The optional thread count at argument `i` into *threads (default 1); 0 when it is not an integer >= 1 (the caller throws). */
static int threads_arg(napi_env env, size_t argc, napi_value* a, size_t i, int* threads) {
  *threads = 1;
  if (argc <= i) return 1;
  napi_valuetype t;
  if (napi_typeof(env, a[i], &t) == napi_ok && t == napi_undefined) return 1;
  return int_arg(env, a[i], threads) && *threads >= 1;
}

/* rmsNorm(x, gain, eps, out, threads?): x and out [rows, width], gain [width]; out may be x. */
static napi_value rms_norm(napi_env env, napi_callback_info info) {
  size_t argc = 5, nx, ng, no;
  napi_value a[5];
  float *x, *g, *o;
  double eps;
  int threads;
  CHECK(napi_get_cb_info(env, info, &argc, a, NULL, NULL));
  if (argc < 4 || !f32(env, a[0], &x, &nx) || !f32(env, a[1], &g, &ng) || !dbl_arg(env, a[2], &eps) || !f32(env, a[3], &o, &no) || !threads_arg(env, argc, a, 4, &threads)) {
    napi_throw_type_error(env, NULL, "native kernels: rmsNorm(x: Float32Array, gain: Float32Array, eps: number, out: Float32Array, threads?: number)");
    return NULL;
  }
  if (ng == 0 || nx % ng != 0 || no != nx) return fail(env, "native kernels: rmsNorm needs x and out of equal length, a multiple of gain's");
  run_kernel((struct kernel_job){KERNEL_RMS_NORM, x, NULL, g, NULL, o, (float)eps, nx / ng, ng}, threads);
  return NULL;
}

/* layerNorm(x, gain, bias, eps, out, threads?): x and out [rows, width], gain and bias [width]; out may be x. */
static napi_value layer_norm(napi_env env, napi_callback_info info) {
  size_t argc = 6, nx, ng, nb, no;
  napi_value a[6];
  float *x, *g, *b, *o;
  double eps;
  int threads;
  CHECK(napi_get_cb_info(env, info, &argc, a, NULL, NULL));
  if (argc < 5 || !f32(env, a[0], &x, &nx) || !f32(env, a[1], &g, &ng) || !f32(env, a[2], &b, &nb) || !dbl_arg(env, a[3], &eps) ||
      !f32(env, a[4], &o, &no) || !threads_arg(env, argc, a, 5, &threads)) {
    napi_throw_type_error(env, NULL, "native kernels: layerNorm(x: Float32Array, gain: Float32Array, bias: Float32Array, eps: number, out: Float32Array, threads?: number)");
    return NULL;
  }
  if (ng == 0 || nb != ng || nx % ng != 0 || no != nx) return fail(env, "native kernels: layerNorm needs x and out of equal length, a multiple of gain's and bias's");
  run_kernel((struct kernel_job){KERNEL_LAYER_NORM, x, NULL, g, b, o, (float)eps, nx / ng, ng}, threads);
  return NULL;
}

/* swiglu(gate, up, out, threads?): out = silu(gate) * up, all of one length; out may be gate or up. */
static napi_value swiglu(napi_env env, napi_callback_info info) {
  size_t argc = 4, ng, nu, no;
  napi_value a[4];
  float *g, *u, *o;
  int threads;
  CHECK(napi_get_cb_info(env, info, &argc, a, NULL, NULL));
  if (argc < 3 || !f32(env, a[0], &g, &ng) || !f32(env, a[1], &u, &nu) || !f32(env, a[2], &o, &no) || !threads_arg(env, argc, a, 3, &threads)) {
    napi_throw_type_error(env, NULL, "native kernels: swiglu(gate: Float32Array, up: Float32Array, out: Float32Array, threads?: number)");
    return NULL;
  }
  if (nu != ng || no != ng) return fail(env, "native kernels: swiglu needs gate, up and out of equal length");
  run_kernel((struct kernel_job){KERNEL_SWIGLU, g, u, NULL, NULL, o, 0, ng, 1}, threads);
  return NULL;
}

/* geluTanh(x, out, threads?): out = gelu_new(x), of one length; out may be x. */
static napi_value gelu_tanh(napi_env env, napi_callback_info info) {
  size_t argc = 3, nx, no;
  napi_value a[3];
  float *x, *o;
  int threads;
  CHECK(napi_get_cb_info(env, info, &argc, a, NULL, NULL));
  if (argc < 2 || !f32(env, a[0], &x, &nx) || !f32(env, a[1], &o, &no) || !threads_arg(env, argc, a, 2, &threads)) {
    napi_throw_type_error(env, NULL, "native kernels: geluTanh(x: Float32Array, out: Float32Array, threads?: number)");
    return NULL;
  }
  if (no != nx) return fail(env, "native kernels: geluTanh needs x and out of equal length");
  run_kernel((struct kernel_job){KERNEL_GELU_TANH, x, NULL, NULL, NULL, o, 0, nx, 1}, threads);
  return NULL;
}

/* rotary(x, cos, sin, out, nPos, width): x and out [rows, width] (apart), row r at position r % nPos; cos and sin [nPos, rot]. */
static napi_value rotary(napi_env env, napi_callback_info info) {
  size_t argc = 6, nx, nc, ns, no;
  napi_value a[6];
  float *x, *c, *s, *o;
  int n_pos, width;
  CHECK(napi_get_cb_info(env, info, &argc, a, NULL, NULL));
  if (argc != 6 || !f32(env, a[0], &x, &nx) || !f32(env, a[1], &c, &nc) || !f32(env, a[2], &s, &ns) || !f32(env, a[3], &o, &no) ||
      !int_arg(env, a[4], &n_pos) || !int_arg(env, a[5], &width)) {
    napi_throw_type_error(env, NULL, "native kernels: rotary(x, cos, sin, out: Float32Array, nPos: number, width: number)");
    return NULL;
  }
  if (n_pos <= 0 || width <= 0 || nc != ns || nc % (size_t)n_pos != 0 || nx % ((size_t)n_pos * width) != 0 || no != nx)
    return fail(env, "native kernels: rotary needs x and out of equal length in whole sequences of nPos rows, and cos, sin [nPos, rot]");
  size_t rot = nc / (size_t)n_pos;
  if (rot % 2 != 0 || rot > (size_t)width) return fail(env, "native kernels: rotary needs an even rotary width of at most the row's");
  if (overlaps(o, no * 4, x, nx * 4)) return fail(env, "native kernels: rotary's out overlaps x");
  rotary_rows(x, c, s, o, nx / (size_t)width, (size_t)width, (size_t)n_pos, rot);
  return NULL;
}

/* causalSoftmax(scores, nPos, window): in place over rows [rows, nPos], row r at query position r % nPos; window 0: none. */
static napi_value causal_softmax(napi_env env, napi_callback_info info) {
  size_t argc = 3, n;
  napi_value a[3];
  float* s;
  int n_pos, window;
  CHECK(napi_get_cb_info(env, info, &argc, a, NULL, NULL));
  if (argc != 3 || !f32(env, a[0], &s, &n) || !int_arg(env, a[1], &n_pos) || !int_arg(env, a[2], &window)) {
    napi_throw_type_error(env, NULL, "native kernels: causalSoftmax(scores: Float32Array, nPos: number, window: number)");
    return NULL;
  }
  if (n_pos <= 0 || window < 0 || n % ((size_t)n_pos * n_pos) != 0) return fail(env, "native kernels: causalSoftmax needs whole [nPos, nPos] blocks of scores and a window >= 0");
  causal_softmax_rows(s, n / (size_t)n_pos, (size_t)n_pos, (size_t)window);
  return NULL;
}

/* One thread's share of causal attention: groups first, first + step, ... of the arrays below. */
struct attention_job {
  const float *q, *k, *v;
  float *s, *o;
  size_t groups, first, step, rows, n_pos, d_head;
  float scale;
  size_t window;
};

static void* attention_groups(void* arg) {
  const struct attention_job* j = arg;
  size_t q_size = j->rows * j->d_head, kv_size = j->n_pos * j->d_head, s_size = j->rows * j->n_pos;
  for (size_t g = j->first; g < j->groups; g += j->step) {
    float* sg = j->s + g * s_size;
    blas_sgemm(0, 1, (int)j->rows, (int)j->n_pos, (int)j->d_head, j->scale, j->q + g * q_size, (int)j->d_head, j->k + g * kv_size, (int)j->d_head, 0, sg, (int)j->n_pos);
    causal_softmax_rows(sg, j->rows, j->n_pos, j->window);
    blas_sgemm(0, 0, (int)j->rows, (int)j->d_head, (int)j->n_pos, 1, sg, (int)j->n_pos, j->v + g * kv_size, (int)j->d_head, 0, j->o + g * q_size, (int)j->d_head);
  }
  return NULL;
}

/*
 * attentionGroups(q, k, v, scores, out, groups, rows, nPos, dHead, scale, window, threads): per group
 * g, scores_g = scale q_g k_g^T [rows, nPos], the causal softmax in place, out_g = scores_g v_g
 * [rows, dHead]; q and out [groups, rows, dHead], k and v [groups, nPos, dHead], scores
 * [groups, rows, nPos]. Groups are shared among `threads` threads, each calling sgemm; the caller
 * sets the library's own threads to 1 first (OpenBLAS is safe to call from several threads then).
 */
static napi_value attention_groups_call(napi_env env, napi_callback_info info) {
  size_t argc = 12, nq, nk, nv, ns, no;
  napi_value a[12];
  float *q, *k, *v, *s, *o;
  int groups, rows, n_pos, d_head, window, threads;
  double scale;
  CHECK(napi_get_cb_info(env, info, &argc, a, NULL, NULL));
  if (argc != 12 || !f32(env, a[0], &q, &nq) || !f32(env, a[1], &k, &nk) || !f32(env, a[2], &v, &nv) || !f32(env, a[3], &s, &ns) ||
      !f32(env, a[4], &o, &no) || !int_arg(env, a[5], &groups) || !int_arg(env, a[6], &rows) || !int_arg(env, a[7], &n_pos) ||
      !int_arg(env, a[8], &d_head) || !dbl_arg(env, a[9], &scale) || !int_arg(env, a[10], &window) || !int_arg(env, a[11], &threads)) {
    napi_throw_type_error(env, NULL, "native kernels: attentionGroups(q, k, v, scores, out: Float32Array, groups, rows, nPos, dHead, scale, window, threads: number)");
    return NULL;
  }
  if (groups <= 0 || rows <= 0 || n_pos <= 0 || d_head <= 0 || window < 0 || threads <= 0 || rows % n_pos != 0 ||
      nq != (size_t)groups * rows * d_head || no != nq || nk != (size_t)groups * n_pos * d_head || nv != nk || ns != (size_t)groups * rows * n_pos)
    return fail(env, "native kernels: attentionGroups needs q, out [groups, rows, dHead], k, v [groups, nPos, dHead], scores [groups, rows, nPos], rows a multiple of nPos");
  if (overlaps(o, no * 4, q, nq * 4) || overlaps(o, no * 4, k, nk * 4) || overlaps(o, no * 4, v, nv * 4) || overlaps(s, ns * 4, q, nq * 4) ||
      overlaps(s, ns * 4, k, nk * 4) || overlaps(s, ns * 4, v, nv * 4) || overlaps(s, ns * 4, o, no * 4))
    return fail(env, "native kernels: attentionGroups's scores and out must not overlap the inputs or each other");
  if (!blas_ready()) return fail(env, "native kernels: attentionGroups needs the BLAS library");
  enum { MAX_THREADS = 8 };
  size_t n_threads = (size_t)(threads < groups ? threads : groups);
  if (n_threads > MAX_THREADS) n_threads = MAX_THREADS;
  struct attention_job jobs[MAX_THREADS];
  for (size_t t = 0; t < n_threads; t++)
    jobs[t] = (struct attention_job){q, k, v, s, o, (size_t)groups, t, n_threads, (size_t)rows, (size_t)n_pos, (size_t)d_head, (float)scale, (size_t)window};
  run_shares(attention_groups, jobs, sizeof jobs[0], n_threads);
  return NULL;
}

/*
 * Rotary causal attention on the merged layout: one sequence's rows [n_pos, ld] hold each head's
 * d_head values side by side (q [n_pos, n_heads * d_head], k and v [n_pos, n_kv * d_head], out as
 * q), as the projections give them and the output projection reads them.
 */

/*
 * Rows t0..t1-1 of `heads` consecutive heads of x (a sequence's merged rows, stride ldx, from the
 * first head's column), each rotated at its position t as rotary_rows does (the same rotary_row),
 * into dst [heads, t1 - t0, d_head]: the heads stacked along positions.
 */
VECTOR_CLONES static void gather_rotated(const float* restrict x, size_t ldx, size_t heads, size_t t0, size_t t1, const float* cos_t, const float* sin_t,
                                         size_t d_head, size_t rot, float* restrict dst) {
  size_t len = t1 - t0;
  for (size_t h = 0; h < heads; h++)
    for (size_t t = t0; t < t1; t++) rotary_row(x + t * ldx + h * d_head, cos_t + t * rot, sin_t + t * rot, dst + (h * len + t - t0) * d_head, d_head, rot);
}

/*
 * Causal softmax of a chunk's score rows [heads * (t1 - t0), t1 - k0]: row r is query position
 * t = t0 + r % (t1 - t0) over keys k0..t1-1 (k0 the first key t0 sees), seeing first_key(t)..t.
 */
VECTOR_CLONES static void chunk_softmax(float* s, size_t heads, size_t t0, size_t t1, size_t k0, size_t window) {
  size_t len = t1 - t0, n = t1 - k0;
  for (size_t r = 0; r < heads * len; r++) {
    size_t t = t0 + r % len;
    softmax_visible(s + r * n, first_key(t, window) - k0, t - k0, n);
  }
}

/* One thread's share of rotaryAttention: groups (sequence, kv head) first, first + step, ... */
struct rotary_attention_job {
  const float *q, *k, *v, *cos_t, *sin_t;
  float* o;
  /* This thread's scratch: queries, then outputs [group * n_pos, d_head]; keys [n_pos, d_head]; scores. */
  float* scratch;
  size_t groups, first, step, n_pos, n_heads, n_kv, d_head, rot, window, chunks;
  float scale;
};

/*
 * Per group: the kv head's keys rotated into scratch; then per chunk of positions t0..t1-1 (the
 * sequence cut in `chunks` near-equal pieces), the group's query heads rotated and stacked along
 * positions, scores = scale q k^T over keys k0..t1-1 only (the keys no query of the chunk sees,
 * later ones and those before its window, are left out of both products: their probability is
 * exactly 0), the causal softmax, and out = scores v with v read in place (stride n_kv * d_head).
 * One head's output goes straight into the merged rows (stride n_heads * d_head); several go
 * through the query scratch, copied out row by row.
 */
static void* rotary_attention_groups(void* arg) {
  const struct rotary_attention_job* j = arg;
  size_t group = j->n_heads / j->n_kv, dh = j->d_head, n_pos = j->n_pos;
  size_t ldq = j->n_heads * dh, ldkv = j->n_kv * dh;
  float* qs = j->scratch;
  float* ks = qs + group * n_pos * dh;
  float* ss = ks + n_pos * dh;
  for (size_t g = j->first; g < j->groups; g += j->step) {
    size_t b = g / j->n_kv, kv = g % j->n_kv;
    const float* qb = j->q + b * n_pos * ldq + kv * group * dh;
    const float* vb = j->v + b * n_pos * ldkv + kv * dh;
    float* ob = j->o + b * n_pos * ldq + kv * group * dh;
    gather_rotated(j->k + b * n_pos * ldkv + kv * dh, ldkv, 1, 0, n_pos, j->cos_t, j->sin_t, dh, j->rot, ks);
    for (size_t c = 0; c < j->chunks; c++) {
      size_t t0 = c * n_pos / j->chunks, t1 = (c + 1) * n_pos / j->chunks;
      if (t1 == t0) continue;
      size_t len = t1 - t0, rows = group * len, k0 = first_key(t0, j->window), n = t1 - k0;
      gather_rotated(qb, ldq, group, t0, t1, j->cos_t, j->sin_t, dh, j->rot, qs);
      blas_sgemm(0, 1, (int)rows, (int)n, (int)dh, j->scale, qs, (int)dh, ks + k0 * dh, (int)dh, 0, ss, (int)n);
      chunk_softmax(ss, group, t0, t1, k0, j->window);
      if (group == 1) {
        blas_sgemm(0, 0, (int)len, (int)dh, (int)n, 1, ss, (int)n, vb + k0 * ldkv, (int)ldkv, 0, ob + t0 * ldq, (int)ldq);
        continue;
      }
      blas_sgemm(0, 0, (int)rows, (int)dh, (int)n, 1, ss, (int)n, vb + k0 * ldkv, (int)ldkv, 0, qs, (int)dh);
      for (size_t h = 0; h < group; h++)
        for (size_t t = t0; t < t1; t++) memcpy(ob + t * ldq + h * dh, qs + (h * len + t - t0) * dh, dh * sizeof(float));
    }
  }
  return NULL;
}

/*
 * rotaryAttention(q, k, v, cos, sin, out, batch, nPos, nHeads, nKvHeads, dHead, scale, window,
 * chunks, threads): out [batch, nPos, nHeads * dHead] = causal attention of rotary(q) [batch,
 * nPos, nHeads * dHead] over rotary(k), v [batch, nPos, nKvHeads * dHead], query head h reading
 * kv head floor(h / (nHeads / nKvHeads)); cos, sin [nPos, rot] (rotate_half, rot even, at most
 * dHead); window 0: none; chunks >= 1 pieces of positions per product (1: the whole causal
 * square). The (sequence, kv head) groups are shared among `threads` threads, each with its own
 * scratch and calling sgemm: the caller sets the library's own threads to 1 first.
 */
static napi_value rotary_attention_call(napi_env env, napi_callback_info info) {
  size_t argc = 15, nq, nk, nv, nc, ns, no;
  napi_value a[15];
  float *q, *k, *v, *c, *s, *o;
  int batch, n_pos, n_heads, n_kv, d_head, window, chunks, threads;
  double scale;
  CHECK(napi_get_cb_info(env, info, &argc, a, NULL, NULL));
  if (argc != 15 || !f32(env, a[0], &q, &nq) || !f32(env, a[1], &k, &nk) || !f32(env, a[2], &v, &nv) || !f32(env, a[3], &c, &nc) ||
      !f32(env, a[4], &s, &ns) || !f32(env, a[5], &o, &no) || !int_arg(env, a[6], &batch) || !int_arg(env, a[7], &n_pos) ||
      !int_arg(env, a[8], &n_heads) || !int_arg(env, a[9], &n_kv) || !int_arg(env, a[10], &d_head) || !dbl_arg(env, a[11], &scale) ||
      !int_arg(env, a[12], &window) || !int_arg(env, a[13], &chunks) || !int_arg(env, a[14], &threads)) {
    napi_throw_type_error(env, NULL, "native kernels: rotaryAttention(q, k, v, cos, sin, out: Float32Array, batch, nPos, nHeads, nKvHeads, dHead, scale, window, chunks, threads: number)");
    return NULL;
  }
  if (batch <= 0 || n_pos <= 0 || n_heads <= 0 || n_kv <= 0 || d_head <= 0 || window < 0 || chunks <= 0 || threads <= 0 || n_heads % n_kv != 0)
    return fail(env, "native kernels: rotaryAttention needs positive sizes, nHeads a multiple of nKvHeads, window >= 0, chunks and threads >= 1");
  size_t rows_q = (size_t)batch * n_pos, width_q = (size_t)n_heads * d_head, width_kv = (size_t)n_kv * d_head;
  if (nq != rows_q * width_q || no != nq || nk != rows_q * width_kv || nv != nk)
    return fail(env, "native kernels: rotaryAttention needs q, out [batch, nPos, nHeads * dHead] and k, v [batch, nPos, nKvHeads * dHead]");
  size_t rot = nc / (size_t)n_pos;
  if (ns != nc || nc % (size_t)n_pos != 0 || rot % 2 != 0 || rot > (size_t)d_head)
    return fail(env, "native kernels: rotaryAttention needs cos, sin [nPos, rot] with rot even and at most dHead");
  if (overlaps(o, no * 4, q, nq * 4) || overlaps(o, no * 4, k, nk * 4) || overlaps(o, no * 4, v, nv * 4) || overlaps(o, no * 4, c, nc * 4) ||
      overlaps(o, no * 4, s, ns * 4))
    return fail(env, "native kernels: rotaryAttention's out overlaps an input");
  if (!blas_ready()) return fail(env, "native kernels: rotaryAttention needs the BLAS library");
  size_t group = (size_t)(n_heads / n_kv), groups = (size_t)batch * n_kv, n_chunks = (size_t)chunks;
  /* The largest chunk's scores: rows group * (t1 - t0) by keys t1 - k0. */
  size_t score_size = 0;
  for (size_t ch = 0; ch < n_chunks; ch++) {
    size_t t0 = ch * n_pos / n_chunks, t1 = (ch + 1) * n_pos / n_chunks;
    size_t size = group * (t1 - t0) * (t1 - first_key(t0, (size_t)window));
    score_size = size > score_size ? size : score_size;
  }
  size_t scratch_size = (group + 1) * (size_t)n_pos * d_head + score_size;
  enum { MAX_THREADS = 8 };
  size_t n_threads = (size_t)threads < groups ? (size_t)threads : groups;
  if (n_threads > MAX_THREADS) n_threads = MAX_THREADS;
  float* scratch = malloc(n_threads * scratch_size * sizeof(float));
  if (scratch == NULL) return fail(env, "native kernels: rotaryAttention could not allocate its scratch");
  struct rotary_attention_job jobs[MAX_THREADS];
  for (size_t t = 0; t < n_threads; t++)
    jobs[t] = (struct rotary_attention_job){q, k, v, c, s, o, scratch + t * scratch_size, groups, t, n_threads, (size_t)n_pos, (size_t)n_heads,
                                            (size_t)n_kv, (size_t)d_head, rot, (size_t)window, n_chunks, (float)scale};
  run_shares(rotary_attention_groups, jobs, sizeof jobs[0], n_threads);
  free(scratch);
  return NULL;
}

int register_kernels(napi_env env, napi_value exports) {
  static const napi_property_descriptor props[] = {
      CALL("rmsNorm", rms_norm),
      CALL("layerNorm", layer_norm),
      CALL("swiglu", swiglu),
      CALL("geluTanh", gelu_tanh),
      CALL("rotary", rotary),
      CALL("causalSoftmax", causal_softmax),
      CALL("attentionGroups", attention_groups_call),
      CALL("rotaryAttention", rotary_attention_call),
  };
  return define_calls(env, exports, props, sizeof(props) / sizeof(props[0]));
}
