{
  "targets": [
    {
      "target_name": "blas",
      "sources": ["blas.c", "kernels.c", "convert.c", "files.c", "read.c"],
      "cflags": ["-O2", "-std=c11"],
      "libraries": ["-ldl"]
    }
  ]
}
