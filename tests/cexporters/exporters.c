/* Test exporters for bufferkit.conformance, written against the limited C API.
 *
 * Exporter(fault="", readonly=False, order="C") exports a 3x4 array of C ints
 * (format "i", 48 bytes) stored in C or Fortran order. With fault="" it follows
 * every rule of the C-API docs ("Buffer request types"); each other fault breaks
 * exactly one rule and is otherwise correct. `gets` counts successful getbuffers,
 * `releases` the calls of bf_releasebuffer.
 */
#define Py_LIMITED_API 0x030C0000
#include <Python.h>
#include <string.h>

enum fault {
    F_NONE, F_OBJ_NULL, F_WRONG_LEN, F_WRITABLE_RO, F_FORTRAN_FOR_C,
    F_BAD_ITEMSIZE, F_SUBOFFSETS, F_FORMAT_UNREQUESTED, F_NDIM_BAD,
    F_FAIL_OBJ_SET, F_OBJ_OTHER, F_LEAK_REF, F_FORGET_INCREF, F_COUNT
};

static const char *fault_names[F_COUNT] = {
    "", "obj_null", "wrong_len", "writable_ro", "fortran_for_c",
    "bad_itemsize", "suboffsets", "format_unrequested", "ndim_bad",
    "fail_obj_set", "obj_other", "leak_ref", "forget_incref",
};

typedef struct {
    PyObject_HEAD
    int fault;
    int readonly;
    int fortran;
    Py_ssize_t gets;
    Py_ssize_t releases;
    int data[12];
    Py_ssize_t shape[2];
    Py_ssize_t strides[2];
    Py_ssize_t suboffsets[2];
} ExporterObject;

static int
has(int flags, int pattern)
{
    return (flags & pattern) == pattern;
}

static int
refuse(Py_buffer *view, const char *why)
{
    view->obj = NULL;
    PyErr_SetString(PyExc_BufferError, why);
    return -1;
}

static int
exporter_getbuffer(PyObject *op, Py_buffer *view, int flags)
{
    ExporterObject *self = (ExporterObject *)op;
    int fault = self->fault;

    if (fault == F_FAIL_OBJ_SET) {
        PyErr_SetString(PyExc_BufferError, "Exporter: always refuses");
        view->obj = op; /* the bug: a failed request must leave obj NULL */
        return -1;
    }
    if (has(flags, PyBUF_WRITABLE) && self->readonly && fault != F_WRITABLE_RO)
        return refuse(view, "Exporter: read-only memory");
    if (self->fortran) {
        if (!has(flags, PyBUF_STRIDES))
            return refuse(view, "Exporter: Fortran memory needs strides");
        if (has(flags, PyBUF_C_CONTIGUOUS) && fault != F_FORTRAN_FOR_C)
            return refuse(view, "Exporter: not C-contiguous");
    }
    else if (has(flags, PyBUF_F_CONTIGUOUS)) {
        return refuse(view, "Exporter: not Fortran-contiguous");
    }

    view->buf = self->data;
    view->len = fault == F_WRONG_LEN ? 40 : 48;
    view->itemsize = sizeof(int);
    view->readonly = self->readonly;
    view->format = NULL;
    if (has(flags, PyBUF_FORMAT) || fault == F_FORMAT_UNREQUESTED)
        view->format = fault == F_BAD_ITEMSIZE ? "h" : "i";
    view->ndim = has(flags, PyBUF_ND) ? (fault == F_NDIM_BAD ? 70 : 2) : 1;
    view->shape = has(flags, PyBUF_ND) ? self->shape : NULL;
    view->strides = has(flags, PyBUF_STRIDES) ? self->strides : NULL;
    view->suboffsets = NULL;
    if (fault == F_SUBOFFSETS && has(flags, PyBUF_STRIDES))
        view->suboffsets = self->suboffsets;
    view->internal = NULL;
    if (fault == F_OBJ_NULL)
        view->obj = NULL;
    else if (fault == F_OBJ_OTHER) /* allowed, but a warning: obj is not the exporter */
        view->obj = Py_NewRef((PyObject *)Py_TYPE(op));
    else if (fault == F_LEAK_REF) /* the bug: one reference too many, never released */
        view->obj = Py_NewRef(Py_NewRef(op));
    else if (fault == F_FORGET_INCREF) /* the bug: PyBuffer_Release will drop a reference */
        view->obj = op;                /* that the exporter's owners hold */
    else
        view->obj = Py_NewRef(op);
    self->gets++;
    return 0;
}

static void
exporter_releasebuffer(PyObject *op, Py_buffer *view)
{
    (void)view;
    ((ExporterObject *)op)->releases++;
}

static int
exporter_init(PyObject *op, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"fault", "readonly", "order", NULL};
    ExporterObject *self = (ExporterObject *)op;
    const char *fault = "", *order = "C";
    int readonly = 0, i;

    if (!PyArg_ParseTupleAndKeywords(args, kwds, "|sps", kwlist, &fault, &readonly, &order))
        return -1;
    for (i = 0; i < F_COUNT && strcmp(fault, fault_names[i]) != 0; i++)
        ;
    if (i == F_COUNT) {
        PyErr_Format(PyExc_ValueError, "unknown fault '%s'", fault);
        return -1;
    }
    if (strcmp(order, "C") != 0 && strcmp(order, "F") != 0) {
        PyErr_Format(PyExc_ValueError, "order must be 'C' or 'F', not '%s'", order);
        return -1;
    }
    self->fault = i;
    self->readonly = readonly;
    self->fortran = order[0] == 'F';
    for (i = 0; i < 12; i++)
        self->data[i] = i;
    self->shape[0] = 3;
    self->shape[1] = 4;
    self->strides[0] = self->fortran ? (Py_ssize_t)sizeof(int) : 4 * (Py_ssize_t)sizeof(int);
    self->strides[1] = self->fortran ? 3 * (Py_ssize_t)sizeof(int) : (Py_ssize_t)sizeof(int);
    self->suboffsets[0] = self->suboffsets[1] = -1;
    return 0;
}

static PyObject *
get_gets(PyObject *op, void *closure)
{
    (void)closure;
    return PyLong_FromSsize_t(((ExporterObject *)op)->gets);
}

static PyObject *
get_releases(PyObject *op, void *closure)
{
    (void)closure;
    return PyLong_FromSsize_t(((ExporterObject *)op)->releases);
}

static PyObject *
get_fault(PyObject *op, void *closure)
{
    (void)closure;
    return PyUnicode_FromString(fault_names[((ExporterObject *)op)->fault]);
}

static PyGetSetDef exporter_getset[] = {
    {"gets", get_gets, NULL, "successful getbuffers", NULL},
    {"releases", get_releases, NULL, "releasebuffer calls", NULL},
    {"fault", get_fault, NULL, "the rule this exporter breaks", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static void
exporter_dealloc(PyObject *op)
{
    PyTypeObject *tp = Py_TYPE(op);
    freefunc tp_free = (freefunc)PyType_GetSlot(tp, Py_tp_free);
    tp_free(op);
    Py_DECREF(tp);
}

static PyType_Slot exporter_slots[] = {
    {Py_tp_init, exporter_init},
    {Py_tp_new, PyType_GenericNew},
    {Py_tp_dealloc, exporter_dealloc},
    {Py_tp_getset, exporter_getset},
    {Py_bf_getbuffer, exporter_getbuffer},
    {Py_bf_releasebuffer, exporter_releasebuffer},
    {0, NULL},
};

static PyType_Spec exporter_spec = {
    "bkexporters.Exporter", sizeof(ExporterObject), 0, Py_TPFLAGS_DEFAULT, exporter_slots,
};

static int
module_exec(PyObject *module)
{
    PyObject *names, *type = PyType_FromSpec(&exporter_spec);
    int i;

    if (type == NULL)
        return -1;
    if (PyModule_AddObjectRef(module, "Exporter", type) < 0) {
        Py_DECREF(type);
        return -1;
    }
    Py_DECREF(type);
    names = PyTuple_New(F_COUNT - 1);
    if (names == NULL)
        return -1;
    for (i = 1; i < F_COUNT; i++) {
        PyObject *name = PyUnicode_FromString(fault_names[i]);
        if (name == NULL || PyTuple_SetItem(names, i - 1, name) < 0) {
            Py_DECREF(names);
            return -1;
        }
    }
    if (PyModule_AddObjectRef(module, "FAULTS", names) < 0) {
        Py_DECREF(names);
        return -1;
    }
    Py_DECREF(names);
    return 0;
}

static PyModuleDef_Slot module_slots[] = {
    {Py_mod_exec, module_exec},
    {0, NULL},
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT, "bkexporters", "Exporters that break one buffer rule each.",
    0, NULL, module_slots, NULL, NULL, NULL,
};

PyMODINIT_FUNC
PyInit_bkexporters(void)
{
    return PyModuleDef_Init(&module_def);
}
