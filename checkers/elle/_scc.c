/* Strongly connected components of a directed graph given as two int64 edge arrays.
 *
 * strong_components(nodes, src, dst) -> (count, labels): labels is a bytearray of ``nodes`` int64
 * component numbers 0..count-1 (read it with numpy.frombuffer). Tarjan's algorithm without
 * recursion, in O(nodes + edges) time and memory. It replaces scipy's csgraph here: importing
 * scipy.sparse.csgraph costs 0.2 s, more than the search on a 100k-transaction history.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

typedef int64_t i64;

static int int64_view(PyObject *obj, Py_buffer *view, const char *name)
{
    if (PyObject_GetBuffer(obj, view, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT) < 0)
        return -1;
    const char *f = view->format;
    char last = f == NULL || f[0] == 0 ? 0 : f[strlen(f) - 1];
    if (view->itemsize != 8 || (last != 'q' && last != 'l') || (f[0] != last && f[0] != '<' && f[0] != '=')) {
        PyErr_Format(PyExc_TypeError, "%s must be a contiguous int64 array", name);
        PyBuffer_Release(view);
        return -1;
    }
    return 0;
}

static PyObject *strong_components(PyObject *module, PyObject *args)
{
    Py_ssize_t nodes;
    PyObject *src_obj, *dst_obj;
    if (!PyArg_ParseTuple(args, "nOO", &nodes, &src_obj, &dst_obj))
        return NULL;
    if (nodes < 0) {
        PyErr_SetString(PyExc_ValueError, "nodes must not be negative");
        return NULL;
    }
    Py_buffer sv, dv;
    if (int64_view(src_obj, &sv, "src") < 0)
        return NULL;
    if (int64_view(dst_obj, &dv, "dst") < 0) {
        PyBuffer_Release(&sv);
        return NULL;
    }
    PyObject *result = NULL, *labels_obj = NULL;
    i64 *start = NULL, *adj = NULL, *index = NULL, *low = NULL, *stack = NULL, *calls = NULL, *next_edge = NULL;
    char *on_stack = NULL;
    const i64 *src = sv.buf, *dst = dv.buf;
    Py_ssize_t m = sv.len / 8;
    if (dv.len / 8 != m) {
        PyErr_SetString(PyExc_ValueError, "src and dst differ in length");
        goto done;
    }
    for (Py_ssize_t e = 0; e < m; e++) {
        if (src[e] < 0 || src[e] >= nodes || dst[e] < 0 || dst[e] >= nodes) {
            PyErr_Format(PyExc_ValueError, "edge %zd (%lld -> %lld) leaves the %zd nodes", e, (long long)src[e],
                         (long long)dst[e], nodes);
            goto done;
        }
    }
    labels_obj = PyByteArray_FromStringAndSize(NULL, (nodes ? nodes : 1) * 8);
    if (labels_obj == NULL)
        goto done;
    i64 *label = (i64 *)PyByteArray_AS_STRING(labels_obj);
    size_t n1 = (size_t)nodes + 1;
    start = PyMem_Calloc(n1, sizeof(i64));
    adj = PyMem_Malloc((m ? m : 1) * sizeof(i64));
    index = PyMem_Malloc(n1 * sizeof(i64));
    low = PyMem_Malloc(n1 * sizeof(i64));
    stack = PyMem_Malloc(n1 * sizeof(i64));
    calls = PyMem_Malloc(n1 * sizeof(i64));
    next_edge = PyMem_Malloc(n1 * sizeof(i64));
    on_stack = PyMem_Calloc(n1, 1);
    if (!start || !adj || !index || !low || !stack || !calls || !next_edge || !on_stack) {
        PyErr_NoMemory();
        goto done;
    }
    /* adjacency in CSR form: the out-edges of v are adj[start[v] .. start[v+1]) */
    for (Py_ssize_t e = 0; e < m; e++)
        start[src[e] + 1]++;
    for (Py_ssize_t v = 0; v < nodes; v++)
        start[v + 1] += start[v];
    memcpy(next_edge, start, n1 * sizeof(i64));
    for (Py_ssize_t e = 0; e < m; e++)
        adj[next_edge[src[e]]++] = dst[e];
    for (Py_ssize_t v = 0; v < nodes; v++)
        index[v] = -1;
    i64 counter = 0, count = 0, top = 0;
    for (Py_ssize_t root = 0; root < nodes; root++) {
        if (index[root] >= 0)
            continue;
        i64 depth = 0;
        calls[0] = root;
        index[root] = low[root] = counter++;
        next_edge[root] = start[root];
        stack[top++] = root;
        on_stack[root] = 1;
        while (depth >= 0) {
            i64 v = calls[depth];
            if (next_edge[v] < start[v + 1]) {
                i64 w = adj[next_edge[v]++];
                if (index[w] < 0) {
                    index[w] = low[w] = counter++;
                    next_edge[w] = start[w];
                    stack[top++] = w;
                    on_stack[w] = 1;
                    calls[++depth] = w;
                } else if (on_stack[w] && index[w] < low[v]) {
                    low[v] = index[w];
                }
                continue;
            }
            if (low[v] == index[v]) { /* v is the root of a component: pop it */
                i64 w;
                do {
                    w = stack[--top];
                    on_stack[w] = 0;
                    label[w] = count;
                } while (w != v);
                count++;
            }
            if (--depth >= 0) {
                i64 parent = calls[depth];
                if (low[v] < low[parent])
                    low[parent] = low[v];
            }
        }
    }
    if (nodes == 0 && PyByteArray_Resize(labels_obj, 0) < 0)
        goto done;
    result = Py_BuildValue("(LO)", (long long)count, labels_obj);
done:
    Py_XDECREF(labels_obj);
    PyMem_Free(start);
    PyMem_Free(adj);
    PyMem_Free(index);
    PyMem_Free(low);
    PyMem_Free(stack);
    PyMem_Free(calls);
    PyMem_Free(next_edge);
    PyMem_Free(on_stack);
    PyBuffer_Release(&sv);
    PyBuffer_Release(&dv);
    return result;
}

static PyMethodDef methods[] = {
    {"strong_components", strong_components, METH_VARARGS,
     "strong_components(nodes, src, dst) -> (count, labels): labels a bytearray of nodes int64 component numbers."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_scc", NULL, -1, methods};

PyMODINIT_FUNC PyInit__scc(void)
{
    return PyModule_Create(&module);
}
