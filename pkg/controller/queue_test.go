package controller

import (
	"context"
	"errors"
	"fmt"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// namespaceTerminating is the error an apiserver's NamespaceLifecycle
// admission returns for a create in a namespace being deleted.
func namespaceTerminating() error {
	err := apierrors.NewForbidden(schema.GroupResource{Group: "apps", Resource: "replicasets"}, "web-1",
		errors.New("unable to create new content in namespace ns because it is being terminated"))
	err.ErrStatus.Details.Causes = []metav1.StatusCause{{
		Type:    corev1.NamespaceTerminatingCause,
		Message: "namespace ns is being terminated",
		Field:   "metadata.namespace",
	}}
	return err
}

// TestProcessNext_NamespaceTerminatingIsNotRetried checks a sync that fails
// because its namespace is being deleted is dropped (as upstream's controllers
// do), while other errors are retried with backoff.
func TestProcessNext_NamespaceTerminatingIsNotRetried(t *testing.T) {
	tests := []struct {
		name         string
		err          error
		wantRequeues int
	}{
		{"namespace terminating", fmt.Errorf("create replicaset web-1: %w", namespaceTerminating()), 0},
		{"plain forbidden", apierrors.NewForbidden(schema.GroupResource{Resource: "pods"}, "p", errors.New("no")), 1},
		{"conflict", apierrors.NewConflict(schema.GroupResource{Resource: "pods"}, "p", errors.New("stale")), 1},
		{"success", nil, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			q := NewQueue("test")
			defer q.ShutDown()
			q.Add("ns/web")
			if !processNext(context.Background(), "test", q, func(context.Context, string) error { return tc.err }) {
				t.Fatalf("processNext returned false on a live queue")
			}
			if got := q.NumRequeues("ns/web"); got != tc.wantRequeues {
				t.Errorf("requeues = %d, want %d", got, tc.wantRequeues)
			}
		})
	}
}
