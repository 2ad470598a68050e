//go:build e2e

package node

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// The Node's status lists the images of the node's containerd namespace
// with their sizes, as upstream's images list.
func TestNode_StatusListsContainerdImages(t *testing.T) {
	n := startNode(t)
	ctx := context.Background()
	n.eventually(30*time.Second, "images in the node status", func() (bool, string) {
		node, err := n.admin.CoreV1().Nodes().Get(ctx, n.cfg.NodeName, metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		var found []v1.ContainerImage
		for _, img := range node.Status.Images {
			for _, want := range []string{busyboxImage, testServerImage} {
				if slices.Contains(img.Names, want) && img.SizeBytes > 0 {
					found = append(found, img)
				}
			}
		}
		return len(found) == 2, fmt.Sprintf("images %+v", node.Status.Images)
	})
}
