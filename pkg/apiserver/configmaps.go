package apiserver

import (
	"context"
	"fmt"
	"os"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

const (
	// extensionAuthConfigMap is where upstream's kube-apiserver publishes its
	// client CA (kube-system); kube-scheduler, kube-controller-manager and
	// aggregated apiservers read it to authenticate their own clients.
	extensionAuthConfigMap = "extension-apiserver-authentication"
	// legacyTokenTrackingConfigMap records since when the apiserver tracks the use
	// of legacy service-account token secrets; the controller-manager's legacy
	// token cleaner reads it.
	legacyTokenTrackingConfigMap = "kube-apiserver-legacy-service-account-token-tracking"
)

// publishConfigMaps writes the kube-system ConfigMaps upstream's apiserver
// publishes at start: extension-apiserver-authentication with the client CA
// (when --client-ca-file is set, rewritten when it changed) and the legacy
// service-account token tracking date (written once).
func (s *Server) publishConfigMaps(ctx context.Context) error {
	if s.cfg.ClientCAFile != "" {
		ca, err := os.ReadFile(s.cfg.ClientCAFile)
		if err != nil {
			return fmt.Errorf("read --client-ca-file: %w", err)
		}
		if err := s.writeConfigMap(ctx, extensionAuthConfigMap, map[string]string{"client-ca-file": string(ca)}, true); err != nil {
			return fmt.Errorf("configmap %s: %w", extensionAuthConfigMap, err)
		}
	}
	since := map[string]string{"since": time.Now().UTC().Format(time.DateOnly)}
	if err := s.writeConfigMap(ctx, legacyTokenTrackingConfigMap, since, false); err != nil {
		return fmt.Errorf("configmap %s: %w", legacyTokenTrackingConfigMap, err)
	}
	return nil
}

// writeConfigMap creates kube-system/name with data, or, when overwrite is set,
// makes an existing one's data exactly data.
func (s *Server) writeConfigMap(ctx context.Context, name string, data map[string]string, overwrite bool) error {
	_, err := s.updateOrCreate(ctx, s.storeFor("", "configmaps"), metav1.NamespaceSystem, name, func(existing runtime.Object, exists bool) (runtime.Object, error) {
		cm := existing.(*corev1.ConfigMap).DeepCopy()
		if !exists {
			cm = &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: metav1.NamespaceSystem}}
		} else if !overwrite {
			return cm, nil
		}
		cm.Data = data
		return cm, nil
	})
	return err
}
