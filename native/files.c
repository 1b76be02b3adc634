/*
 * Writing a dataset shard's files off the main thread: create each file (it must not exist),
 * write its parts, fsync it, close it, then fsync the folder, all in one Node-API async work item
 * (libuv's thread pool), so `linearity extract` runs the next batch's forward pass while the
 * disk takes the last batch's states. A chain of fs.promises calls would stall between its
 * steps while the main thread computes; this does not need the main thread until it is done.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "addon.h"

struct part {
  const char* data;
  size_t length;
};

struct shard_job {
  napi_async_work work;
  napi_deferred deferred;
  napi_ref keep; /* the argument array, so the buffers outlive the work */
  char* dir;
  size_t n_files;
  char** paths;
  struct part* parts; /* n_files x 2: header, body */
  int error;          /* errno of the first failure, 0 if none */
  size_t failed;      /* which file failed (n_files: the folder) */
};

static int write_all(int fd, const char* p, size_t n) {
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    p += w;
    n -= (size_t)w;
  }
  return 0;
}

static void shard_execute(napi_env env, void* data) {
  (void)env;
  struct shard_job* job = data;
  for (size_t f = 0; f < job->n_files && job->error == 0; f++) {
    int fd = open(job->paths[f], O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    int err = fd < 0 ? errno : 0;
    for (int k = 0; k < 2 && err == 0; k++) err = write_all(fd, job->parts[2 * f + k].data, job->parts[2 * f + k].length);
    if (err == 0 && fsync(fd) != 0) err = errno;
    if (fd >= 0 && close(fd) != 0 && err == 0) err = errno;
    if (err != 0) {
      job->error = err;
      job->failed = f;
    }
  }
  if (job->error == 0) {
    /* The folder's entries, as fsyncDir does: best effort where a folder cannot be opened. */
    int dfd = open(job->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
      fsync(dfd);
      close(dfd);
    }
  }
}

static const char* errno_name(int err) {
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 32))
  const char* name = strerrorname_np(err);
  if (name != NULL) return name;
#endif
  return "EIO";
}

static void shard_complete(napi_env env, napi_status status, void* data) {
  struct shard_job* job = data;
  if (status == napi_ok && job->error == 0) {
    napi_value undefined;
    napi_get_undefined(env, &undefined);
    napi_resolve_deferred(env, job->deferred, undefined);
  } else {
    /* An Error whose message is the C library's and whose code and path say which call failed. */
    int err = job->error != 0 ? job->error : EIO;
    const char* file = job->failed < job->n_files ? job->paths[job->failed] : job->dir;
    napi_value msg, error, code, path;
    napi_create_string_utf8(env, strerror(err), NAPI_AUTO_LENGTH, &msg);
    napi_create_error(env, NULL, msg, &error);
    napi_create_string_utf8(env, errno_name(err), NAPI_AUTO_LENGTH, &code);
    napi_create_string_utf8(env, file, NAPI_AUTO_LENGTH, &path);
    napi_set_named_property(env, error, "code", code);
    napi_set_named_property(env, error, "path", path);
    napi_reject_deferred(env, job->deferred, error);
  }
  napi_delete_reference(env, job->keep);
  napi_delete_async_work(env, job->work);
  for (size_t f = 0; f < job->n_files; f++) free(job->paths[f]);
  free(job->paths);
  free(job->parts);
  free(job->dir);
  free(job);
}

/* A UTF-8 copy of a string argument, or NULL. */
static char* string_arg(napi_env env, napi_value v) {
  size_t n;
  if (napi_get_value_string_utf8(env, v, NULL, 0, &n) != napi_ok) return NULL;
  char* s = malloc(n + 1);
  if (s != NULL && napi_get_value_string_utf8(env, v, s, n + 1, &n) != napi_ok) {
    free(s);
    return NULL;
  }
  return s;
}

/* The bytes of a typed array or DataView. */
static int bytes_arg(napi_env env, napi_value v, struct part* out) {
  bool is;
  if (napi_is_typedarray(env, v, &is) == napi_ok && is) {
    napi_typedarray_type type;
    size_t length, offset;
    napi_value ab;
    void* data;
    if (napi_get_typedarray_info(env, v, &type, &length, &data, &ab, &offset) != napi_ok) return 0;
    static const size_t SIZE[] = {1, 1, 1, 2, 2, 4, 4, 4, 8, 8, 8};
    out->data = data;
    out->length = length * ((size_t)type < sizeof SIZE / sizeof SIZE[0] ? SIZE[type] : 1);
    return 1;
  }
  return 0;
}

/*
 * writeShardFiles(dir, files: [path, header: Uint8Array, body: TypedArray][]): Promise<void>.
 * Each path is created (refused if it exists), written, fsynced and closed in order, then dir is
 * fsynced; the promise rejects with {code, path} of the first failure. The typed arrays must
 * not change until it settles.
 */
static napi_value write_shard_files(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value a[2], promise, name;
  uint32_t n = 0;
  bool is_array = false;
  CHECK(napi_get_cb_info(env, info, &argc, a, NULL, NULL));
  if (argc != 2 || napi_is_array(env, a[1], &is_array) != napi_ok || !is_array || napi_get_array_length(env, a[1], &n) != napi_ok) {
    napi_throw_type_error(env, NULL, "native files: writeShardFiles(dir: string, files: [path, header, body][])");
    return NULL;
  }
  struct shard_job* job = calloc(1, sizeof *job);
  if (job == NULL) {
    napi_throw_error(env, NULL, "native files: out of memory");
    return NULL;
  }
  job->n_files = n;
  job->dir = string_arg(env, a[0]);
  job->paths = calloc(n == 0 ? 1 : n, sizeof *job->paths);
  job->parts = calloc(n == 0 ? 2 : 2 * (size_t)n, sizeof *job->parts);
  int ok = job->dir != NULL && job->paths != NULL && job->parts != NULL;
  for (uint32_t f = 0; ok && f < n; f++) {
    napi_value entry, path, header, body;
    ok = napi_get_element(env, a[1], f, &entry) == napi_ok && napi_get_element(env, entry, 0, &path) == napi_ok &&
         napi_get_element(env, entry, 1, &header) == napi_ok && napi_get_element(env, entry, 2, &body) == napi_ok &&
         (job->paths[f] = string_arg(env, path)) != NULL && bytes_arg(env, header, &job->parts[2 * f]) && bytes_arg(env, body, &job->parts[2 * f + 1]);
  }
  if (!ok || napi_create_reference(env, a[1], 1, &job->keep) != napi_ok) {
    for (size_t f = 0; job->paths != NULL && f < n; f++) free(job->paths[f]);
    free(job->paths);
    free(job->parts);
    free(job->dir);
    free(job);
    napi_throw_type_error(env, NULL, "native files: writeShardFiles needs a folder and [path: string, header: Uint8Array, body: TypedArray] entries");
    return NULL;
  }
  CHECK(napi_create_promise(env, &job->deferred, &promise));
  CHECK(napi_create_string_utf8(env, "linearity.writeShardFiles", NAPI_AUTO_LENGTH, &name));
  CHECK(napi_create_async_work(env, NULL, name, shard_execute, shard_complete, job, &job->work));
  CHECK(napi_queue_async_work(env, job->work));
  return promise;
}

int register_files(napi_env env, napi_value exports) {
  static const napi_property_descriptor props[] = {
      CALL("writeShardFiles", write_shard_files),
  };
  return define_calls(env, exports, props, sizeof(props) / sizeof(props[0]));
}
