package apiserver

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"

	"github.com/kstack/kstack/api"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

func podList(n int) *corev1.PodList {
	l := &corev1.PodList{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "PodList"}}
	for i := range n {
		l.Items = append(l.Items, corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("pod-%05d", i), Namespace: "default", Labels: map[string]string{"app": "web"}},
			Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "web", Image: "registry.example.com/web:1.0", Args: []string{"--listen=:8080"}}}},
		})
	}
	return l
}

func TestWriteEncoded_SmallWithLengthLargeStreamed(t *testing.T) {
	tests := []struct {
		name       string
		info       runtime.SerializerInfo
		items      int
		wantLength bool
	}{
		{"small JSON has a Content-Length", jsonInfo, 1, true},
		{"small protobuf has a Content-Length", protobufInfo, 1, true},
		{"large JSON is streamed", jsonInfo, 2000, false},
		{"large protobuf is streamed", protobufInfo, 2000, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			writeEncoded(rec, mediaChoice{info: tt.info}, http.StatusCreated, podList(tt.items))
			if rec.Code != http.StatusCreated {
				t.Errorf("code %d, want %d", rec.Code, http.StatusCreated)
			}
			if ct := rec.Header().Get("Content-Type"); ct != tt.info.MediaType {
				t.Errorf("Content-Type %q, want %q", ct, tt.info.MediaType)
			}
			cl := rec.Header().Get("Content-Length")
			if tt.wantLength != (cl != "") {
				t.Errorf("Content-Length %q, want one: %v (body %d bytes)", cl, tt.wantLength, rec.Body.Len())
			}
			if cl != "" && cl != strconv.Itoa(rec.Body.Len()) {
				t.Errorf("Content-Length %s, body %d bytes", cl, rec.Body.Len())
			}
			got := &corev1.PodList{}
			if _, _, err := api.Codecs.UniversalDeserializer().Decode(rec.Body.Bytes(), nil, got); err != nil {
				t.Fatalf("decode response: %v", err)
			}
			if len(got.Items) != tt.items || got.Items[tt.items-1].Name != fmt.Sprintf("pod-%05d", tt.items-1) {
				t.Errorf("decoded %d items, want %d", len(got.Items), tt.items)
			}
		})
	}
}
