/* HMAC-SHA256 over every value of an Arrow string array, for keyed pseudonyms.

   OpenSSL computes the hashes (with SHA-NI where the CPU has it). What is ours is the loop:
   the padded key is hashed once into an inner and an outer state, each value then costs two
   compressions from those states, and the GIL is released while the loop runs, so DuckDB's
   threads hash in parallel. */
#define PY_SSIZE_T_CLEAN
#define OPENSSL_SUPPRESS_DEPRECATED
#include <Python.h>
#include <openssl/sha.h>
#include <string.h>

static const char HEX[] = "0123456789abcdef";

static PyObject *hmac_sha256_hex(PyObject *self, PyObject *args) {
    Py_buffer key, offsets, data;
    Py_ssize_t start, count;
    int wide, hexlen;
    if (!PyArg_ParseTuple(args, "y*y*y*nnpi", &key, &offsets, &data, &start, &count, &wide,
                          &hexlen))
        return NULL;
    PyObject *result = NULL;
    Py_ssize_t width = wide ? 8 : 4;
    if (hexlen < 1 || hexlen > 2 * SHA256_DIGEST_LENGTH) {
        PyErr_SetString(PyExc_ValueError, "the digest length must be 1 to 64 hex digits");
        goto done;
    }
    if (start < 0 || count < 0 || (start + count + 1) * width > offsets.len) {
        PyErr_SetString(PyExc_ValueError, "offsets buffer too short");
        goto done;
    }
    unsigned char block[SHA256_CBLOCK] = {0}, pad[SHA256_CBLOCK];
    if (key.len > SHA256_CBLOCK)
        SHA256(key.buf, (size_t)key.len, block);
    else
        memcpy(block, key.buf, (size_t)key.len);
    SHA256_CTX inner, outer;
    for (int i = 0; i < SHA256_CBLOCK; i++) pad[i] = block[i] ^ 0x36;
    SHA256_Init(&inner);
    SHA256_Update(&inner, pad, SHA256_CBLOCK);
    for (int i = 0; i < SHA256_CBLOCK; i++) pad[i] = block[i] ^ 0x5c;
    SHA256_Init(&outer);
    SHA256_Update(&outer, pad, SHA256_CBLOCK);
    result = PyBytes_FromStringAndSize(NULL, count * hexlen);
    if (result == NULL) goto done;
    char *out = PyBytes_AS_STRING(result);
    const unsigned char *bytes = data.buf;
    int bad = 0;
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t i = 0; i < count; i++) {
        int64_t lo, hi;
        if (wide) {
            lo = ((const int64_t *)offsets.buf)[start + i];
            hi = ((const int64_t *)offsets.buf)[start + i + 1];
        } else {
            lo = ((const int32_t *)offsets.buf)[start + i];
            hi = ((const int32_t *)offsets.buf)[start + i + 1];
        }
        if (lo < 0 || hi < lo || hi > data.len) { bad = 1; break; }
        unsigned char digest[SHA256_DIGEST_LENGTH];
        SHA256_CTX ctx = inner;
        SHA256_Update(&ctx, bytes + lo, (size_t)(hi - lo));
        SHA256_Final(digest, &ctx);
        ctx = outer;
        SHA256_Update(&ctx, digest, SHA256_DIGEST_LENGTH);
        SHA256_Final(digest, &ctx);
        char *o = out + i * hexlen;
        for (int j = 0; j < hexlen; j++)
            o[j] = HEX[(j & 1) ? digest[j >> 1] & 15 : digest[j >> 1] >> 4];
    }
    Py_END_ALLOW_THREADS
    if (bad) {
        Py_CLEAR(result);
        PyErr_SetString(PyExc_ValueError, "offsets point outside the data buffer");
    }
done:
    PyBuffer_Release(&key);
    PyBuffer_Release(&offsets);
    PyBuffer_Release(&data);
    return result;
}

static PyMethodDef methods[] = {
    {"hmac_sha256_hex", hmac_sha256_hex, METH_VARARGS,
     "hmac_sha256_hex(key, offsets, data, start, count, wide, hexlen) -> bytes: count values of\n"
     "hexlen hex digits (the first hexlen digits of HMAC-SHA256(key, value)), back to back."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_hmac", NULL, -1, methods};

PyMODINIT_FUNC PyInit__hmac(void) { return PyModule_Create(&module); }
