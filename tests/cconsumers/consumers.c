/* Test consumers for bufferkit.testing, written against the limited C API.
 *
 * Two functions read and write the items of any buffer whose format is one integer,
 * floating point or bool code, with or without a byte-order prefix ('B', '<i', '>d'):
 *
 *   tolist(obj, bug="")       -> the items as a flat list in C order (asks for PyBUF_FULL_RO)
 *   fill(obj, value, bug="")  -> stores value into every item (asks for PyBUF_FULL)
 *
 * Any other format raises NotImplementedError, once the buffer is released. With
 * bug="" both follow every rule of the buffer protocol; each other bug breaks exactly one:
 *
 *   ignores_strides     walks the items as if they were C-contiguous (it asks for
 *                       PyBUF_RECORDS_RO, so an indirect array is refused, not misread)
 *   ignores_suboffsets  never follows a suboffset pointer
 *   native_order        reads and writes every item in native byte order
 *   negative_strides    walks a dimension with a negative stride from its lowest
 *                       address up, as if the stride were positive (reads it unmirrored)
 *   leaks_on_error      does not release the buffer when it refuses a format
 *   writes_readonly     fill() asks for PyBUF_FULL_RO, and writes into what it gets
 */
#define Py_LIMITED_API 0x030C0000
#include <Python.h>
#include <string.h>

enum bug {
    B_NONE, B_STRIDES, B_SUBOFFSETS, B_NATIVE_ORDER, B_NEGATIVE, B_LEAK, B_READONLY, B_COUNT
};

static const char *bug_names[B_COUNT] = {
    "", "ignores_strides", "ignores_suboffsets", "native_order", "negative_strides",
    "leaks_on_error", "writes_readonly",
};

typedef struct {
    char code;      /* one of bBhHiIlLqQnN?fd */
    int size;       /* bytes of one item */
    int swap;       /* 1 if its byte order is not the machine's */
} item_kind;

typedef int (*visit_fn)(char *item, const item_kind *kind, void *context);

static int
native_little(void)
{
    const unsigned short one = 1;
    return *(const unsigned char *)&one == 1;
}

static int
native_size(char code)
{
    switch (code) {
    case 'b': case 'B': case '?': return 1;
    case 'h': case 'H': return (int)sizeof(short);
    case 'i': case 'I': return (int)sizeof(int);
    case 'l': case 'L': return (int)sizeof(long);
    case 'q': case 'Q': return (int)sizeof(long long);
    case 'n': case 'N': return (int)sizeof(Py_ssize_t);
    case 'f': return (int)sizeof(float);
    case 'd': return (int)sizeof(double);
    default: return 0;
    }
}

static int
standard_size(char code)
{
    switch (code) {
    case 'b': case 'B': case '?': return 1;
    case 'h': case 'H': return 2;
    case 'i': case 'I': case 'l': case 'L': case 'f': return 4;
    case 'q': case 'Q': case 'd': return 8;
    default: return 0;  /* 'n' and 'N' have no standard size */
    }
}

/* The item kind of `format` (NULL means "B"); 0, or -1 with NotImplementedError. */
static int
parse_format(const char *format, Py_ssize_t itemsize, int bug, item_kind *kind)
{
    const char *text = format == NULL ? "B" : format;
    char prefix = '@';
    int little = native_little();

    if (strchr("@=<>!", text[0]) != NULL && text[0] != '\0')
        prefix = *text++;
    if (text[0] == '\0' || text[1] != '\0')
        goto unsupported;
    kind->code = text[0];
    kind->size = prefix == '@' ? native_size(kind->code) : standard_size(kind->code);
    if (kind->size == 0 || kind->size != itemsize)
        goto unsupported;
    if (prefix == '<')
        little = 1;
    else if (prefix == '>' || prefix == '!')
        little = 0;
    kind->swap = bug != B_NATIVE_ORDER && little != native_little();
    return 0;

unsupported:
    PyErr_Format(PyExc_NotImplementedError, "format '%s' is not supported", text);
    return -1;
}

/* The item's bytes in native order. */
static void
load(const char *item, const item_kind *kind, unsigned char *bytes)
{
    int i;
    for (i = 0; i < kind->size; i++)
        bytes[i] = (unsigned char)item[kind->swap ? kind->size - 1 - i : i];
}

static void
store(char *item, const item_kind *kind, const unsigned char *bytes)
{
    int i;
    for (i = 0; i < kind->size; i++)
        item[kind->swap ? kind->size - 1 - i : i] = (char)bytes[i];
}

static unsigned long long
as_unsigned(const unsigned char *bytes, int size)
{
    unsigned long long value = 0;
    int i;
    for (i = 0; i < size; i++)
        value |= (unsigned long long)bytes[native_little() ? i : size - 1 - i] << (8 * i);
    return value;
}

static PyObject *
read_item(const char *item, const item_kind *kind)
{
    unsigned char bytes[8];
    unsigned long long bits;
    int shift = 64 - 8 * kind->size;

    load(item, kind, bytes);
    if (kind->code == 'f') {
        float value;
        memcpy(&value, bytes, sizeof value);
        return PyFloat_FromDouble(value);
    }
    if (kind->code == 'd') {
        double value;
        memcpy(&value, bytes, sizeof value);
        return PyFloat_FromDouble(value);
    }
    bits = as_unsigned(bytes, kind->size);
    if (kind->code == '?')
        return PyBool_FromLong(bits != 0);
    if (strchr("bhilqn", kind->code) != NULL)
        return PyLong_FromLongLong((long long)(bits << shift) >> shift);
    return PyLong_FromUnsignedLongLong(bits);
}

/* `value` as the item's bytes in native order; 0, or -1 with an exception. */
static int
encode(PyObject *value, const item_kind *kind, unsigned char *bytes)
{
    unsigned long long bits;
    int i;

    if (kind->code == 'f' || kind->code == 'd') {
        double number = PyFloat_AsDouble(value);
        float single = (float)number;
        if (number == -1.0 && PyErr_Occurred())
            return -1;
        if (kind->code == 'f')
            memcpy(bytes, &single, sizeof single);
        else
            memcpy(bytes, &number, sizeof number);
        return 0;
    }
    if (kind->code == '?') {
        int truth = PyObject_IsTrue(value);
        if (truth < 0)
            return -1;
        bits = (unsigned long long)truth;
    }
    else {
        long long number = PyLong_AsLongLong(value);
        if (number == -1 && PyErr_Occurred())
            return -1;
        bits = (unsigned long long)number;
    }
    for (i = 0; i < kind->size; i++)
        bytes[native_little() ? i : kind->size - 1 - i] = (unsigned char)(bits >> (8 * i));
    return 0;
}

/* The C stride of dimension `dim` (what a consumer that ignores strides assumes). */
static Py_ssize_t
c_stride(const Py_buffer *view, int dim)
{
    Py_ssize_t stride = view->itemsize;
    int d;
    for (d = view->ndim - 1; d > dim; d--)
        stride *= view->shape[d];
    return stride;
}

static int
walk_dim(const Py_buffer *view, int bug, char *base, int dim, const item_kind *kind,
         visit_fn visit, void *context)
{
    Py_ssize_t i, count = view->shape[dim];
    Py_ssize_t stride = bug == B_STRIDES ? c_stride(view, dim) : view->strides[dim];

    if (bug == B_NEGATIVE && stride < 0 && count > 0) {
        base += stride * (count - 1); /* the bug: the walk goes up through memory */
        stride = -stride;
    }
    for (i = 0; i < count; i++) {
        char *pointer = base + i * stride;
        if (view->suboffsets != NULL && view->suboffsets[dim] >= 0 && bug != B_SUBOFFSETS)
            pointer = *(char **)pointer + view->suboffsets[dim];
        if (dim + 1 == view->ndim) {
            if (visit(pointer, kind, context) < 0)
                return -1;
        }
        else if (walk_dim(view, bug, pointer, dim + 1, kind, visit, context) < 0) {
            return -1;
        }
    }
    return 0;
}

/* Visit every item in C order. */
static int
walk(const Py_buffer *view, int bug, const item_kind *kind, visit_fn visit, void *context)
{
    if (view->ndim == 0)
        return visit((char *)view->buf, kind, context);
    return walk_dim(view, bug, (char *)view->buf, 0, kind, visit, context);
}

/* The buffer of obj for `flags` with its item kind; 0, or -1 with an exception. */
static int
get(PyObject *obj, Py_buffer *view, int flags, int bug, item_kind *kind)
{
    if (PyObject_GetBuffer(obj, view, flags) < 0)
        return -1;
    if (parse_format(view->format, view->itemsize, bug, kind) < 0) {
        if (bug != B_LEAK)
            PyBuffer_Release(view);
        return -1;
    }
    return 0;
}

static int
parse_bug(const char *name)
{
    int i;
    for (i = 0; i < B_COUNT; i++)
        if (strcmp(name, bug_names[i]) == 0)
            return i;
    PyErr_Format(PyExc_ValueError, "unknown bug '%s'", name);
    return -1;
}

static int
append_item(char *item, const item_kind *kind, void *context)
{
    PyObject *value = read_item(item, kind);
    int result;
    if (value == NULL)
        return -1;
    result = PyList_Append((PyObject *)context, value);
    Py_DECREF(value);
    return result;
}

static PyObject *
tolist(PyObject *module, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"obj", "bug", NULL};
    PyObject *obj, *list;
    const char *name = "";
    Py_buffer view;
    item_kind kind;
    int bug, result;

    (void)module;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "O|s", kwlist, &obj, &name))
        return NULL;
    if ((bug = parse_bug(name)) < 0)
        return NULL;
    if (get(obj, &view, bug == B_STRIDES ? PyBUF_RECORDS_RO : PyBUF_FULL_RO, bug, &kind) < 0)
        return NULL;
    list = PyList_New(0);
    result = list == NULL ? -1 : walk(&view, bug, &kind, append_item, list);
    PyBuffer_Release(&view);
    if (result < 0) {
        Py_XDECREF(list);
        return NULL;
    }
    return list;
}

static int
store_item(char *item, const item_kind *kind, void *context)
{
    store(item, kind, (const unsigned char *)context);
    return 0;
}

static PyObject *
fill(PyObject *module, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"obj", "value", "bug", NULL};
    PyObject *obj, *value;
    const char *name = "";
    Py_buffer view;
    item_kind kind;
    unsigned char bytes[8];
    int bug, flags, result;

    (void)module;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "OO|s", kwlist, &obj, &value, &name))
        return NULL;
    if ((bug = parse_bug(name)) < 0)
        return NULL;
    flags = bug == B_READONLY ? PyBUF_FULL_RO : PyBUF_FULL;
    if (bug == B_STRIDES)
        flags = PyBUF_RECORDS;
    if (get(obj, &view, flags, bug, &kind) < 0)
        return NULL;
    result = encode(value, &kind, bytes);
    if (result == 0)
        result = walk(&view, bug, &kind, store_item, bytes);
    PyBuffer_Release(&view);
    if (result < 0)
        return NULL;
    Py_RETURN_NONE;
}

static PyMethodDef module_methods[] = {
    {"tolist", (PyCFunction)(void (*)(void))tolist, METH_VARARGS | METH_KEYWORDS,
     "tolist(obj, bug='') -> the items of obj's buffer, flat, in C order"},
    {"fill", (PyCFunction)(void (*)(void))fill, METH_VARARGS | METH_KEYWORDS,
     "fill(obj, value, bug='') -> store value into every item of obj's buffer"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT, "bkconsumers", "Buffer consumers that break one rule each.",
    -1, module_methods, NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC
PyInit_bkconsumers(void)
{
    PyObject *module = PyModule_Create(&module_def);
    PyObject *bugs; /* BUGS: the name of every bug but "" */

    if (module == NULL)
        return NULL;
    bugs = Py_BuildValue("(ssssss)", bug_names[1], bug_names[2], bug_names[3], bug_names[4],
                         bug_names[5], bug_names[6]);
    if (bugs == NULL || PyModule_AddObjectRef(module, "BUGS", bugs) < 0) {
        Py_XDECREF(bugs);
        Py_DECREF(module);
        return NULL;
    }
    Py_DECREF(bugs);
    return module;
}
