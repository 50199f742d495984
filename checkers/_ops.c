/* The per-op work of reading and checking a history, in C: Op objects from op maps (formats.py),
 * pairing them (history.py), the shapes of transactions (shapes.py).
 *
 * build_ops(records, start, position, fields, sharing) -> (ops, stop): Ops for records[start:stop], where
 * stop is the first record this fast path leaves to formats.op_from_mapping (len(records) if none):
 * one that is not a dict, or has a field that is missing where it is needed or of another class than
 * the common one. op_from_mapping then builds it or refuses it with its message. For every record it
 * takes, the Op is the one op_from_mapping would build: the same validation, the same shared strings
 * (``shared``), and in ``extra`` the other fields (keys made str), when the record has more than three;
 * else the one read-only empty dict ``no_extra``.
 *
 * ``sharing`` is (atoms, invoked, reads, lists), four dicts per history, so that equal parts of values are one
 * object (a 10M-txn history did not fit in 24 GB without it):
 * - in a value that is a list, the strs and ints of the list and of the lists in it (a transaction's
 *   micro-op names and keys) become one object per distinct atom, kept in ``atoms``: a 100k-txn history
 *   held 500k copies of "append" and "r";
 * - a completion's value, or an item of it, that holds the same objects as the one of its process's last
 *   invocation (``invoked``: process -> value) becomes that one: an ok txn repeats its appends;
 * - a micro-op [f key nil] (a read as invoked) that holds the same objects as the last one under the
 *   same key (``reads``: key -> micro-op) becomes that one;
 * - a list in a micro-op [f key list] equal, atom for atom, to the last one under the same key
 *   (``lists``: key -> list) becomes that one: half the reads of a list-append history repeat the one
 *   before.
 * Only equal objects of the same classes are merged (not 1 and 1.0 or True), and a deeper list (a read's)
 * keeps its own atoms.
 *
 * ``fields`` is (Op, op_types, shared, no_extra): the Op class (a dataclass with slots: its slots are set
 * directly, as its __init__ would), the dict of op type names to their one string, the dict of f and
 * process names to their one string, and the empty dict.
 *
 * txn_unsure(ops, start, Op, functions, read_lists) -> int: for checkers/shapes.py, the first position
 * at or after ``start`` (len(ops) if none) whose value this fast path cannot pass as a transaction of
 * [f key value] micro-ops with f in ``functions``: it passes only Ops whose values are built of exact
 * lists and scalars, a subset of what shapes._txn passes, which decides every op it leaves.
 *
 * txn_columns(pairs, functions, never) -> columns | (op, micro-op): for checkers/elle/txns.py, the client
 * transactions as columns, or the first micro-op that is not [f key value] with f in ``functions``.
 *
 * pair_ops(ops, Op, Pair) -> list[Pair] | None: for checkers/history.py, each invocation paired with
 * the next completion of its process, in invocation order, as history._pair_naming_problems pairs
 * them; None when that would find any problem (an unpaired completion, a double invocation, an
 * invocation after a crash, time going backwards in a process, a client invocation never
 * completed, a client completion of another f), an op has no process or is not exactly an Op: it then
 * pairs them and names the problems.
 *
 * pair_positions(ops, pairs) -> (invoked, completed): for checkers/history.py, where each pair's
 * invocation and completion are in ``ops`` (the object itself, not an equal one), as two lists of ints;
 * a completion that is None is None. A dict of id(op) took 0.03 s for 100k pairs. */

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <structmember.h>

enum { F_INDEX, F_TIME, F_TYPE, F_PROCESS, F_F, F_VALUE, F_ERROR, F_NODE, F_EXTRA, N_SLOTS };
static const char *const NAMES[N_SLOTS] = {"index", "time", "type", "process", "f", "value", "error", "node", "extra"};
static PyObject *keys[N_SLOTS];  /* interned names; the first eight are the record keys an Op takes */
static PyObject *core;  /* those eight, as a frozenset */
static PyObject *ok_name, *info_name;  /* "ok" and "info", interned */

/* The offset of each slot of the Op class, or -1 if it is not a plain object slot. */
static int slot_offsets(PyTypeObject *op_type, Py_ssize_t *offsets)
{
    for (int i = 0; i < N_SLOTS; i++) {
        PyObject *descr = PyDict_GetItemWithError(op_type->tp_dict, keys[i]);
        if (descr == NULL || !Py_IS_TYPE(descr, &PyMemberDescr_Type)
            || ((PyMemberDescrObject *)descr)->d_member->type != T_OBJECT_EX) {
            if (!PyErr_Occurred())
                PyErr_Format(PyExc_TypeError, "Op has no object slot %s", NAMES[i]);
            return -1;
        }
        offsets[i] = ((PyMemberDescrObject *)descr)->d_member->offset;
    }
    return 0;
}

static PyObject *shared_name(PyObject *shared, PyObject *name)
{
    return PyDict_SetDefault(shared, name, name);  /* borrowed */
}

/* The Op for one record, or NULL without an error set when the record is left to Python. */
/* The strs and ints of ``list`` (and of its lists, while depth > 1) made the ones in ``atoms``. */
static int share_atoms(PyObject *list, PyObject *atoms, int depth)
{
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(list); i++) {
        PyObject *x = PyList_GET_ITEM(list, i);
        if (PyUnicode_CheckExact(x) || PyLong_CheckExact(x)) {
            PyObject *one = PyDict_SetDefault(atoms, x, x);  /* borrowed */
            if (one == NULL)
                return -1;
            if (one != x && Py_IS_TYPE(one, Py_TYPE(x)))
                PyList_SetItem(list, i, Py_NewRef(one));  /* drops x */
        } else if (depth > 1 && PyList_CheckExact(x) && share_atoms(x, atoms, depth - 1) < 0) {
            return -1;
        }
    }
    return 0;
}

/* 1 when ``a`` and ``b`` are exact lists holding the same objects. */
static int same_objects(PyObject *a, PyObject *b)
{
    if (!PyList_CheckExact(a) || !PyList_CheckExact(b) || PyList_GET_SIZE(a) != PyList_GET_SIZE(b))
        return 0;
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(a); i++)
        if (PyList_GET_ITEM(a, i) != PyList_GET_ITEM(b, i))
            return 0;
    return 1;
}

/* ``value``'s items that hold the same objects as ``invoked``'s become those; the value itself, the
 * invocation's when it then holds the same objects (new reference). */
static PyObject *share_invoked(PyObject *value, PyObject *invoked)
{
    Py_ssize_t n = Py_MIN(PyList_GET_SIZE(value), PyList_GET_SIZE(invoked));
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *mine = PyList_GET_ITEM(value, i), *theirs = PyList_GET_ITEM(invoked, i);
        if (mine != theirs && same_objects(mine, theirs))
            PyList_SetItem(value, i, Py_NewRef(theirs));  /* drops mine */
    }
    return Py_NewRef(same_objects(value, invoked) ? invoked : value);
}

/* 1 when exact lists ``a`` and ``b`` hold equal atoms of the same classes. */
static int equal_atoms(PyObject *a, PyObject *b)
{
    if (PyList_GET_SIZE(a) != PyList_GET_SIZE(b))
        return 0;
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(a); i++) {
        PyObject *x = PyList_GET_ITEM(a, i), *y = PyList_GET_ITEM(b, i);
        if (x == y)
            continue;
        if (!Py_IS_TYPE(x, Py_TYPE(y)) || !(PyLong_CheckExact(x) || PyUnicode_CheckExact(x)))
            return 0;
        int equal = PyObject_RichCompareBool(x, y, Py_EQ);  /* ints and strs: never an error */
        if (equal != 1)
            return equal;
    }
    return 1;
}

/* ``holder[at]`` becomes the last object kept under ``key`` in ``lasts`` when ``equal`` to it, else it is
 * kept as the last. */
static int share_last(PyObject *lasts, PyObject *key, PyObject *holder, Py_ssize_t at,
                      int (*equal)(PyObject *, PyObject *))
{
    PyObject *mine = PyList_GET_ITEM(holder, at);
    PyObject *last = PyDict_GetItemWithError(lasts, key);  /* borrowed */
    if (last == NULL && PyErr_Occurred())
        return -1;
    if (last == mine)
        return 0;
    int same = last != NULL ? equal(last, mine) : 0;
    if (same < 0)
        return -1;
    if (same)
        return PyList_SetItem(holder, at, Py_NewRef(last));  /* drops mine */
    return PyDict_SetItem(lasts, key, mine);
}

/* ``value``'s micro-ops [f key nil] that hold the same objects as the last one under the same key
 * (``reads``: key -> micro-op), and the lists of its micro-ops [f key list] equal to the last one under
 * the same key (``lists``: key -> list), become those. */
static int share_by_key(PyObject *value, PyObject *reads, PyObject *lists)
{
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(value); i++) {
        PyObject *mop = PyList_GET_ITEM(value, i);
        if (!PyList_CheckExact(mop) || PyList_GET_SIZE(mop) != 3)
            continue;
        PyObject *key = PyList_GET_ITEM(mop, 1), *x = PyList_GET_ITEM(mop, 2);
        if (!PyLong_CheckExact(key) && !PyUnicode_CheckExact(key))
            continue;
        if (x == Py_None ? share_last(reads, key, value, i, same_objects) < 0
                         : PyList_CheckExact(x) && share_last(lists, key, mop, 2, equal_atoms) < 0)
            return -1;
    }
    return 0;
}

/* ``value`` with its parts shared as ``sharing`` says (new reference), or NULL on an error. */
static PyObject *shared_value(PyObject *value, PyObject *type, PyObject *process, PyObject *const sharing[4])
{
    if (!PyList_CheckExact(value))
        return Py_NewRef(value);
    if (share_atoms(value, sharing[0], 2) < 0)
        return NULL;
    if (PyUnicode_CompareWithASCIIString(type, "invoke") == 0) {
        if (PyDict_SetItem(sharing[1], process, value) < 0)
            return NULL;
        value = Py_NewRef(value);
    } else {
        PyObject *invoked = PyDict_GetItemWithError(sharing[1], process);  /* borrowed */
        if (invoked == NULL && PyErr_Occurred())
            return NULL;
        value = invoked != NULL && PyList_CheckExact(invoked) ? share_invoked(value, invoked) : Py_NewRef(value);
    }
    if (share_by_key(value, sharing[2], sharing[3]) < 0)
        Py_CLEAR(value);
    return value;
}

static PyObject *build_one(PyObject *record, Py_ssize_t position, PyTypeObject *op_type, const Py_ssize_t *offsets,
                           PyObject *op_types, PyObject *shared, PyObject *no_extra, PyObject *const sharing[4])
{
    if (!PyDict_CheckExact(record))
        return NULL;
    PyObject *v[F_EXTRA] = {NULL};
    Py_ssize_t found = 0;
    for (int i = 0; i < F_EXTRA; i++) {
        v[i] = PyDict_GetItemWithError(record, keys[i]);  /* borrowed */
        found += v[i] != NULL;
    }
    if (PyErr_Occurred())
        return NULL;
    if (v[F_TYPE] == NULL || !PyUnicode_CheckExact(v[F_TYPE]))
        return NULL;
    PyObject *type = PyDict_GetItemWithError(op_types, v[F_TYPE]);
    if (type == NULL)
        return NULL;
    PyObject *process = v[F_PROCESS] ? v[F_PROCESS] : Py_None;
    if (PyUnicode_CheckExact(process))
        process = shared_name(shared, process);
    else if (process != Py_None && !PyLong_CheckExact(process))
        return NULL;
    PyObject *f = v[F_F] ? v[F_F] : Py_None;
    if (PyUnicode_CheckExact(f))
        f = shared_name(shared, f);
    else if (f != Py_None && !PyLong_CheckExact(f))
        return NULL;
    if (process == NULL || f == NULL)
        return NULL;
    if (v[F_INDEX] != NULL && !PyLong_CheckExact(v[F_INDEX]))
        return NULL;
    PyObject *index = v[F_INDEX] ? Py_NewRef(v[F_INDEX]) : PyLong_FromSsize_t(position);
    PyObject *time = NULL;
    if (v[F_TIME] == NULL)
        time = PyLong_FromSsize_t(position);
    else if (PyLong_CheckExact(v[F_TIME]))
        time = Py_NewRef(v[F_TIME]);
    else if (PyFloat_CheckExact(v[F_TIME]) && isfinite(PyFloat_AS_DOUBLE(v[F_TIME])))
        time = PyLong_FromDouble(PyFloat_AS_DOUBLE(v[F_TIME]));
    PyObject *extra = Py_NewRef(no_extra);
    if (found < PyDict_GET_SIZE(record) && PyDict_GET_SIZE(record) > 3) {
        /* fields an Op has no slot for, as op_from_mapping keeps them (a record of three keys or fewer: none) */
        Py_SETREF(extra, PyDict_New());
        PyObject *key, *item;
        Py_ssize_t pos = 0;
        while (extra != NULL && PyDict_Next(record, &pos, &key, &item)) {
            int known = PySet_Contains(core, key);
            PyObject *name = known == 0 ? (PyUnicode_Check(key) ? Py_NewRef(key) : PyObject_Str(key)) : NULL;
            if (known < 0 || (known == 0 && (name == NULL || PyDict_SetItem(extra, name, item) < 0)))
                Py_CLEAR(extra);
            Py_XDECREF(name);
        }
        if (extra != NULL && PyDict_GET_SIZE(extra) == 0)
            Py_SETREF(extra, Py_NewRef(no_extra));
    }
    PyObject *value = extra != NULL ? shared_value(v[F_VALUE] ? v[F_VALUE] : Py_None, type, process, sharing) : NULL;
    PyObject *op = (index && time && extra && value) ? op_type->tp_alloc(op_type, 0) : NULL;
    if (op == NULL) {
        Py_XDECREF(index);
        Py_XDECREF(time);
        Py_XDECREF(extra);
        Py_XDECREF(value);
        return NULL;
    }
    PyObject *slots[N_SLOTS] = {index, time, Py_NewRef(type), Py_NewRef(process), Py_NewRef(f), value,
                                Py_NewRef(v[F_ERROR] ? v[F_ERROR] : Py_None),
                                Py_NewRef(v[F_NODE] ? v[F_NODE] : Py_None), extra};
    for (int i = 0; i < N_SLOTS; i++)
        *(PyObject **)((char *)op + offsets[i]) = slots[i];  /* new references, owned by the op */
    return op;
}

static PyObject *build_ops(PyObject *module, PyObject *args)
{
    PyObject *records, *op_class, *op_types, *shared, *no_extra, *sharing[4];
    Py_ssize_t start, position;
    if (!PyArg_ParseTuple(args, "O!nn(O!O!O!O)(O!O!O!O!)", &PyList_Type, &records, &start, &position, &PyType_Type,
                          &op_class, &PyDict_Type, &op_types, &PyDict_Type, &shared, &no_extra, &PyDict_Type,
                          &sharing[0], &PyDict_Type, &sharing[1], &PyDict_Type, &sharing[2], &PyDict_Type, &sharing[3]))
        return NULL;
    PyTypeObject *op_type = (PyTypeObject *)op_class;
    Py_ssize_t offsets[N_SLOTS];
    if (slot_offsets(op_type, offsets) < 0)
        return NULL;
    Py_ssize_t n = PyList_GET_SIZE(records);
    if (start < 0 || start > n) {
        PyErr_SetString(PyExc_IndexError, "start out of range");
        return NULL;
    }
    PyObject *ops = PyList_New(0);
    if (ops == NULL)
        return NULL;
    Py_ssize_t i = start;
    for (; i < n; i++) {
        PyObject *op = build_one(PyList_GET_ITEM(records, i), position + i - start, op_type, offsets, op_types, shared,
                                 no_extra, sharing);
        if (op == NULL) {
            if (PyErr_Occurred()) {
                Py_DECREF(ops);
                return NULL;
            }
            break;
        }
        int failed = PyList_Append(ops, op);
        Py_DECREF(op);
        if (failed < 0) {
            Py_DECREF(ops);
            return NULL;
        }
    }
    return Py_BuildValue("(Nn)", ops, i);
}

static int exact_scalar(PyObject *x)
{
    return x == Py_None || PyLong_CheckExact(x) || PyUnicode_CheckExact(x) || PyFloat_CheckExact(x) || PyBool_Check(x);
}

/* 1 when ``value`` is a transaction of the right shape, 0 when unsure, -1 on an error. */
static int txn_passes(PyObject *value, int ok, PyObject *functions, int read_lists)
{
    if (value == Py_None)
        return 1;
    if (!PyList_CheckExact(value))
        return 0;
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(value); i++) {
        PyObject *mop = PyList_GET_ITEM(value, i);
        if (!PyList_CheckExact(mop) || PyList_GET_SIZE(mop) != 3)
            return 0;
        PyObject *name = PyList_GET_ITEM(mop, 0), *k = PyList_GET_ITEM(mop, 1), *v = PyList_GET_ITEM(mop, 2);
        if (!PyUnicode_CheckExact(name) || !exact_scalar(k))
            return 0;
        int known = PySet_Contains(functions, name);
        if (known <= 0)
            return known;
        if (PyUnicode_CompareWithASCIIString(name, "r") != 0 && PyUnicode_CompareWithASCIIString(name, "read") != 0) {
            if (!exact_scalar(v))
                return 0;
        } else if (ok && read_lists && v != Py_None) {
            if (!PyList_CheckExact(v))
                return 0;
            for (Py_ssize_t j = 0; j < PyList_GET_SIZE(v); j++)
                if (!exact_scalar(PyList_GET_ITEM(v, j)))
                    return 0;
        } else if (ok && !read_lists && !exact_scalar(v)) {
            return 0;
        }
    }
    return 1;
}

static PyObject *txn_unsure(PyObject *module, PyObject *args)
{
    PyObject *sequence, *op_class, *functions;
    Py_ssize_t start;
    int read_lists;
    if (!PyArg_ParseTuple(args, "OnO!O!p", &sequence, &start, &PyType_Type, &op_class, &PyFrozenSet_Type, &functions,
                          &read_lists))
        return NULL;
    Py_ssize_t offsets[N_SLOTS];
    if (slot_offsets((PyTypeObject *)op_class, offsets) < 0)
        return NULL;
    PyObject *ops = PySequence_Fast(sequence, "ops must be a list or tuple");  /* no copy of either */
    if (ops == NULL)
        return NULL;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(ops), i = start < 0 ? 0 : start;
    for (; i < n; i++) {
        PyObject *op = PySequence_Fast_GET_ITEM(ops, i);
        if (!Py_IS_TYPE(op, (PyTypeObject *)op_class))
            break;
        PyObject *value = *(PyObject **)((char *)op + offsets[F_VALUE]);  /* borrowed, as the op holds them */
        PyObject *type = *(PyObject **)((char *)op + offsets[F_TYPE]);
        if (value == NULL || type == NULL || !PyUnicode_Check(type))
            break;
        int passes = txn_passes(value, PyUnicode_CompareWithASCIIString(type, "ok") == 0, functions, read_lists);
        if (passes < 0) {
            Py_DECREF(ops);
            return NULL;
        }
        if (passes == 0)
            break;
    }
    Py_DECREF(ops);
    return PyLong_FromSsize_t(i < n ? i : n);
}

static int is_client(PyObject *process)
{
    return PyLong_Check(process) && !PyBool_Check(process);  /* history.is_client_process, None aside */
}

typedef struct {
    PyObject *last_time;  /* of its last op (borrowed: the ops hold it) */
    Py_ssize_t pending;   /* the slot of its open invocation, or -1 */
    int pending_client;   /* whether that invocation's process is a client's */
    int crashed;
} Process;

/* -1, 0 or 1 as a < b, or -2 on an error (times are ints). */
static int time_before(PyObject *a, PyObject *b)
{
    int overflow_a = 1, overflow_b = 1;
    long long x = PyLong_CheckExact(a) ? PyLong_AsLongLongAndOverflow(a, &overflow_a) : 0;
    long long y = PyLong_CheckExact(b) ? PyLong_AsLongLongAndOverflow(b, &overflow_b) : 0;
    if (!overflow_a && !overflow_b)
        return x < y;
    int less = PyObject_RichCompareBool(a, b, Py_LT);
    return less < 0 ? -2 : less;
}

static int set_pair(PyObject *slots, Py_ssize_t at, PyTypeObject *pair_type, PyObject *complete)
{
    PyObject *pair = pair_type->tp_alloc(pair_type, 2);
    if (pair == NULL)
        return -1;
    PyTuple_SET_ITEM(pair, 0, Py_NewRef(PyList_GET_ITEM(slots, at)));  /* the invocation held its slot */
    PyTuple_SET_ITEM(pair, 1, Py_NewRef(complete));
    return PyList_SetItem(slots, at, pair);  /* steals pair */
}

/* Pairs ops into slots (the list pair_ops returns). 1 when done, 0 when something is amiss, -1 on an error. */
/* 1 when the two Ops have equal f, 0 when not, -1 on an error. */
static int same_f(PyObject *invocation, PyObject *completion, const Py_ssize_t *offsets)
{
    PyObject *a = *(PyObject **)((char *)invocation + offsets[F_F]), *b = *(PyObject **)((char *)completion + offsets[F_F]);
    if (a == b)
        return 1;
    if (a == NULL || b == NULL)
        return 0;
    return PyObject_RichCompareBool(a, b, Py_EQ);
}

static int pair_into(PyObject *ops, PyTypeObject *op_type, const Py_ssize_t *offsets, PyTypeObject *pair_type,
                     PyObject *slots)
{
    PyObject *numbers = PyDict_New();  /* process -> its number in `processes` */
    Py_ssize_t count = 0, room = 64;
    Process *processes = PyMem_Malloc(room * sizeof(Process));
    if (processes == NULL)
        PyErr_NoMemory();
    int status = numbers && processes ? 1 : -1;
    for (Py_ssize_t i = 0; status == 1 && i < PySequence_Fast_GET_SIZE(ops); i++) {
        PyObject *op = PySequence_Fast_GET_ITEM(ops, i);
        if (!Py_IS_TYPE(op, op_type)) {
            status = 0;
            break;
        }
        PyObject *process = *(PyObject **)((char *)op + offsets[F_PROCESS]);  /* borrowed, as the op holds them */
        PyObject *time = *(PyObject **)((char *)op + offsets[F_TIME]);
        PyObject *type = *(PyObject **)((char *)op + offsets[F_TYPE]);
        if (process == NULL || time == NULL || type == NULL || process == Py_None || !PyUnicode_Check(type)) {
            status = 0;
            break;
        }
        PyObject *number = PyDict_GetItemWithError(numbers, process);
        Py_ssize_t n = number ? PyLong_AsSsize_t(number) : count;
        if (number == NULL) {
            PyObject *next = PyErr_Occurred() ? NULL : PyLong_FromSsize_t(count);
            if (count == room) {
                Process *grown = PyMem_Realloc(processes, 2 * room * sizeof(Process));
                processes = grown ? grown : processes;
                room = grown ? 2 * room : room;
                if (grown == NULL)
                    PyErr_NoMemory();
            }
            if (next == NULL || count == room || PyDict_SetItem(numbers, process, next) < 0) {
                Py_XDECREF(next);
                status = -1;
                break;
            }
            Py_DECREF(next);
            processes[count++] = (Process){NULL, -1, 0, 0};
        }
        Process *p = &processes[n];
        int client = is_client(process);  /* of this op: processes 1 and True are one key, only one a client */
        int before = p->last_time ? time_before(time, p->last_time) : 0;
        p->last_time = time;
        if (before != 0) {
            status = before == 1 ? 0 : -1;  /* time going backwards: a problem to name */
        } else if (client ? PyUnicode_CompareWithASCIIString(type, "invoke") == 0 : p->pending < 0) {
            if (p->pending >= 0 || (client && p->crashed))
                status = 0;  /* a double invocation, an invocation after a crash */
            else if (PyList_Append(slots, op) < 0)  /* the invocation holds its slot until its completion */
                status = -1;
            else
                *p = (Process){time, PyList_GET_SIZE(slots) - 1, client, p->crashed};
        } else if (p->pending < 0) {
            status = 0;  /* a completion without its invocation */
        } else if (client && (status = same_f(PyList_GET_ITEM(slots, p->pending), op, offsets)) != 1) {
            ;  /* a client's completion of another f than its invocation's: a problem to name */
        } else {
            status = set_pair(slots, p->pending, pair_type, op) < 0 ? -1 : 1;
            p->pending = -1;
            p->crashed |= PyUnicode_CompareWithASCIIString(type, "info") == 0;
        }
    }
    for (Py_ssize_t n = 0; status == 1 && n < count; n++) {  /* open at the end: a client's was never completed */
        Process *p = &processes[n];
        if (p->pending >= 0)
            status = p->pending_client ? 0 : set_pair(slots, p->pending, pair_type, Py_None) < 0 ? -1 : 1;
    }
    Py_XDECREF(numbers);
    PyMem_Free(processes);
    return status;
}

static PyObject *pair_ops(PyObject *module, PyObject *args)
{
    PyObject *sequence, *op_class, *pair_class;
    if (!PyArg_ParseTuple(args, "OO!O!", &sequence, &PyType_Type, &op_class, &PyType_Type, &pair_class))
        return NULL;
    if (!PyType_IsSubtype((PyTypeObject *)pair_class, &PyTuple_Type)) {
        PyErr_SetString(PyExc_TypeError, "Pair must be a tuple type");
        return NULL;
    }
    Py_ssize_t offsets[N_SLOTS];
    if (slot_offsets((PyTypeObject *)op_class, offsets) < 0)
        return NULL;
    PyObject *ops = PySequence_Fast(sequence, "ops must be a list or tuple");
    PyObject *slots = ops ? PyList_New(0) : NULL;
    int status = slots ? pair_into(ops, (PyTypeObject *)op_class, offsets, (PyTypeObject *)pair_class, slots) : -1;
    Py_XDECREF(ops);
    if (status != 1)
        Py_XDECREF(slots);
    return status == 1 ? slots : status == 0 ? Py_NewRef(Py_None) : NULL;
}

/* An open-addressing table of op objects to their positions, keyed by address. */
typedef struct {
    PyObject *op;
    Py_ssize_t position;
} Placed;

/* Where op is in the table, or the empty place where it would go. */
static Placed *place_of(Placed *table, size_t mask, const PyObject *op)
{
    size_t s = (size_t)(((uintptr_t)op >> 4) * (uintptr_t)0x9E3779B97F4A7C15u) & mask;
    while (table[s].op != NULL && table[s].op != op)
        s = (s + 1) & mask;
    return &table[s];
}

static PyObject *pair_positions(PyObject *module, PyObject *args)
{
    PyObject *ops_given, *pairs_given;
    if (!PyArg_ParseTuple(args, "OO", &ops_given, &pairs_given))
        return NULL;
    /* tuples (a tuple given is not copied): what a collection run by an allocation below does cannot change them */
    PyObject *ops = PySequence_Tuple(ops_given);
    PyObject *pairs = ops ? PySequence_Tuple(pairs_given) : NULL;
    if (pairs == NULL) {
        Py_XDECREF(ops);
        return NULL;
    }
    Py_ssize_t n = PyTuple_GET_SIZE(ops), m = PyTuple_GET_SIZE(pairs);
    size_t mask = 15;
    while (mask < 2 * (size_t)n)
        mask = 2 * mask + 1;
    Placed *table = PyMem_Calloc(mask + 1, sizeof(Placed));
    PyObject *invoked = table ? PyList_New(m) : NULL;
    PyObject *completed = invoked ? PyList_New(m) : NULL;
    int status = completed != NULL ? 0 : -1;
    if (table == NULL)
        PyErr_NoMemory();
    for (Py_ssize_t i = 0; status == 0 && i < n; i++) {  /* an op there twice is at its last place, as in a dict */
        PyObject *op = PyTuple_GET_ITEM(ops, i);
        *place_of(table, mask, op) = (Placed){op, i};
    }
    for (Py_ssize_t i = 0; status == 0 && i < m; i++) {
        PyObject *pair = PyTuple_GET_ITEM(pairs, i);
        if (!PyTuple_Check(pair) || PyTuple_GET_SIZE(pair) != 2) {
            PyErr_SetString(PyExc_TypeError, "pairs must be (invocation, completion) tuples");
            status = -1;
            break;
        }
        for (int end = 0; status == 0 && end < 2; end++) {
            PyObject *op = PyTuple_GET_ITEM(pair, end);
            Placed *place = end == 1 && op == Py_None ? NULL : place_of(table, mask, op);
            if (place != NULL && place->op == NULL)
                PyErr_SetString(PyExc_ValueError, "a paired op is not one of the ops");
            PyObject *position = place == NULL ? Py_NewRef(Py_None)
                                 : place->op != NULL ? PyLong_FromSsize_t(place->position) : NULL;
            if (position == NULL)
                status = -1;
            else
                PyList_SET_ITEM(end ? completed : invoked, i, position);
        }
    }
    PyMem_Free(table);
    Py_DECREF(ops);
    Py_DECREF(pairs);
    PyObject *both = status == 0 ? PyTuple_Pack(2, invoked, completed) : NULL;
    Py_XDECREF(invoked);
    Py_XDECREF(completed);
    return both;
}

/* The client txns of txns.txns_of as columns (ops, typ, mops, process, invoked, completed), or (op, micro-op)
 * for the first micro-op that is not [f key value] with f in ``functions``. Fields are read by name: the
 * ops may be any objects with them. */
static PyObject *txn_columns(PyObject *module, PyObject *args)
{
    PyObject *pairs, *functions, *never;
    if (!PyArg_ParseTuple(args, "O!O!O", &PyList_Type, &pairs, &PyFrozenSet_Type, &functions, &never))
        return NULL;
    PyObject *columns = PyTuple_New(6);
    for (int c = 0; columns != NULL && c < 6; c++) {
        PyObject *column = PyList_New(0);
        if (column == NULL)
            Py_CLEAR(columns);
        else
            PyTuple_SET_ITEM(columns, c, column);
    }
    PyObject *found = NULL;  /* (op, micro-op) */
    for (Py_ssize_t i = 0; columns != NULL && found == NULL && i < PyList_GET_SIZE(pairs); i++) {
        PyObject *pair = PyList_GET_ITEM(pairs, i);
        if (!PyTuple_Check(pair) || PyTuple_GET_SIZE(pair) != 2) {
            PyErr_SetString(PyExc_TypeError, "pairs must be (invocation, completion) tuples");
            Py_CLEAR(columns);
            break;
        }
        PyObject *invoke = PyTuple_GET_ITEM(pair, 0), *complete = PyTuple_GET_ITEM(pair, 1);
        PyObject *kind = complete == Py_None ? Py_NewRef(info_name) : PyObject_GetAttr(complete, keys[F_TYPE]);
        int ok = kind != NULL ? PyObject_RichCompareBool(kind, ok_name, Py_EQ) : -1;
        PyObject *value = ok >= 0 ? PyObject_GetAttr(ok ? complete : invoke, keys[F_VALUE]) : NULL;
        PyObject *shown = complete == Py_None ? invoke : complete;
        PyObject *process = value != NULL ? PyObject_GetAttr(invoke, keys[F_PROCESS]) : NULL;
        PyObject *invoked = process != NULL ? PyObject_GetAttr(invoke, keys[F_INDEX]) : NULL;
        PyObject *completed = invoked == NULL ? NULL
                              : PyObject_RichCompareBool(kind, info_name, Py_EQ) ? Py_NewRef(never)
                              : PyObject_GetAttr(complete, keys[F_INDEX]);
        int status = completed != NULL && !PyErr_Occurred() ? PyList_Check(value) : -1;
        for (Py_ssize_t m = 0; status == 1 && m < PyList_GET_SIZE(value); m++) {
            PyObject *mop = PyList_GET_ITEM(value, m);
            int known = PyList_Check(mop) && PyList_GET_SIZE(mop) == 3 && PyUnicode_Check(PyList_GET_ITEM(mop, 0))
                        ? PySet_Contains(functions, PyList_GET_ITEM(mop, 0)) : 0;
            if (known < 0)
                status = -1;
            else if (!known && (found = PyTuple_Pack(2, shown, mop)) == NULL)
                status = -1;
            else if (!known)
                status = 0;
        }
        PyObject *row[6] = {shown, kind, value, process, invoked, completed};
        for (int c = 0; status == 1 && c < 6; c++)
            if (PyList_Append(PyTuple_GET_ITEM(columns, c), row[c]) < 0)
                status = -1;
        Py_XDECREF(kind);
        Py_XDECREF(value);
        Py_XDECREF(process);
        Py_XDECREF(invoked);
        Py_XDECREF(completed);
        if (status < 0)
            Py_CLEAR(columns);
    }
    if (found != NULL)
        Py_XDECREF(columns);
    return found != NULL ? found : columns;
}

static PyMethodDef methods[] = {
    {"build_ops", build_ops, METH_VARARGS,
     "build_ops(records, start, position, (Op, op_types, shared, no_extra), (atoms, invoked, reads, lists)) -> (ops, stop): "
     "Ops for records[start:stop]."},
    {"pair_ops", pair_ops, METH_VARARGS,
     "pair_ops(ops, Op, Pair) -> list[Pair] | None: invocations paired with completions, None if anything is amiss."},
    {"pair_positions", pair_positions, METH_VARARGS,
     "pair_positions(ops, pairs) -> (invoked, completed): where each pair's invocation and completion are in ops."},
    {"txn_columns", txn_columns, METH_VARARGS,
     "txn_columns(pairs, functions, never) -> (ops, typ, mops, process, invoked, completed) | (op, bad micro-op)."},
    {"txn_unsure", txn_unsure, METH_VARARGS,
     "txn_unsure(ops, start, Op, functions, read_lists) -> int: the first op from start whose value is not surely a txn."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_ops", NULL, -1, methods};

PyMODINIT_FUNC PyInit__ops(void)
{
    for (int i = 0; i < N_SLOTS; i++) {
        keys[i] = PyUnicode_InternFromString(NAMES[i]);
        if (keys[i] == NULL)
            return NULL;
    }
    ok_name = PyUnicode_InternFromString("ok");
    info_name = PyUnicode_InternFromString("info");
    if (ok_name == NULL || info_name == NULL)
        return NULL;
    PyObject *names = PyTuple_New(F_EXTRA);
    if (names == NULL)
        return NULL;
    for (int i = 0; i < F_EXTRA; i++)
        PyTuple_SET_ITEM(names, i, Py_NewRef(keys[i]));
    core = PyFrozenSet_New(names);
    Py_DECREF(names);
    if (core == NULL)
        return NULL;
    return PyModule_Create(&module);
}
