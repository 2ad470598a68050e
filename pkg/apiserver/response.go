package apiserver

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"reflect"
	"strconv"
	"sync"

	"github.com/kstack/kstack/api"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// newStatusError builds an error that is written as a metav1.Status with
// the given code and reason.
func newStatusError(code int, reason metav1.StatusReason, msg string) *apierrors.StatusError {
	return &apierrors.StatusError{ErrStatus: metav1.Status{
		Status:  metav1.StatusFailure,
		Code:    int32(code),
		Reason:  reason,
		Message: msg,
	}}
}

func unsupportedMediaType(ct string) error {
	return newStatusError(http.StatusUnsupportedMediaType, metav1.StatusReasonUnsupportedMediaType,
		fmt.Sprintf("the body of the request was in an unknown format - accepted media types include: application/json, application/yaml, application/vnd.kubernetes.protobuf (got %q)", ct))
}

func methodNotSupported(gr schema.GroupResource, verb string) error {
	return apierrors.NewMethodNotSupported(gr, verb)
}

var statusGVK = metav1.SchemeGroupVersion.WithKind("Status")

// toStatus turns any error into the Status a client sees. Errors that are
// not API errors become a 500 InternalError, and are logged.
func toStatus(err error) *metav1.Status {
	var se apierrors.APIStatus
	if errors.As(err, &se) {
		st := se.Status()
		if st.Code == 0 {
			st.Code = http.StatusInternalServerError
		}
		if st.Status == "" {
			st.Status = metav1.StatusFailure
		}
		return &st
	}
	slog.Error("internal error", "err", err)
	st := apierrors.NewInternalError(err).Status()
	return &st
}

// writeError writes err as a metav1.Status, in the negotiated encoding when
// there is one (client-go decodes a protobuf Status too).
func writeError(w http.ResponseWriter, r *http.Request, err error) {
	st := toStatus(err)
	st.TypeMeta = metav1.TypeMeta{APIVersion: "v1", Kind: "Status"}
	choice, nerr := negotiateOutput(r, false)
	if nerr != nil || choice.info.MediaType == runtime.ContentTypeYAML {
		choice = mediaChoice{info: jsonInfo}
	}
	if st.Code == http.StatusTooManyRequests || st.Code == http.StatusServiceUnavailable || st.Code == http.StatusGatewayTimeout {
		if st.Details != nil && st.Details.RetryAfterSeconds > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(int(st.Details.RetryAfterSeconds)))
		}
	}
	writeEncoded(w, choice, int(st.Code), st)
}

// writeObject encodes obj (of the served GroupVersionKind gvk) with the
// negotiated serializer. obj may be shared with the watch cache: it is never
// mutated; its top-level TypeMeta is set on a shallow copy.
func writeObject(w http.ResponseWriter, choice mediaChoice, code int, gvk schema.GroupVersionKind, obj runtime.Object) {
	writeEncoded(w, choice, code, withKind(obj, gvk))
}

// writeEncoded encodes obj into w. A response that fits streamBufSize goes
// out in one write with a Content-Length; a larger one (a big LIST) is
// streamed as the serializer produces it, as upstream does, so the server
// never holds, nor repeatedly regrows, a buffer of the whole body. An
// encoding error before anything was sent is a 500; after, the response is
// cut short and the error logged.
func writeEncoded(w http.ResponseWriter, choice mediaChoice, code int, obj runtime.Object) {
	enc := choice.info.Serializer
	if choice.pretty && choice.info.PrettySerializer != nil {
		enc = choice.info.PrettySerializer
	}
	writeStream(w, choice, code, func(bw io.Writer) error { return enc.Encode(obj, bw) })
}

// writeStream writes the body that encode produces, as writeEncoded
// describes.
func writeStream(w http.ResponseWriter, choice mediaChoice, code int, encode func(io.Writer) error) {
	sw := &streamWriter{w: w, code: code, contentType: choice.contentType()}
	sw.buf = streamBufPool.Get().(*bufio.Writer)
	sw.buf.Reset(sw)
	defer func() {
		sw.buf.Reset(nil)
		streamBufPool.Put(sw.buf)
	}()
	if err := encode(sw.buf); err != nil {
		slog.Error("encode response", "err", err, "streamed", sw.started)
		if !sw.started {
			w.Header().Set("Content-Type", "text/plain")
			w.WriteHeader(http.StatusInternalServerError)
			fmt.Fprintf(w, "encode response: %v", err)
		}
		return
	}
	if !sw.started {
		// Everything is still in the buffer: send it with its length.
		w.Header().Set("Content-Length", strconv.Itoa(sw.buf.Buffered()))
		_, _ = sw.Write(nil) // headers, even for an empty body
	}
	_ = sw.buf.Flush()
}

// streamBufSize is the largest response writeEncoded sends in one piece.
const streamBufSize = 64 << 10

// streamBufPool recycles writeEncoded's buffers: allocating 64 KiB per
// response (a binding, an event) was a good share of the server's
// allocation and GC work under a write load.
var streamBufPool = sync.Pool{New: func() any { return bufio.NewWriterSize(nil, streamBufSize) }}

// streamWriter writes the response headers on the first write of the
// encoded body (when the buffer in front of it fills or is flushed).
type streamWriter struct {
	w           http.ResponseWriter
	buf         *bufio.Writer
	code        int
	contentType string
	started     bool
}

func (s *streamWriter) Write(p []byte) (int, error) {
	if !s.started {
		s.started = true
		s.w.Header().Set("Content-Type", s.contentType)
		s.w.WriteHeader(s.code)
	}
	return s.w.Write(p)
}

// withKind returns obj with its TypeMeta set to gvk, copying the top-level
// struct when it must change so shared objects stay untouched.
func withKind(obj runtime.Object, gvk schema.GroupVersionKind) runtime.Object {
	if gvk.Empty() || obj.GetObjectKind().GroupVersionKind() == gvk {
		return obj
	}
	v := reflect.ValueOf(obj)
	if v.Kind() != reflect.Pointer || v.Elem().Kind() != reflect.Struct {
		return obj
	}
	cp := reflect.New(v.Elem().Type())
	cp.Elem().Set(v.Elem())
	out := cp.Interface().(runtime.Object)
	out.GetObjectKind().SetGroupVersionKind(gvk)
	return out
}

// gvkOf is the GroupVersionKind the scheme registers for obj's Go type under
// gv (the served version).
func gvkOf(obj runtime.Object, gv schema.GroupVersion) schema.GroupVersionKind {
	gvks, _, err := api.Scheme.ObjectKinds(obj)
	if err != nil || len(gvks) == 0 {
		return schema.GroupVersionKind{}
	}
	for _, k := range gvks {
		if k.GroupVersion() == gv {
			return k
		}
	}
	return gvks[0]
}

// errNoSuchPath is upstream's answer for a path nothing serves.
var errNoSuchPath = &apierrors.StatusError{ErrStatus: metav1.Status{
	Status:  metav1.StatusFailure,
	Code:    http.StatusNotFound,
	Reason:  metav1.StatusReasonNotFound,
	Message: "the server could not find the requested resource",
	Details: &metav1.StatusDetails{},
}}
