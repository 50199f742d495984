/* EDN text to JSON text, for checkers/formats.py: the per-character work of reading a Jepsen EDN
 * history, in C (and, at the end, json_depth: how deep JSON text nests, and json_lines: JSON Lines as
 * one JSON array, each line one object). It rewrites only what has a JSON form and returns None for anything else (tagged
 * literals, characters, symbols, ratios, ##Inf, unbalanced brackets, nesting past MAX_DEPTH), which
 * the general parser then reads or refuses.
 *
 *   keywords  :type        -> "type"
 *   nil       nil          -> null          (true and false stay)
 *   vectors   [a b] (a b)  -> [a,b]
 *   maps      {:a 1}       -> {"\u0001":["a",1]}   (keys may be any value; formats.py builds the map)
 *   sets      #{1 2}       -> {"\u0002":[1,2]}
 *   or, asked for objects, when every top-level map has keyword keys (Jepsen's op maps):
 *   top-level maps {:a 1}  -> {"a":1}        (orjson keeps the last of duplicated keys: the caller
 *                                              compares the count of entries written, and of the items
 *                                              of top-level vectors, with the lengths of what it got;
 *                                              maps and sets inside them are still markers)
 *   strings and numbers in JSON's own syntax are copied as they are; commas and ; comments go.
 *
 * The forms of the text become the items of one JSON array; `starts` gets the line (counted from 0)
 * each one starts on. */

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <string.h>

#define MAX_DEPTH 100

static const char MAP_OPEN[] = "{\"\\u0001\":[";
static const char SET_OPEN[] = "{\"\\u0002\":[";

typedef struct {
    char *buf;
    Py_ssize_t len, cap;
} Out;

/* Room for n more bytes. */
static int reserve(Out *out, Py_ssize_t n)
{
    if (out->len + n <= out->cap)
        return 0;
    Py_ssize_t cap = out->cap * 2 + n;
    char *buf = PyMem_Realloc(out->buf, cap);
    if (buf == NULL)
        return -1;
    out->buf = buf;
    out->cap = cap;
    return 0;
}

static int is_delimiter(const char *p, const char *end)
{
    if (p == end)
        return 1;
    switch (*p) {
    case ' ': case '\t': case '\n': case '\r': case ',': case ';':
    case ']': case ')': case '}':
        return 1;
    }
    return 0;
}

static int keyword_first(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c != 0 && strchr("*+!_?<>=.-", c) != NULL);
}

static int keyword_rest(unsigned char c)
{
    return keyword_first(c) || (c >= '0' && c <= '9') || c == '/' || c == ':';
}

static int digit_at(const char *p, const char *end)
{
    return p < end && *p >= '0' && *p <= '9';
}

/* The end of a number in JSON's syntax starting at p, or NULL. */
static const char *number_end(const char *p, const char *end)
{
    if (p < end && *p == '-')
        p++;
    if (!digit_at(p, end))
        return NULL;
    if (*p == '0')
        p++;
    else
        while (digit_at(p, end))
            p++;
    if (p < end && *p == '.') {
        p++;
        if (!digit_at(p, end))
            return NULL;
        while (digit_at(p, end))
            p++;
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
        p++;
        if (p < end && (*p == '+' || *p == '-'))
            p++;
        if (!digit_at(p, end))
            return NULL;
        while (digit_at(p, end))
            p++;
    }
    return p;
}

/* Just past the string whose opening quote is at p, or NULL if it is not closed. */
static const char *string_end(const char *p, const char *end)
{
    for (p++; p < end && *p != '"'; p++)
        if (*p == '\\')
            p++;
    return p < end ? p + 1 : NULL;
}

enum { UNREADABLE = 0, DONE = 1, NO_MEMORY = -1, USE_MARKERS = 2 };

static int append_index(PyObject *list, Py_ssize_t i)
{
    PyObject *index = PyLong_FromSsize_t(i);
    int failed = index == NULL || PyList_Append(list, index) < 0;
    Py_XDECREF(index);
    return failed ? -1 : 0;
}

/* Writes the JSON array of the forms in [p, end) to out, and the line each starts on to `starts`. With
 * `objects`, each top-level map whose keys are all keywords becomes a JSON object; *keys counts their
 * entries and the items of top-level vectors; maps and sets inside a form are written as markers, and
 * the form's index is appended to `marked`; any other top-level map, or a top-level form that is no
 * map or vector, returns USE_MARKERS. */
static int convert(const char *p, const char *end, int objects, Out *out, Py_ssize_t *keys, PyObject *marked,
                   PyObject *starts)
{
    Py_ssize_t line = 0;
    Py_ssize_t form = -1, last_marked = -1;
    Py_ssize_t entries = 0;  /* forms so far in the open top-level map written as a JSON object */
    char closers[MAX_DEPTH];
    int depth = 0, need_comma = 0;
    out->len = 0;
    *keys = 0;
    if (reserve(out, 1) < 0)
        return NO_MEMORY;
    out->buf[out->len++] = '[';

    while (p < end) {
        unsigned char c = (unsigned char)*p;
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == ',') {
            line += c == '\n';
            p++;
            continue;
        }
        if (c == ';') {
            while (p < end && *p != '\n')
                p++;
            continue;
        }
        int object = objects && depth == 1 && closers[0] == '}';
        if (c == ']' || c == ')' || c == '}') {
            if (depth == 0 || closers[depth - 1] != c)
                return UNREADABLE;
            if (object && entries % 2)
                return USE_MARKERS;  /* an odd number of forms: the markers' reading refuses it */
            depth--;
            if (reserve(out, 2) < 0)
                return NO_MEMORY;
            if (object) {
                *keys += entries / 2;
            } else {
                out->buf[out->len++] = ']';
            }
            if (c == '}')
                out->buf[out->len++] = '}';
            need_comma = 1;
            p++;
            continue;
        }
        /* a value starts */
        if (reserve(out, 16) < 0)
            return NO_MEMORY;
        if (depth == 0) {
            form++;
            if (objects && c != '{' && c != '[' && c != '(')
                return USE_MARKERS;
            if (append_index(starts, line) < 0)
                return NO_MEMORY;
        }
        int key = object && entries % 2 == 0;
        if (object) {
            if (key && entries > 0)
                out->buf[out->len++] = ',';
            if (key && c != ':')
                return USE_MARKERS;
            entries++;
        } else {
            if (need_comma)
                out->buf[out->len++] = ',';
            need_comma = 1;
            if (objects && depth == 1)  /* an item of a top-level vector */
                (*keys)++;
        }
        if (c == '[' || c == '(' || c == '{' || (c == '#' && p + 1 < end && p[1] == '{')) {
            if (depth == MAX_DEPTH)
                return UNREADABLE;
            if (objects && c == '#' && depth == 0)
                return USE_MARKERS;
            if (objects && c != '[' && c != '(' && depth > 0 && last_marked != form) {
                if (append_index(marked, form) < 0)
                    return NO_MEMORY;
                last_marked = form;
            }
            closers[depth++] = c == '[' ? ']' : c == '(' ? ')' : '}';
            if (depth == 1)
                entries = 0;
            if (c == '[' || c == '(') {
                out->buf[out->len++] = '[';
            } else if (objects && depth == 1) {
                out->buf[out->len++] = '{';
            } else {
                memcpy(out->buf + out->len, c == '{' ? MAP_OPEN : SET_OPEN, sizeof MAP_OPEN - 1);
                out->len += sizeof MAP_OPEN - 1;
            }
            p += c == '#' ? 2 : 1;
            need_comma = 0;
            continue;
        }
        const char *start = p, *stop;
        if (c == '"') {
            stop = p = string_end(p, end);
            if (p == NULL)
                return UNREADABLE;
            for (const char *nl = start; (nl = memchr(nl, '\n', stop - nl)) != NULL; nl++)
                line++;
        } else if (c == ':') {
            start = ++p;
            if (p == end || !keyword_first((unsigned char)*p))
                return UNREADABLE;
            while (p < end && keyword_rest((unsigned char)*p))
                p++;
            if (!is_delimiter(p, end))
                return UNREADABLE;
            if (reserve(out, p - start + 3) < 0)
                return NO_MEMORY;
            out->buf[out->len++] = '"';
            memcpy(out->buf + out->len, start, p - start);
            out->len += p - start;
            out->buf[out->len++] = '"';
            if (key)
                out->buf[out->len++] = ':';
            continue;
        } else if (c == '-' || (c >= '0' && c <= '9')) {
            stop = p = number_end(p, end);
            if (p == NULL || !is_delimiter(p, end))
                return UNREADABLE;
        } else {
            while (p < end && ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')))
                p++;
            if (!is_delimiter(p, end))
                return UNREADABLE;
            if (p - start == 3 && memcmp(start, "nil", 3) == 0) {
                memcpy(out->buf + out->len, "null", 4);
                out->len += 4;
                continue;
            }
            if (!((p - start == 4 && memcmp(start, "true", 4) == 0) ||
                  (p - start == 5 && memcmp(start, "false", 5) == 0)))
                return UNREADABLE;
            stop = p;
        }
        if (reserve(out, stop - start) < 0)
            return NO_MEMORY;
        memcpy(out->buf + out->len, start, stop - start);
        out->len += stop - start;
    }
    if (depth != 0)
        return UNREADABLE;
    if (reserve(out, 1) < 0)
        return NO_MEMORY;
    out->buf[out->len++] = ']';
    return DONE;
}

static PyObject *edn_as_json(PyObject *module, PyObject *args)
{
    PyObject *text;
    int objects;
    if (!PyArg_ParseTuple(args, "Up", &text, &objects))
        return NULL;
    Py_ssize_t size, keys;
    const char *p = PyUnicode_AsUTF8AndSize(text, &size);
    if (p == NULL)
        return NULL;
    PyObject *marked = PyList_New(0), *starts = PyList_New(0);
    Out out = {PyMem_Malloc(size + size / 2 + 64), 0, size + size / 2 + 64};
    if (marked == NULL || starts == NULL || out.buf == NULL) {
        Py_XDECREF(marked);
        Py_XDECREF(starts);
        PyMem_Free(out.buf);
        return PyErr_NoMemory();
    }
    int done = convert(p, p + size, objects, &out, &keys, marked, starts);
    if (done == USE_MARKERS) {
        Py_SETREF(starts, PyList_New(0));
        done = starts == NULL ? NO_MEMORY : convert(p, p + size, 0, &out, &keys, marked, starts);
        objects = 0;
    }
    PyObject *result = NULL;
    if (done == DONE && objects)
        result = Py_BuildValue("(y#nOO)", out.buf, out.len, keys, marked, starts);
    else if (done == DONE)
        result = Py_BuildValue("(y#nOO)", out.buf, out.len, (Py_ssize_t)-1, Py_None, starts);
    else if (done == UNREADABLE)
        result = Py_NewRef(Py_None);
    else if (!PyErr_Occurred())
        PyErr_NoMemory();
    Py_DECREF(marked);
    Py_XDECREF(starts);
    PyMem_Free(out.buf);
    return result;
}

/* How deep the arrays and objects of JSON text nest (brackets inside strings do not count), or -1
 * when the brackets do not balance or a string is not closed (json then says what is wrong). */
static PyObject *json_depth(PyObject *module, PyObject *arg)
{
    char *data;
    Py_ssize_t size;
    if (PyBytes_AsStringAndSize(arg, &data, &size) < 0)
        return NULL;
    const char *p = data, *end = data + size;
    long depth = 0, deepest = 0;
    for (; p < end; p++) {
        switch (*p) {
        case '"':
            p = string_end(p, end);
            if (p == NULL)
                return PyLong_FromLong(-1);
            p--;  /* on the closing quote: the loop steps past it */
            break;
        case '[': case '{':
            if (++depth > deepest)
                deepest = depth;
            break;
        case ']': case '}':
            if (--depth < 0)
                return PyLong_FromLong(-1);
            break;
        }
    }
    return PyLong_FromLong(depth == 0 ? deepest : -1);
}

/* One JSON object of JSON Lines text, from the '{' at p: just past it, or NULL when it is no object on
 * one line (a newline inside, a string not closed, nesting past MAX_DEPTH). Counts its keys into *keys
 * and sets *inner when it holds an object. */
static const char *object_end(const char *p, const char *end, Py_ssize_t *keys, int *inner)
{
    int depth = 0;
    while (p < end) {
        switch (*p) {
        case '"': {
            const char *s = string_end(p, end);
            if (s == NULL || memchr(p, '\n', s - p) != NULL)
                return NULL;
            p = s;
            if (depth == 1) {  /* a key of the object itself: a string followed by a colon */
                const char *q = s;
                while (q < end && (*q == ' ' || *q == '\t' || *q == '\r'))
                    q++;
                *keys += q < end && *q == ':';
            }
            continue;
        }
        case '{': case '[':
            if (++depth > MAX_DEPTH)
                return NULL;
            *inner |= *p == '{' && depth > 1;
            break;
        case '}': case ']':
            if (--depth == 0)
                return p + 1;
            break;
        case '\n':
            return NULL;
        }
        p++;
    }
    return NULL;
}

/* JSON Lines text as one JSON array, each line holding exactly one object: (the array as bytes, the
 * line (from 0) of each object, how many keys the objects have at their top level, [(index, text)] of
 * the objects holding an object), or None when some line holds anything else. */
static PyObject *json_lines(PyObject *module, PyObject *arg)
{
    Py_ssize_t size, keys = 0, count = 0, line = 0;
    const char *p = PyUnicode_AsUTF8AndSize(arg, &size);
    if (p == NULL)
        return NULL;
    const char *end = p + size;
    PyObject *starts = PyList_New(0), *nested = PyList_New(0), *result = NULL;
    Out out = {PyMem_Malloc(size + 2), 0, size + 2};
    if (starts == NULL || nested == NULL || out.buf == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    out.buf[out.len++] = '[';
    while (p < end) {
        if (*p == '\n') {
            line++;
            p++;
            continue;
        }
        if (*p == ' ' || *p == '\t' || *p == '\r') {
            p++;
            continue;
        }
        int inner = 0;
        const char *stop = *p == '{' ? object_end(p, end, &keys, &inner) : NULL;
        const char *rest = stop;
        while (rest != NULL && rest < end && (*rest == ' ' || *rest == '\t' || *rest == '\r'))
            rest++;
        if (stop == NULL || (rest < end && *rest != '\n')) {  /* not one object alone on its line */
            result = Py_NewRef(Py_None);
            goto done;
        }
        if (append_index(starts, line) < 0)
            goto done;
        if (inner) {
            PyObject *text = PyUnicode_DecodeUTF8(p, stop - p, NULL);
            PyObject *entry = text == NULL ? NULL : Py_BuildValue("(nN)", count, text);
            if (entry == NULL || PyList_Append(nested, entry) < 0) {
                Py_XDECREF(entry);
                goto done;
            }
            Py_DECREF(entry);
        }
        if (count++)
            out.buf[out.len++] = ',';
        memcpy(out.buf + out.len, p, stop - p);
        out.len += stop - p;
        p = rest;
    }
    out.buf[out.len++] = ']';
    result = Py_BuildValue("(y#OnO)", out.buf, out.len, starts, keys, nested);
done:
    Py_XDECREF(starts);
    Py_XDECREF(nested);
    PyMem_Free(out.buf);
    return result;
}

static PyMethodDef methods[] = {
    {"json_depth", json_depth, METH_O,
     "json_depth(data: bytes) -> int\n\nHow deep the arrays and objects of JSON text nest, or -1 when its "
     "brackets do not balance or a string is not closed."},
    {"json_lines", json_lines, METH_O,
     "json_lines(text: str) -> tuple[bytes, list[int], int, list[tuple[int, str]]] | None\n\nJSON Lines text "
     "as one JSON array, each line holding one object: the array, the line (from 0) of each object, the keys "
     "of the objects at their top level, and the objects holding an object; None if a line holds anything "
     "else."},
    {"edn_as_json", edn_as_json, METH_VARARGS,
     "edn_as_json(text: str, objects: bool) -> tuple[bytes, int, list[int] | None, list[int]] | None\n\nEDN "
     "text of a sequence of forms as the text of one JSON array; with objects, the number of entries of the "
     "top-level maps written as JSON objects and the indices of the forms holding markers (-1 and None: every "
     "map was written as a marker); the line (from 0) each form starts on; None if it has forms JSON cannot "
     "express."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_ednjson", NULL, -1, methods};

PyMODINIT_FUNC PyInit__ednjson(void)
{
    return PyModule_Create(&module);
}
